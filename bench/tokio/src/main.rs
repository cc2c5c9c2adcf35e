// SPDX-License-Identifier: MIT
//! tokio side of the executor benchmarks (`make bench`, bench/run-executor-bench).
//!
//! The same workloads as bench/ex_bench.c, on a multi-threaded tokio runtime with the same number
//! of workers. Every workload runs inside a task spawned on the runtime (not in block_on's
//! thread), as the C side runs inside its root task. One result line per metric on stdout:
//!
//!     tokio spawn_join_ns 661.2
//!
//! Usage: tokio-bench [--workers N] [--reps R] [--file PATH] [--read-secs S] [--only LIST]
//! LIST is a comma-separated subset of spawn,yield,timer,read,mem (default: all).

use std::fs::File;
use std::future::Future;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const SPAWN_TASKS: usize = 1_000_000;
const YIELD_TASKS: usize = 2;
const YIELDS_PER_TASK: usize = 1_000_000;
const TIMER_TASKS: usize = 100_000;
const TIMER_MS: u64 = 1;
const READ_SIZE: usize = 4096;
const READ_DEPTHS: [usize; 2] = [64, 128];
const IDLE_TASKS: usize = 1_000_000;

struct Opts {
    workers: usize,
    reps: usize,
    file: Option<String>,
    read_secs: f64,
    only: Vec<String>,
}

fn parse_opts() -> Opts {
    let mut o = Opts { workers: 2, reps: 5, file: None, read_secs: 2.0, only: Vec::new() };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| die(&format!("{} needs a value", a)));
        match a.as_str() {
            "--workers" => o.workers = val().parse().unwrap_or_else(|_| die("bad --workers")),
            "--reps" => o.reps = val().parse().unwrap_or_else(|_| die("bad --reps")),
            "--file" => o.file = Some(val()),
            "--read-secs" => o.read_secs = val().parse().unwrap_or_else(|_| die("bad --read-secs")),
            "--only" => o.only = val().split(',').map(|s| s.to_string()).collect(),
            _ => die(&format!("unknown argument {}", a)),
        }
    }
    if o.workers == 0 || o.reps == 0 {
        die("--workers and --reps must be > 0");
    }
    o
}

