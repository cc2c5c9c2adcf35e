/* SPDX-License-Identifier: MIT */
/*
 * bench/net_load.c — the load generator of the network benchmark (`make bench`, bench/run-net-bench).
 *
 * One binary drives every server under test (libexecutor's bench/net_server.c and tokio's
 * bench/tokio/src/bin/net_server.rs), so that the client side costs the same for both. Loopback
 * only (127.0.0.1). Closed loop: each of N connections sends a 64-byte request and waits for the
 * 64-byte reply before it sends the next. One thread, epoll, non-blocking sockets.
 *
 * Modes:
 *   net_load --port P --conns N --secs S        load: requests/s, p50/p99 latency (us)
 *   net_load --port P --conns N --idle-pid PID  memory: PID's RSS with N idle connections minus
 *                                               its RSS with 0 (each connection does one round
 *                                               trip first, so the server really holds it), / N
 * Latency: p50/p99 in us (1 us resolution below 10 ms, 100 us up to 1 s).
 * Bounded: a load run stops after S seconds (and at most 2^31 requests); connecting and every
 * wait for a reply give up after 30 s. Output: "<metric> <value>" lines on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define GIVE_UP_NS (30ull * 1000000000ull)
/* Latency histogram: 1 us buckets below 10 ms, 100 us buckets from 10 ms to 1 s, then one
 * overflow bucket (>= 1 s). */
#define FINE_US 10000u
#define HIST_N (FINE_US + 9900u + 1u)

struct conn {
	int fd;
	unsigned got;     /* bytes of the current reply received */
	uint64_t sent_ns; /* when the current request was sent */
};

static uint64_t hist[HIST_N];

static void die(const char *what)
{
	fprintf(stderr, "net_load: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 10,000 connections need more descriptors than the usual soft limit of 1024. */
static void raise_nofile(unsigned need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need) {
		fprintf(stderr, "net_load: RLIMIT_NOFILE too low for %u descriptors\n", need);
		exit(2);
	}
}

static int connect_one(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	/* Blocking connect: on loopback it completes at once while the server's backlog has room. */
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	return fd;
}

static void send_request(struct conn *c)
{
	static const char req[MSG] = "net_load request: 64 bytes, answered by 64 bytes.";
	c->got = 0;
	c->sent_ns = now_ns();
	/* 64 bytes into an empty socket buffer (closed loop: nothing else is queued) never blocks. */
	if (send(c->fd, req, MSG, MSG_NOSIGNAL | MSG_DONTWAIT) != MSG)
		die("send");
}

/* Read what is there of the current reply; true once all MSG bytes arrived. */
static int recv_reply(struct conn *c)
{
	char buf[MSG];
	ssize_t n = recv(c->fd, buf, MSG - c->got, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		die("recv");
	}
	c->got += (unsigned)n;
	return c->got == MSG;
}

static void record(uint64_t us)
{
	uint64_t i = us < FINE_US ? us : FINE_US + (us - FINE_US) / 100;
	hist[i < HIST_N ? i : HIST_N - 1]++;
}

/* The lower bound (us) of the bucket that holds the p-quantile. */
static double percentile(uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p);
	uint64_t acc = 0;
	for (unsigned i = 0; i < HIST_N; i++) {
		acc += hist[i];
		if (acc > want)
			return i < FINE_US ? i : FINE_US + (double)(i - FINE_US) * 100;
	}
	return 1e6;
}

static struct conn *open_all(unsigned port, unsigned n, int ep)
{
	struct conn *c = calloc(n, sizeof *c);
	if (!c)
		die("calloc");
	for (unsigned i = 0; i < n; i++) {
		c[i].fd = connect_one(port);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev) < 0)
			die("epoll_ctl");
	}
	return c;
}

/* Run until every connection has had its reply (stop_ns == 0: one round trip each) or until
 * stop_ns; returns the number of requests answered. */
static uint64_t drive(int ep, struct conn *c, unsigned n, uint64_t stop_ns, int measure)
{
	struct epoll_event evs[512];
	uint64_t done = 0, pending = n, give_up = now_ns() + GIVE_UP_NS;
	for (unsigned i = 0; i < n; i++)
		send_request(&c[i]);
	while (pending) {
		int k = epoll_wait(ep, evs, 512, 100);
		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		uint64_t t = now_ns();
		for (int i = 0; i < k; i++) {
			struct conn *cn = evs[i].data.ptr;
			if (!recv_reply(cn))
				continue;
			if (measure) {
				record((t - cn->sent_ns) / 1000);
			}
			done++;
			if (stop_ns && t < stop_ns && done < (1ull << 31)) {
				send_request(cn);
				give_up = t + GIVE_UP_NS;
			} else {
				pending--;
			}
		}
		if (t > give_up) {
			errno = ETIMEDOUT;
			die("waiting for replies");
		}
	}
	return done;
}

static uint64_t rss_bytes(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	uint64_t kib = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return kib * 1024;
}

int main(int argc, char **argv)
{
	unsigned port = 0, conns = 1;
	double secs = 2;
	long idle_pid = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--conns"))
			conns = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--secs"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--idle-pid"))
			idle_pid = atol(argv[i + 1]);
		else {
			fprintf(stderr, "net_load: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!port || !conns || conns > 100000 || !(secs > 0) || secs > 600) {
		fprintf(stderr,
			"usage: net_load --port P --conns N (<= 100000) [--secs S (<= 600) | --idle-pid PID]\n");
		return 2;
	}
	raise_nofile(conns + 64);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");

	if (idle_pid) {
		uint64_t before = rss_bytes(idle_pid);
		struct conn *c = open_all(port, conns, ep);
		drive(ep, c, conns, 0,
		      0); /* one round trip each: the server holds every connection */
		/* Give the server's threads a moment to finish their bookkeeping after the reply. */
		usleep(200 * 1000);
		uint64_t after = rss_bytes(idle_pid);
		printf("rss_before_bytes %llu\nrss_after_bytes %llu\nrss_per_conn_bytes %.1f\n",
		       (unsigned long long)before, (unsigned long long)after,
		       ((double)after - (double)before) / conns);
		return 0;
	}

	struct conn *c = open_all(port, conns, ep);
	drive(ep, c, conns, 0, 0); /* warm-up: one round trip each, not measured */
	uint64_t t0 = now_ns();
	uint64_t n = drive(ep, c, conns, t0 + (uint64_t)(secs * 1e9), 1);
	double el = (double)(now_ns() - t0) / 1e9;
	printf("requests %llu\nrequests_per_s %.0f\np50_us %.0f\np99_us %.0f\n",
	       (unsigned long long)n, (double)n / el, percentile(n, 0.50), percentile(n, 0.99));
	return 0;
}
