/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics_http.c — GET /metrics over HTTP, with libmicrohttpd (no HTTP parsing of
 * our own).
 *
 * Threading: libmicrohttpd runs in "external event loop" mode with its epoll backend
 * (MHD_USE_EPOLL, no MHD thread at all), driven by one executor task: the task awaits the
 * readiness of MHD's single epoll fd through io_uring (ex_poll_fd, IORING_OP_POLL_ADD), raced
 * with MHD's own timeout and the task's shutdown watcher, then lets MHD_run() do the
 * non-blocking accept/read/write work. Why not MHD_USE_INTERNAL_POLLING_THREAD: it would be a
 * thread outside the runtime, invisible to `execctl list`, that the ordered shutdown would have
 * to stop by hand; this way the endpoint is a task like the others (it shows its await point,
 * its poll times are measured, the shutdown's last step cancels it), and every wait in the
 * daemon goes through io_uring, the project's premise. The cost is that a scrape is rendered in
 * a poll: it reads atomics and a few procfs files (microseconds), never walks tasks, and never
 * touches the disk, so it cannot stall a worker.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include <executor/async.h>
#include <executor/io.h>
#include <executor/select.h>
#include <executor/time.h>

#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "task_mgr.h"

#if MHD_VERSION < 0x00097002
typedef int mhd_result_t; /* libmicrohttpd before 0.9.71 returned int */
#else
typedef enum MHD_Result mhd_result_t;
#endif

#define IDLE_WAIT_NS (1000ull * 1000000) /* re-check MHD at least this often */

int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = s ? strrchr(s, ':') : NULL;
	if (!colon || colon == s || !colon[1])
		return -EINVAL;
	size_t hl = (size_t)(colon - s);
	if (s[0] == '[') { /* [v6]:port */
		if (hl < 3 || s[hl - 1] != ']')
			return -EINVAL;
		s++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM },
			*res;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static mhd_result_t reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			  enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd_result_t ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The access handler: runs inside MHD_run(), i.e. in the metrics task's poll. */
static mhd_result_t on_request(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	static char not_found[] = "not found: try /metrics\n";
	static char bad_method[] = "only GET and HEAD\n";
	static char no_memory[] = "out of memory\n";
	(void)cls, (void)version, (void)upload, (void)con_cls;
	if (*upload_size)
		return MHD_NO; /* a body we never asked for */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method, sizeof bad_method - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof not_found - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	char *text;
	size_t len;
	if (metrics_render(&text, &len) < 0)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, no_memory, sizeof no_memory - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE,
		     "text/plain; version=0.0.4; charset=utf-8");
}

struct metrics_task {
	struct ex_future fut;
	struct ex_async a;
	struct MHD_Daemon *d;
	int epfd;
	struct ex_io io;
	struct ex_sleep sleep;
	struct task_mgr_watcher w;
	struct ex_select sel;
};

/* How long MHD may wait (its connection timeouts), capped at IDLE_WAIT_NS: a deadline. */
static uint64_t mhd_deadline(struct MHD_Daemon *d)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t wait = IDLE_WAIT_NS;
	if (MHD_get_timeout(d, &ms) == MHD_YES && ms * 1000000ull < wait)
		wait = ms * 1000000ull;
	return ex_now_ns() + wait;
}

static ex_poll_t metrics_poll(struct ex_future *f, struct ex_context *cx)
{
	struct metrics_task *t = ex_container_of(f, struct metrics_task, fut);
	EX_BEGIN(&t->a);
	for (;;) {
		MHD_run(t->d); /* accept, read, answer, write: all non-blocking */
		EX_AWAIT(&t->a, cx,
			 &ex_select(&t->sel, ex_poll_fd(&t->io, t->epfd, POLLIN),
				    ex_sleep_until(&t->sleep, mhd_deadline(t->d)),
				    task_mgr_shutdown_watcher(&t->w))
				  ->base);
		if (EX_AWAITED(&t->a) == 2)
			break;
	}
	EX_END(&t->a, f, 0);
}

static void metrics_drop(struct ex_future *f)
{
	struct metrics_task *t = ex_container_of(f, struct metrics_task, fut);
	if (t->d)
		MHD_stop_daemon(t->d); /* closes the listening socket and any connection */
	free(t);
}

int metrics_http_start(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (metrics_parse_listen(addr, &ss, &len) < 0) {
		log_error("--metrics-listen %s: not ADDR:PORT (numeric)", addr);
		return -EINVAL;
	}
	struct metrics_task *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	unsigned flags = MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	errno = 0;
	t->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	const union MHD_DaemonInfo *info = t->d ? MHD_get_daemon_info(t->d,
								      MHD_DAEMON_INFO_EPOLL_FD)
						: NULL;
	if (!info) {
		int e = errno ? -errno : -EIO;
		log_error("cannot serve metrics on %s: %s", addr, strerror(-e));
		if (t->d)
			MHD_stop_daemon(t->d);
		free(t);
		return e;
	}
	t->epfd = info->epoll_fd;
	t->fut.poll = metrics_poll;
	int r = task_mgr_spawn(TASK_KIND_OTHER, NULL, NULL, "metrics", false, &t->fut, metrics_drop,
			       NULL);
	if (r < 0)
		log_error("cannot start the metrics task: %s", strerror(-r));
	else
		log_info("serving metrics on http://%s/metrics", addr);
	return r;
}