fn die(msg: &str) -> ! {
    eprintln!("tokio-bench: {}", msg);
    std::process::exit(2);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Spawn SPAWN_TASKS empty tasks, then join them all. Returns ns per spawn+join.
async fn spawn_join() -> f64 {
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(SPAWN_TASKS);
    for _ in 0..SPAWN_TASKS {
        handles.push(tokio::spawn(async {}));
    }
    for h in handles {
        h.await.unwrap();
    }
    t0.elapsed().as_nanos() as f64 / SPAWN_TASKS as f64
}

/// YIELD_TASKS tasks each yield YIELDS_PER_TASK times; they take turns on the run queues.
/// Returns wall ns per yield (all tasks' yields counted).
async fn yield_pingpong() -> f64 {
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..YIELD_TASKS {
        handles.push(tokio::spawn(async {
            for _ in 0..YIELDS_PER_TASK {
                tokio::task::yield_now().await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    t0.elapsed().as_nanos() as f64 / (YIELD_TASKS * YIELDS_PER_TASK) as f64
}

/// TIMER_TASKS tasks each sleep TIMER_MS concurrently; spawn all, join all. ns per timer.
async fn timers() -> f64 {
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(TIMER_TASKS);
    for _ in 0..TIMER_TASKS {
        handles.push(tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(TIMER_MS)).await;
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    t0.elapsed().as_nanos() as f64 / TIMER_TASKS as f64
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// `depth` tasks each loop: pread 4 KiB at a random 4 KiB-aligned offset on the blocking pool
/// (tokio's idiom for files: spawn_blocking + pread), until `secs` passed. Returns IOPS.
async fn randread(file: Arc<File>, depth: usize, secs: f64) -> f64 {
    let blocks = file.metadata().unwrap().len() / READ_SIZE as u64;
    assert!(blocks > 0, "read file is empty");
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(secs);
    let mut handles = Vec::new();
    for i in 0..depth {
        let file = file.clone();
        handles.push(tokio::spawn(async move {
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ ((i as u64 + 1) * 0x1000_0001);
            let mut buf = vec![0u8; READ_SIZE];
            let mut n = 0u64;
            while Instant::now() < deadline {
                let off = (xorshift(&mut seed) % blocks) * READ_SIZE as u64;
                let f = file.clone();
                let (b, r) = tokio::task::spawn_blocking(move || {
                    let r = f.read_at(&mut buf, off);
                    (buf, r)
                })
                .await
                .unwrap();
                buf = b;
                assert_eq!(r.expect("pread"), READ_SIZE);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0u64;
    for h in handles {
        total += h.await.unwrap();
    }
    total as f64 / t0.elapsed().as_secs_f64()
}

/// A leaf future that parks its waker in a preallocated slot at its first poll (making its task
/// idle) and is ready at its next poll.
struct Idle {
    slot: usize,
    polled: bool,
}

static IDLE_WAKERS: Mutex<Vec<Option<Waker>>> = Mutex::new(Vec::new());
static IDLE_PARKED: AtomicUsize = AtomicUsize::new(0);

impl Future for Idle {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        IDLE_WAKERS.lock().unwrap()[self.slot] = Some(cx.waker().clone());
        IDLE_PARKED.fetch_add(1, Ordering::Release);
        Poll::Pending
    }
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Memory per idle task: RSS growth over IDLE_TASKS parked tasks, minus the future's own state.
/// The waker and join-handle arrays are allocated and touched before the baseline.
/// Returns (bytes per idle task beyond the future's state, size of the future's state).
async fn idle_mem() -> (f64, usize) {
    let mut handles: Vec<Option<tokio::task::JoinHandle<()>>> = Vec::new();
    handles.resize_with(IDLE_TASKS, || None);
    IDLE_WAKERS.lock().unwrap().resize(IDLE_TASKS, None);
    IDLE_PARKED.store(0, Ordering::Relaxed);
    let fut_size = std::mem::size_of::<Idle>();
    let before = rss_bytes();
    for (i, h) in handles.iter_mut().enumerate() {
        *h = Some(tokio::spawn(Idle { slot: i, polled: false }));
    }
    while IDLE_PARKED.load(Ordering::Acquire) < IDLE_TASKS {
        tokio::task::yield_now().await;
    }
    let after = rss_bytes();
    let wakers: Vec<Waker> = IDLE_WAKERS.lock().unwrap().iter_mut().map(|w| w.take().unwrap()).collect();
    for w in wakers {
        w.wake();
    }
    for h in handles {
        h.unwrap().await.unwrap();
    }
    let per_task = (after - before) as f64 / IDLE_TASKS as f64;
    (per_task - fut_size as f64, fut_size)
}

fn main() {
    let o = parse_opts();
    let want = |w: &str| o.only.is_empty() || o.only.iter().any(|x| x == w);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.workers)
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("runtime: {}", e)));
    // Every workload runs in a task on a worker, as ex_bench's workloads run in its root task.
    let run = |f: Pin<Box<dyn Future<Output = f64> + Send>>| -> f64 {
        rt.block_on(async { tokio::spawn(f).await.unwrap() })
    };
    println!("tokio workers {}", o.workers);
    // First: RSS growth is only meaningful before other workloads grew the heap.
    if want("mem") {
        let (bytes, fut) = rt.block_on(async { tokio::spawn(idle_mem()).await.unwrap() });
        println!("tokio idle_task_future_bytes {}", fut);
        println!("tokio idle_task_bytes {:.1}", bytes);
    }
    if want("spawn") {
        let v: Vec<f64> = (0..o.reps).map(|_| run(Box::pin(spawn_join()))).collect();
        println!("tokio spawn_join_ns {:.1}", median(v));
    }
    if want("yield") {
        let v: Vec<f64> = (0..o.reps).map(|_| run(Box::pin(yield_pingpong()))).collect();
        println!("tokio yield_ns {:.1}", median(v));
    }
    if want("timer") {
        let v: Vec<f64> = (0..o.reps).map(|_| run(Box::pin(timers()))).collect();
        println!("tokio timer_ns {:.1}", median(v));
    }
    if want("read") {
        let path = o.file.clone().unwrap_or_else(|| die("read needs --file"));
        let file = Arc::new(File::open(&path).unwrap_or_else(|e| die(&format!("{}: {}", path, e))));
        let mut best = 0.0f64;
        for d in READ_DEPTHS {
            let reps = o.reps.min(3);
            let v: Vec<f64> =
                (0..reps).map(|_| run(Box::pin(randread(file.clone(), d, o.read_secs)))).collect();
            let m = median(v);
            println!("tokio read_iops_qd{} {:.0}", d, m);
            best = best.max(m);
        }
        println!("tokio read_iops {:.0}", best);
    }
}
