/* SPDX-License-Identifier: MIT */
/*
 * The plain (not cancel-safe) I/O futures: one io_uring operation each. The constructor only
 * records the arguments; the first poll prepares the SQE in a heap op record, queues it in the
 * worker's batch and returns EX_PENDING; the completion thread stores the CQE's result and wakes
 * the task; the next poll returns it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>

#include "linux/reactor.h"
#include <executor/io.h>
#include <executor/park.h>

enum io_kind {
	K_READ = 1,
	K_WRITE,
	K_WRITE_FLAGS,
	K_READV,
	K_WRITEV,
	K_FSYNC,
	K_FDATASYNC,
	K_OPENAT,
	K_CLOSE,
	K_STATX,
	K_RENAMEAT,
	K_UNLINKAT,
	K_MKDIRAT,
	K_CONNECT,
	K_RECV,
	K_SEND,
	K_SIGNALFD,
};

/* read(2) never transfers more than this in one call either */
#define IO_MAX_LEN 0x7ffff000u

static uint64_t io_off(int64_t off)
{
	return off < 0 ? (uint64_t)-1 : (uint64_t)off; /* -1: current file position */
}

static void io_prep(struct ex_io *io, struct io_uring_sqe *sqe)
{
	unsigned len = io->len > IO_MAX_LEN ? IO_MAX_LEN : (unsigned)io->len;
	switch (io->kind) {
	case K_READ:
		io_uring_prep_read(sqe, io->fd, io->p3, len, io_off(io->off));
		break;
	case K_SIGNALFD:
		io_uring_prep_read(sqe, io->fd, io->p3, sizeof(struct signalfd_siginfo), 0);
		break;
	case K_WRITE:
		io_uring_prep_write(sqe, io->fd, io->p1, len, io_off(io->off));
		break;
	case K_WRITE_FLAGS:
		io_uring_prep_write(sqe, io->fd, io->p1, len, io_off(io->off));
		sqe->rw_flags = io->flags; /* RWF_*, as pwritev2(2) takes them */
		break;
	case K_READV:
		io_uring_prep_readv(sqe, io->fd, io->p1, len, io_off(io->off));
		break;
	case K_WRITEV:
		io_uring_prep_writev(sqe, io->fd, io->p1, len, io_off(io->off));
		break;
	case K_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, 0);
		break;
	case K_FDATASYNC:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	case K_OPENAT:
		io_uring_prep_openat(sqe, io->fd, io->p1, io->flags, io->mode);
		break;
	case K_CLOSE:
		io_uring_prep_close(sqe, io->fd);
		break;
	case K_STATX:
		io_uring_prep_statx(sqe, io->fd, io->p1, io->flags, io->mode, io->p3);
		break;
	case K_RENAMEAT:
		io_uring_prep_renameat(sqe, io->fd, io->p1, io->fd2, io->p2, (unsigned)io->flags);
		break;
	case K_UNLINKAT:
		io_uring_prep_unlinkat(sqe, io->fd, io->p1, io->flags);
		break;
	case K_MKDIRAT:
		io_uring_prep_mkdirat(sqe, io->fd, io->p1, io->mode);
		break;
	case K_CONNECT:
		io_uring_prep_connect(sqe, io->fd, io->p1, (socklen_t)io->len);
		break;
	case K_RECV:
		io_uring_prep_recv(sqe, io->fd, io->p3, len, io->flags);
		break;
	case K_SEND:
		io_uring_prep_send(sqe, io->fd, io->p1, len, io->flags);
		break;
	}
}

static ex_poll_t io_ready(struct ex_io *io, int64_t value)
{
	io->cs.base.output = value;
	io->kind = 0; /* done: a further poll returns the same output */
	return EX_READY;
}

/* What a task dump says an operation of @p kind waits for (executor/park.h). */
static enum ex_wait_kind io_wait_kind(int kind)
{
	switch (kind) {
	case K_READ:
	case K_READV:
	case K_RECV:
	case K_SIGNALFD:
		return EX_WAIT_READ;
	case K_WRITE:
	case K_WRITE_FLAGS:
	case K_WRITEV:
	case K_SEND:
	case K_CONNECT:
		return EX_WAIT_WRITE;
	default:
		return EX_WAIT_IO;
	}
}

static ex_poll_t io_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_io *io = ex_container_of(f, struct ex_io, cs.base);
	if (io->kind == 0)
		return EX_READY;
	if (!io->op) {
		struct ex_reactor *r = ex_reactor_current();
		if (!r)
			return io_ready(io, -ENXIO);
		struct ex_op *op = ex_op_new(r);
		if (!op)
			return io_ready(io, -ENOMEM);
		struct io_uring_sqe sqe;
		io_prep(io, &sqe);
		ex_op_set_sqe(op, &sqe);
		op->res_is_fd = io->kind == K_OPENAT;
		/* a signal may never come, nor may an idle peer send: like a poll, such a wait must
		 * not count as a transfer in flight (the CQ bound, ex_reactor_data_inflight), or a
		 * thousand idle ex_recv()s would hold back every file write */
		op->unbounded = io->kind == K_SIGNALFD || io->kind == K_RECV;
		io->op = op;
		ex_op_submit(op, cx->waker);
		ex_park_wait(cx, io_wait_kind(io->kind), (uint64_t)(int64_t)io->fd);
		return EX_PENDING;
	}
	int32_t res;
	if (ex_op_poll(io->op, cx, &res, NULL) == EX_PENDING) {
		ex_park_wait(cx, io_wait_kind(io->kind), (uint64_t)(int64_t)io->fd);
		return EX_PENDING;
	}
	io->op = NULL;
	if (io->kind == K_SIGNALFD && res >= 0) {
		if ((size_t)res != sizeof(struct signalfd_siginfo))
			return io_ready(io, -EIO); /* cannot happen for a signalfd read */
		return io_ready(io, (int64_t)((struct signalfd_siginfo *)io->p3)->ssi_signo);
	}
	return io_ready(io, res);
}

