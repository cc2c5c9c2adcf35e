/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/server.c — the listener task and the connection tasks of the control socket.
 *
 * Every wait of a connection is bounded: reading races a readiness-based receive (cancel-safe:
 * a released receive consumed nothing) against the idle/request deadline and the task's shutdown
 * watcher; writing polls for POLLOUT under a deadline. Nothing a client does can block a worker
 * or keep the daemon from stopping.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <executor/async.h>
#include <executor/io.h>
#include <executor/select.h>
#include <executor/time.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "task_mgr.h"

static atomic_uint n_connections;

unsigned ctl_server_connections(void)
{
	return atomic_load(&n_connections);
}

/* Best effort, never blocks: a refusal line to a connection we are about to close. */
static void send_now_and_close(int fd, int err, const char *msg)
{
	char *line = ctl_error(NULL, err, msg, NULL);
	if (line) {
		ssize_t n = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
		free(line);
	}
	close(fd);
}

/* ---------------- connection ---------------- */

/* send(2) of @p len bytes at @p buf, never blocking; with @p fd >= 0 the descriptor goes with the
 * first byte (SCM_RIGHTS) in the same sendmsg, so a client that reads the line has it (the
 * kernel attaches it to that byte: docs/protocol.md "Passed descriptors"). */
static ssize_t send_out(int sock, const char *buf, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctrl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&ctrl, 0, sizeof ctrl);
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = sizeof ctrl.buf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	}
	return sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

struct conn {
	struct ex_future fut;
	struct ex_async a;
	int fd;
	struct ctl_peer peer;
	char *buf; /* CTL_MAX_REQUEST bytes */
	size_t len;
	size_t line_len; /* length of the current request line, newline included */
	uint64_t deadline;
	struct ex_io io;
	struct ex_sleep sleep;
	struct task_mgr_watcher w;
	struct ex_select sel;
	struct ctl_reply *reply;
	struct ctl_reply_wait rw;
	char *out;
	int out_fd; /* passed with the response's first byte (SCM_RIGHTS), or -1 */
	size_t out_len, out_off;
	bool close_after;
	int64_t n;
};

static bool find_line(struct conn *c)
{
	char *nl = memchr(c->buf, '\n', c->len);
	if (!nl)
		return false;
	c->line_len = (size_t)(nl - c->buf) + 1;
	return true;
}

/* Handle the request line at the start of the buffer: an immediate response in c->out, or a
 * pending reply in c->reply; neither for an empty line (ignored). */
static void handle_line(struct conn *c)
{
	size_t n = c->line_len - 1;
	cJSON *req;

	c->buf[n] = '\0';
	if (n > 0 && c->buf[n - 1] == '\r')
		c->buf[--n] = '\0';
	if (n == 0)
		return;
	req = cJSON_ParseWithLength(c->buf, n);
	if (!req || !cJSON_IsObject(req)) {
		c->out = ctl_error(NULL, -EINVAL,
				   req ? "a request must be a JSON object" : "malformed JSON",
				   NULL);
		cJSON_Delete(req);
		return;
	}
	if (ctl_dispatch(req, &c->peer, &c->out, &c->reply) == -ENOMEM)
		c->out = ctl_error(NULL, -ENOMEM, "out of memory", NULL);
	cJSON_Delete(req);
}

static ex_poll_t conn_poll(struct ex_future *f, struct ex_context *cx)
{
	struct conn *c = ex_container_of(f, struct conn, fut);

	EX_BEGIN(&c->a);
	for (;;) {
		/* ---- read one request line ---- */
		c->deadline = ex_now_ns() +
			      CTL_IO_TIMEOUT_NS; /* idle limit, then per-request limit */
		while (!find_line(c)) {
			if (c->len >= CTL_MAX_REQUEST) {
				c->out = ctl_error(NULL, -EMSGSIZE,
						   "request larger than 65536 bytes", NULL);
				c->close_after = true;
				goto respond;
			}
			EX_AWAIT(&c->a, cx,
				 &ex_select(&c->sel,
					    ex_recv_ready(&c->io, c->fd, c->buf + c->len,
							  CTL_MAX_REQUEST - c->len, 0),
					    ex_sleep_until(&c->sleep, c->deadline),
					    task_mgr_shutdown_watcher(&c->w))
					  ->base);
			if (EX_AWAITED(&c->a) == 1) {
				log_debug(
					"control connection from pid %d: no complete request within 30 s; closing",
					(int)c->peer.pid);
				c->out = ctl_error(NULL, -ETIMEDOUT,
						   "no complete request within 30 s", NULL);
				c->close_after = true;
				goto respond;
			}
			if (EX_AWAITED(&c->a) == 2)
				goto out; /* the daemon is stopping: close between requests */
			c->n = c->io.cs.base.output;
			if (c->n <= 0)
				goto out; /* peer closed (0) or error */
			c->len += (size_t)c->n;
		}
		handle_line(c);
		if (c->reply) {
			/* the request runs in its own task; it completes even if we go away */
			EX_AWAIT(&c->a, cx, &ctl_reply_wait(&c->rw, c->reply)->base);
			c->out_fd = ctl_reply_take_fd(c->reply);
			c->out = ctl_reply_take(c->reply);
			c->reply = NULL;
			if (!c->out)
				c->out = ctl_error(NULL, -ENOMEM, "out of memory", NULL);
		}
		memmove(c->buf, c->buf + c->line_len, c->len - c->line_len);
		c->len -= c->line_len;
		if (!c->out)
			continue; /* an empty line: nothing to answer */
respond:
		/* ---- write the response ---- */
		if (!c->out)
			goto out;
		c->out_len = strlen(c->out);
		c->out_off = 0;
		c->deadline = ex_now_ns() + CTL_IO_TIMEOUT_NS;
		while (c->out_off < c->out_len) {
			c->n = send_out(c->fd, c->out + c->out_off, c->out_len - c->out_off,
					c->out_fd);
			if (c->n >= 0) {
				c->out_off += (size_t)c->n;
				if (c->n > 0 && c->out_fd >= 0) { /* it went with the first byte */
					close(c->out_fd);
					c->out_fd = -1;
				}
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				goto out; /* the client went away: only the response is lost */
			EX_AWAIT(&c->a, cx,
				 &ex_select(&c->sel, ex_poll_fd(&c->io, c->fd, POLLOUT),
					    ex_sleep_until(&c->sleep, c->deadline),
					    task_mgr_shutdown_watcher(&c->w))
					  ->base);
			if (EX_AWAITED(&c->a) != 0)
				goto out; /* a client that does not read is dropped (also at shutdown) */
		}
		free(c->out);
		c->out = NULL;
		if (c->out_fd >= 0) { /* not reached: a non-empty line took it */
			close(c->out_fd);
			c->out_fd = -1;
		}
		if (c->close_after || task_mgr_is_shutdown_requested())
			goto out;
	}
out:
	EX_END(&c->a, f, 0);
}

static void conn_drop(struct ex_future *f)
{
	struct conn *c = ex_container_of(f, struct conn, fut);
	if (c->reply) /* not reached: we always wait for a reply we asked for */
		free(ctl_reply_take(c->reply));
	free(c->out);
	if (c->out_fd >= 0)
		close(c->out_fd);
	free(c->buf);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&n_connections, 1);
}

