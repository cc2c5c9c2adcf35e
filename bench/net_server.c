/* SPDX-License-Identifier: MIT */
/*
 * bench/net_server.c — libexecutor's side of the network benchmark (bench/run-net-bench): a TCP
 * request/response server on 127.0.0.1. Each connection is one task: receive a 64-byte request,
 * send a 64-byte reply, until the peer closes. The same server as
 * bench/tokio/src/bin/net_server.rs, driven by the same load generator (bench/net_load.c).
 *
 * Completion-based, as io_uring is meant to be used: the request is an io_uring receive
 * (ex_recv()), which the kernel runs once bytes arrive, so a request costs no speculative
 * recv(2) that finds nothing and no poll to arm again; the reply is an io_uring send (ex_send(),
 * on the worker's own ring), submitted with the other connections' in one io_uring_enter. The
 * task makes no system call of its own (docs/benchmarks.md, "Network", has the figures against
 * a send(2) per reply).
 * ex_recv() is not cancel-safe, and need not be: the connection's task awaits it and nothing
 * races it (rule 1). A server that must abandon a receive (a timeout, a select) uses
 * ex_recv_ready(), readiness-based like tokio's.
 *
 * Usage: net_server [--workers N] [--secs S]. Prints "port P" once listening on an ephemeral
 * port, then runs until SIGTERM/SIGINT or S seconds (default 600), and exits without a graceful
 * shutdown (a benchmark's server: the connections are the load generator's, already gone).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <executor/executor.h>
#include <executor/io.h>

#define MSG 64

struct conn {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	int fd;
	unsigned got, sent;
	char buf[MSG];
};

static void die(const char *what, int err)
{
	fprintf(stderr, "net_server: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static void conn_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct conn, fut));
}

static ex_poll_t conn_poll(struct ex_future *f, struct ex_context *cx)
{
	struct conn *c = ex_container_of(f, struct conn, fut);

	EX_BEGIN(&c->a);
	for (;;) {
		for (c->got = 0; c->got < MSG; c->got += (unsigned)EX_AWAITED(&c->a)) {
			EX_AWAIT(&c->a, cx,
				 ex_recv(&c->io, c->fd, c->buf + c->got, MSG - c->got, 0));
			if (EX_AWAITED(&c->a) <= 0)
				goto out; /* peer closed, or an error */
		}
		for (c->sent = 0; c->sent < MSG; c->sent += (unsigned)EX_AWAITED(&c->a)) {
			EX_AWAIT(&c->a, cx,
				 ex_send(&c->io, c->fd, c->buf + c->sent, MSG - c->sent,
					 MSG_NOSIGNAL));
			if (EX_AWAITED(&c->a) <= 0)
				goto out;
		}
	}
out:
	close(c->fd);
	EX_END(&c->a, f, 0);
}

struct acceptor {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	int lfd;
};

static ex_poll_t acceptor_poll(struct ex_future *f, struct ex_context *cx)
{
	struct acceptor *ac = ex_container_of(f, struct acceptor, fut);
	int one = 1, rc;

	EX_BEGIN(&ac->a);
	for (;;) {
		EX_AWAIT(&ac->a, cx, &ex_accept(&ac->io, ac->lfd, NULL, NULL, SOCK_CLOEXEC)->base);
		if (EX_AWAITED(&ac->a) < 0)
			die("accept", (int)EX_AWAITED(&ac->a));
		struct conn *c = calloc(1, sizeof *c);
		if (!c)
			die("calloc", -ENOMEM);
		c->fut.poll = conn_poll;
		c->fd = (int)EX_AWAITED(&ac->a);
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if ((rc = ex_spawn(&c->fut, conn_drop, NULL, NULL)) < 0)
			die("ex_spawn", rc);
	}
	EX_END(&ac->a, f, 0);
}

int main(int argc, char **argv)
{
	unsigned workers = 2;
	double secs = 600;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--workers"))
			workers = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--secs"))
			secs = atof(argv[i + 1]);
	}
	/* 10,000 connections need more descriptors than the usual soft limit of 1024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Blocked before the runtime's threads exist, so that only sigtimedwait below sees them. */
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		die("listen", -errno);

	struct ex_runtime_config cfg = ex_runtime_config_default();
	struct ex_runtime *rt;
	int rc;
	cfg.workers = workers;
	cfg.handle_signals = false;
	cfg.slow_poll_ns = 0; /* on a shared 2-CPU machine preemption looks like slow polls */
	if ((rc = ex_runtime_new(&cfg, &rt)) < 0)
		die("ex_runtime_new", rc);
	static struct acceptor ac = { .fut.poll = acceptor_poll };
	ac.lfd = lfd;
	if ((rc = ex_spawn_on(rt, &ac.fut, NULL, "acceptor", NULL)) < 0)
		die("ex_spawn_on", rc);
	printf("port %u\n", (unsigned)ntohs(a.sin_port));
	fflush(stdout);

	struct timespec ts = { .tv_sec = (time_t)secs };
	while (sigtimedwait(&ss, NULL, &ts) < 0 && errno == EINTR)
		;
	_exit(0);
}
