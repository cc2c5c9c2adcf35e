/* SPDX-License-Identifier: MIT */
/*
 * bench/net_bare.c — the network benchmark's reference without a runtime (bench/run-net-bench):
 * the same TCP request/response server as bench/net_server.c, written as plainly as it can be,
 * one thread per connection blocking in recv(2) and send(2). No executor, no poll, no queue: what
 * is left of a request's cost is the kernel's (the TCP paths, a thread's wake-up) and the load
 * generator's, on the same CPUs. Its requests/s in the same run bounds what any server on this
 * machine can show against tokio, so the table says how much of a ratio is there to be had.
 *
 * Usage: net_bare [--workers N] [--secs S]. --workers is accepted and ignored (the threads are
 * the connections'), so that the script starts every server alike. Prints "port P" once listening
 * on an ephemeral port of 127.0.0.1, then serves until killed or S seconds (default 600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG 64
#define STACK (64 * 1024) /* bytes: a connection's loop needs little; 10,000 of them fit */

static void die(const char *what)
{
	fprintf(stderr, "net_bare: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* One connection: a 64-byte request in, the same 64 bytes back, until the peer closes. */
static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[MSG];
	for (;;) {
		size_t got = 0;
		while (got < MSG) {
			ssize_t n = recv(fd, buf + got, MSG - got, 0);
			if (n <= 0 && !(n < 0 && errno == EINTR))
				goto out;
			got += n > 0 ? (size_t)n : 0;
		}
		for (size_t sent = 0; sent < MSG;) {
			ssize_t n = send(fd, buf + sent, MSG - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EINTR)
				goto out;
			sent += n > 0 ? (size_t)n : 0;
		}
	}
out:
	close(fd);
	return NULL;
}

static int listen_loopback(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	printf("port %u\n", (unsigned)ntohs(a.sin_port));
	fflush(stdout);
	return lfd;
}

int main(int argc, char **argv)
{
	unsigned secs = 600;
	for (int i = 1; i + 1 < argc; i += 2)
		if (!strcmp(argv[i], "--secs"))
			secs = (unsigned)atoi(argv[i + 1]);
	/* 10,000 connections need more descriptors than the usual soft limit of 1024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	alarm(secs); /* the default action ends the process: the server's time bound */
	int lfd = listen_loopback();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept4");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		pthread_t t;
		int rc = pthread_create(&t, &attr, conn_main, (void *)(intptr_t)fd);
		if (rc) {
			errno = rc;
			die("pthread_create");
		}
	}
}