static struct ex_future *io_init(struct ex_io *io, int kind, int fd)
{
	memset(io, 0, sizeof(*io));
	io->cs.base.poll = io_poll;
	io->cs.release = NULL; /* not cancel-safe: the kernel may write into caller memory */
	io->kind = kind;
	io->fd = fd;
	return &io->cs.base;
}

struct ex_future *ex_read(struct ex_io *io, int fd, void *buf, size_t len, int64_t off)
{
	struct ex_future *f = io_init(io, K_READ, fd);
	io->p3 = buf;
	io->len = len;
	io->off = off;
	return f;
}

struct ex_future *ex_write(struct ex_io *io, int fd, const void *buf, size_t len, int64_t off)
{
	struct ex_future *f = io_init(io, K_WRITE, fd);
	io->p1 = buf;
	io->len = len;
	io->off = off;
	return f;
}

struct ex_future *ex_write_flags(struct ex_io *io, int fd, const void *buf, size_t len, int64_t off,
				 int rwflags)
{
	struct ex_future *f = ex_write(io, fd, buf, len, off);
	io->kind = K_WRITE_FLAGS;
	io->flags = rwflags;
	return f;
}

struct ex_future *ex_readv(struct ex_io *io, int fd, const struct iovec *iov, unsigned iovcnt,
			   int64_t off)
{
	struct ex_future *f = io_init(io, K_READV, fd);
	io->p1 = iov;
	io->len = iovcnt;
	io->off = off;
	return f;
}

struct ex_future *ex_writev(struct ex_io *io, int fd, const struct iovec *iov, unsigned iovcnt,
			    int64_t off)
{
	struct ex_future *f = io_init(io, K_WRITEV, fd);
	io->p1 = iov;
	io->len = iovcnt;
	io->off = off;
	return f;
}

struct ex_future *ex_fsync(struct ex_io *io, int fd)
{
	return io_init(io, K_FSYNC, fd);
}

struct ex_future *ex_fdatasync(struct ex_io *io, int fd)
{
	return io_init(io, K_FDATASYNC, fd);
}

struct ex_future *ex_openat(struct ex_io *io, int dirfd, const char *path, int flags, mode_t mode)
{
	struct ex_future *f = io_init(io, K_OPENAT, dirfd);
	io->p1 = path;
	io->flags = flags;
	io->mode = mode;
	return f;
}

struct ex_future *ex_close(struct ex_io *io, int fd)
{
	return io_init(io, K_CLOSE, fd);
}

struct ex_future *ex_statx(struct ex_io *io, int dirfd, const char *path, int flags, unsigned mask,
			   struct statx *out)
{
	struct ex_future *f = io_init(io, K_STATX, dirfd);
	io->p1 = path;
	io->flags = flags;
	io->mode = mask;
	io->p3 = out;
	return f;
}

struct ex_future *ex_renameat(struct ex_io *io, int olddirfd, const char *oldpath, int newdirfd,
			      const char *newpath, unsigned flags)
{
	struct ex_future *f = io_init(io, K_RENAMEAT, olddirfd);
	io->p1 = oldpath;
	io->fd2 = newdirfd;
	io->p2 = newpath;
	io->flags = (int)flags;
	return f;
}

struct ex_future *ex_unlinkat(struct ex_io *io, int dirfd, const char *path, int flags)
{
	struct ex_future *f = io_init(io, K_UNLINKAT, dirfd);
	io->p1 = path;
	io->flags = flags;
	return f;
}

struct ex_future *ex_mkdirat(struct ex_io *io, int dirfd, const char *path, mode_t mode)
{
	struct ex_future *f = io_init(io, K_MKDIRAT, dirfd);
	io->p1 = path;
	io->mode = mode;
	return f;
}

struct ex_future *ex_connect(struct ex_io *io, int fd, const struct sockaddr *addr,
			     socklen_t addrlen)
{
	struct ex_future *f = io_init(io, K_CONNECT, fd);
	io->p1 = addr;
	io->len = addrlen;
	return f;
}

struct ex_future *ex_recv(struct ex_io *io, int fd, void *buf, size_t len, int flags)
{
	struct ex_future *f = io_init(io, K_RECV, fd);
	io->p3 = buf;
	io->len = len;
	io->flags = flags;
	return f;
}

struct ex_future *ex_send(struct ex_io *io, int fd, const void *buf, size_t len, int flags)
{
	struct ex_future *f = io_init(io, K_SEND, fd);
	io->p1 = buf;
	io->len = len;
	io->flags = flags;
	return f;
}

struct ex_future *ex_read_signalfd(struct ex_io *io, int sfd, struct signalfd_siginfo *info)
{
	struct ex_future *f = io_init(io, K_SIGNALFD, sfd);
	io->p3 = info;
	return f;
}
