/* SPDX-License-Identifier: MIT */
/*
 * bench/net_bare.c — the network benchmark's references without a runtime (bench/run-net-bench):
 * the same TCP request/response server as bench/net_server.c, written as plainly as it can be, in
 * the two classic shapes:
 *  - threads: one thread per connection blocking in recv(2) and send(2);
 *  - epoll: N threads, each with a listening socket of its own on the shared port (SO_REUSEPORT,
 *    so the kernel spreads the connections) and a level-triggered epoll loop: recv what is there,
 *    send the reply once 64 bytes are in.
 * No executor, no task, no queue: what is left of a request's cost is the kernel's (the TCP paths,
 * a wake-up) and the load generator's, on the same CPUs. Their requests/s in the same run bound
 * what a server on this machine can show against tokio, so the table says how much of a ratio is
 * there to be had.
 *
 * Usage: net_bare [--mode threads|epoll] [--workers N] [--secs S]. --workers is the epoll threads
 * (default 2; ignored by threads). Prints "port P" once listening on an ephemeral port of
 * 127.0.0.1, then serves until killed or S seconds (default 600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

/* A listening socket on 127.0.0.1: port 0 for an ephemeral one (port_of tells which), else
 * that port, shared with the other listeners (SO_REUSEPORT). */
static int listen_loopback(unsigned port)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0)
		die("listen");
	return lfd;
}

static unsigned port_of(int lfd)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	if (getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		die("getsockname");
	return ntohs(a.sin_port);
}

static void serve_threads(int lfd)
{
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

/* An epoll loop's connection: the request's bytes so far (the fd is the epoll data). */
struct econn {
	int fd;
	unsigned got;
	char buf[MSG];
};

static void epoll_accept(int ep, int lfd)
{
	for (;;) {
		int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return; /* EAGAIN: all taken (or a peer gone before its accept) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct econn *c = calloc(1, sizeof *c);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (!c || (c->fd = fd, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0))
			die("epoll_ctl");
	}
}

/* Readable: take what is there; a complete request is answered at once (64 bytes fit). */
static void epoll_read(struct econn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->got, MSG - c->got, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && (c->got += (unsigned)n) < MSG)
		return;
	if (n > 0 && send(c->fd, c->buf, MSG, MSG_DONTWAIT | MSG_NOSIGNAL) == MSG) {
		c->got = 0;
		return;
	}
	close(c->fd); /* closed by the peer, an error, or a reply that did not fit */
	free(c);
}

static void *epoll_main(void *arg)
{
	int lfd = (int)(intptr_t)arg, ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[256];
	if (ep < 0 || fcntl(lfd, F_SETFL, O_NONBLOCK) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr)
				epoll_read(evs[i].data.ptr);
			else
				epoll_accept(ep, lfd);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned secs = 600, workers = 2;
	bool epoll = false;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--secs"))
			secs = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--workers"))
			workers = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mode"))
			epoll = !strcmp(argv[i + 1], "epoll");
	}
	/* 10,000 connections need more descriptors than the usual soft limit of 1024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	alarm(secs); /* the default action ends the process: the server's time bound */
	int lfd = listen_loopback(0);
	unsigned port = port_of(lfd);
	if (epoll) {
		/* every listener exists before the port is printed: no connection is refused */
		for (unsigned i = 1; i < workers; i++) {
			pthread_t t;
			int other = listen_loopback(port);
			if (pthread_create(&t, NULL, epoll_main, (void *)(intptr_t)other))
				die("pthread_create");
		}
	}
	printf("port %u\n", port);
	fflush(stdout);
	if (epoll)
		epoll_main((void *)(intptr_t)lfd);
	else
		serve_threads(lfd);
	return 0;
}
