// SPDX-License-Identifier: MIT
// bench/tokio/src/bin/net_server.rs — tokio's side of the network benchmark (bench/run-net-bench):
// the same TCP request/response server as bench/net_server.c (64-byte request, 64-byte reply, one
// task per connection, 127.0.0.1), on a multi-thread runtime with the same number of workers.
// Usage: net_server [--workers N] [--secs S]. Prints "port P", runs until killed or S seconds.
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MSG: usize = 64;

async fn serve(mut s: TcpStream) {
    let mut buf = [0u8; MSG];
    loop {
        if s.read_exact(&mut buf).await.is_err() {
            return; // peer closed, or an error
        }
        if s.write_all(&buf).await.is_err() {
            return;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut workers = 2usize;
    let mut secs = 600u64;
    let mut i = 1;
    while i + 1 < args.len() {
        match args[i].as_str() {
            "--workers" => workers = args[i + 1].parse().expect("--workers"),
            "--secs" => secs = args[i + 1].parse().expect("--secs"),
            a => panic!("unknown argument {a}"),
        }
        i += 2;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("port {}", l.local_addr().unwrap().port());
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        let accept = async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                tokio::spawn(serve(s));
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(secs), accept).await;
    });
    std::process::exit(0);
}