static int conn_spawn(int fd)
{
	struct conn *c;
	int r;

	if (task_mgr_is_blocked(NULL, NULL)) {
		send_now_and_close(fd, -ESHUTDOWN, "the daemon is shutting down");
		return -ESHUTDOWN;
	}
	c = calloc(1, sizeof *c);
	if (!c || !(c->buf = malloc(CTL_MAX_REQUEST))) {
		free(c);
		send_now_and_close(fd, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	c->fd = fd;
	c->out_fd = -1;
	c->fut.poll = conn_poll;
	if ((r = ctl_peer_from_fd(fd, &c->peer)) < 0) {
		log_warning("cannot read the credentials of a control connection: %s",
			    strerror(-r));
		free(c->buf);
		free(c);
		close(fd);
		return r;
	}
	atomic_fetch_add(&n_connections, 1);
	/* on failure task_mgr_spawn calls conn_drop: fd closed, counter restored */
	return task_mgr_spawn(TASK_KIND_CONTROL_REQUEST, NULL, NULL, "connection", false, &c->fut,
			      conn_drop, NULL);
}

/* ---------------- listener ---------------- */

struct listener {
	struct ex_future fut;
	struct ex_async a;
	int fd;
	int cfd;
	struct ex_io io;
	struct task_mgr_watcher w;
	struct ex_select sel;
	struct ex_sleep sleep;
	uint64_t refused_logged_ns;
};

static ex_poll_t listener_poll(struct ex_future *f, struct ex_context *cx)
{
	struct listener *l = ex_container_of(f, struct listener, fut);

	EX_BEGIN(&l->a);
	for (;;) {
		EX_AWAIT(&l->a, cx,
			 &ex_select(&l->sel,
				    ex_accept(&l->io, l->fd, NULL, NULL,
					      SOCK_CLOEXEC | SOCK_NONBLOCK),
				    task_mgr_shutdown_watcher(&l->w))
				  ->base);
		if (EX_AWAITED(&l->a) == 1)
			break;
		l->cfd = (int)l->io.cs.base.output;
		if (l->cfd < 0) {
			if (l->cfd == -EINTR || l->cfd == -ECONNABORTED || l->cfd == -EAGAIN)
				continue;
			log_error("accept: %s", strerror(-l->cfd));
			if (l->cfd != -EMFILE && l->cfd != -ENFILE && l->cfd != -ENOBUFS &&
			    l->cfd != -ENOMEM)
				EX_RETURN(
					&l->a, f,
					l->cfd); /* the socket is broken: critical task, daemon stops */
			/* out of descriptors: back off instead of spinning */
			EX_AWAIT(&l->a, cx,
				 &ex_select(&l->sel, ex_sleep(&l->sleep, 100 * 1000 * 1000ull),
					    task_mgr_shutdown_watcher(&l->w))
					  ->base);
			if (EX_AWAITED(&l->a) == 1)
				break;
			continue;
		}
		if (atomic_load(&n_connections) >= execd_config.max_connections) {
			uint64_t now = ex_now_ns();
			if (now - l->refused_logged_ns > 1000ull * 1000 * 1000) {
				log_warning(
					"refusing a control connection: %u connections open (--max-connections)",
					atomic_load(&n_connections));
				l->refused_logged_ns = now;
			}
			send_now_and_close(l->cfd, -EAGAIN, "too many connections");
			continue;
		}
		conn_spawn(l->cfd);
	}
	log_info("control socket closed");
	EX_END(&l->a, f, 0);
}

static void listener_drop(struct ex_future *f)
{
	struct listener *l = ex_container_of(f, struct listener, fut);
	ctl_socket_close(l->fd);
	free(l);
}

int ctl_server_start(int listen_fd)
{
	struct listener *l = calloc(1, sizeof *l);
	if (!l) {
		ctl_socket_close(listen_fd);
		return -ENOMEM;
	}
	l->fd = listen_fd;
	l->fut.poll = listener_poll;
	return task_mgr_spawn(TASK_KIND_CONTROL_LISTENER, NULL, NULL, "control_listener", true,
			      &l->fut, listener_drop, NULL);
}
