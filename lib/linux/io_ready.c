/* SPDX-License-Identifier: MIT */
/*
 * The cancel-safe, readiness-based I/O futures: ex_poll_fd, ex_accept, ex_recv_ready.
 *
 * Why readiness: a completion-based accept or recv that is cancelled can still complete in the
 * kernel and hand back a connection or bytes that nobody will see. A poll consumes nothing, so
 * the only thing in the kernel is an IORING_OP_POLL_ADD in a heap op record: releasing the
 * future cancels it (IORING_OP_ASYNC_CANCEL) and the completion thread still reaps it. The
 * consuming call (accept4, recv with MSG_DONTWAIT) runs synchronously inside poll and never
 * blocks, so a future that has not returned EX_READY has taken nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "linux/reactor.h"
#include <executor/io.h>
#include <executor/park.h>

enum ready_kind { K_DONE = 0, K_POLL = 100, K_ACCEPT, K_RECV_READY };

static ex_poll_t ready_done(struct ex_io *io, int64_t value)
{
	io->cs.base.output = value;
	io->kind = K_DONE;
	return EX_READY;
}

/* Try the consuming call once: EX_READY with its result, or EX_PENDING if it would block. */
static ex_poll_t try_once(struct ex_io *io)
{
	for (;;) {
		ssize_t n;
		if (io->kind == K_ACCEPT)
			n = accept4(io->fd, (struct sockaddr *)io->p3, (socklen_t *)(void *)io->p2,
				    io->flags);
		else
			n = recv(io->fd, io->p3, (size_t)io->len, io->flags | MSG_DONTWAIT);
		if (n >= 0)
			return ready_done(io, n);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return EX_PENDING;
		return ready_done(io, -errno);
	}
}

static ex_poll_t ready_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_io *io = ex_container_of(f, struct ex_io, cs.base);
	for (;;) {
		if (io->kind == K_DONE)
			return EX_READY;
		if (io->op) {
			int32_t res;
			if (ex_op_poll(io->op, cx, &res, NULL) == EX_PENDING) {
				ex_park_wait(cx, io->kind == K_POLL ? EX_WAIT_POLL : EX_WAIT_READ,
					     (uint64_t)(int64_t)io->fd);
				return EX_PENDING;
			}
			io->op = NULL;
			if (res < 0)
				return ready_done(io, res);
			if (res & POLLNVAL)
				return ready_done(io, -EBADF);
			if (io->kind == K_POLL)
				return ready_done(io, res);
			/* readable (or an error/hangup that the consuming call reports): try again */
		} else if (io->kind == K_ACCEPT && !io->mode) {
			/* a blocking listening socket would block the worker if another acceptor took
			 * the connection between our poll and our accept4 */
			int fl = fcntl(io->fd, F_GETFL);
			if (fl < 0)
				return ready_done(io, -errno);
			if (!(fl & O_NONBLOCK) && fcntl(io->fd, F_SETFL, fl | O_NONBLOCK) < 0)
				return ready_done(io, -errno);
			io->mode = 1;
		}
		if (io->kind != K_POLL && try_once(io) == EX_READY)
			return EX_READY;
		/* would block (or a bare poll): wait for readiness */
		struct ex_reactor *r = ex_reactor_current();
		if (!r)
			return ready_done(io, -ENXIO);
		struct ex_op *op = ex_op_new(r);
		if (!op)
			return ready_done(io, -ENOMEM);
		struct io_uring_sqe sqe;
		io_uring_prep_poll_add(&sqe, io->fd,
				       io->kind == K_POLL ? (unsigned)io->len : POLLIN);
		ex_op_set_sqe(op, &sqe);
		op->unbounded = true; /* may wait for hours: must not hold back data transfers */
		io->op = op;
		ex_op_submit(op, cx->waker);
		ex_park_wait(cx, io->kind == K_POLL ? EX_WAIT_POLL : EX_WAIT_READ,
			     (uint64_t)(int64_t)io->fd);
		return EX_PENDING;
	}
}

static void ready_release(struct ex_cancel_safe_future *f)
{
	struct ex_io *io = ex_container_of(f, struct ex_io, cs);
	if (io->op) {
		ex_op_release(io->op); /* cancels the poll; nothing was consumed */
		io->op = NULL;
	}
	io->kind = K_DONE;
}

static struct ex_cancel_safe_future *ready_init(struct ex_io *io, int kind, int fd)
{
	memset(io, 0, sizeof(*io));
	io->cs.base.poll = ready_poll;
	io->cs.release = ready_release;
	io->kind = kind;
	io->fd = fd;
	return &io->cs;
}

struct ex_cancel_safe_future *ex_poll_fd(struct ex_io *io, int fd, unsigned events)
{
	struct ex_cancel_safe_future *f = ready_init(io, K_POLL, fd);
	io->len = events;
	return f;
}

struct ex_cancel_safe_future *ex_accept(struct ex_io *io, int listen_fd, struct sockaddr *addr,
					socklen_t *addrlen, int flags)
{
	struct ex_cancel_safe_future *f = ready_init(io, K_ACCEPT, listen_fd);
	io->p3 = addr;
	io->p2 = addrlen;
	io->flags = flags;
	return f;
}

struct ex_cancel_safe_future *ex_recv_ready(struct ex_io *io, int fd, void *buf, size_t len,
					    int flags)
{
	struct ex_cancel_safe_future *f = ready_init(io, K_RECV_READY, fd);
	io->p3 = buf;
	io->len = len;
	io->flags = flags;
	return f;
}
