/* SPDX-License-Identifier: MIT */
/**
 * @file executor/io.h
 * @brief Leaf I/O futures on the runtime's io_uring (seed 003, "Linux Executor").
 *
 * One state struct, `struct ex_io`, serves every operation: the caller owns it (usually inside
 * an async function's state) and passes it to one of the constructors below, which initialise it
 * and return it as a future. Nothing happens until the first poll: the first poll prepares an
 * SQE in the calling worker's batch (submitted with the worker's next io_uring_enter, many SQEs
 * per system call); the runtime's completion thread stores the result and wakes the task.
 *
 * Results: every future's `output` is the kernel's result — >= 0 on success (bytes, a new fd,
 * 0, revents) or a negative errno (-EBADF for a bad fd, -ENOENT for a missing file, ...), exactly
 * as io_uring reports it. Two errors come from the library itself: -ENXIO when the future is
 * polled on a thread that has no runtime (ex_reactor_current() is NULL), and -ENOMEM. An
 * operation still in the kernel when the runtime is freed completes with -ECANCELED.
 *
 * Cancel-safety (docs/cancellation.md): the plain operations are returned as `struct ex_future *`
 * and must be polled to completion: the kernel writes into the caller's buffers until the CQE
 * arrives. The readiness-based operations — ex_poll_fd(), ex_accept(), ex_recv_ready() — are
 * returned as `struct ex_cancel_safe_future *`: the only thing in the kernel is an
 * IORING_OP_POLL_ADD held by a small heap record, so `release` cancels it with
 * IORING_OP_ASYNC_CANCEL (its completion is still reaped) and nothing is lost: readiness is not
 * consumed by a poll, and the accept4()/recv() that consumes data runs in the poll call itself,
 * only when it returns the result.
 *
 * Memory: buffers, paths, iovecs, addresses and output structs passed to a constructor must stay
 * valid until the future is ready. Thread-safety: one task polls a future at a time (the task may
 * move between worker threads between polls); different futures are independent.
 */
#ifndef EXECUTOR_IO_H
#define EXECUTOR_IO_H

#include <executor/future.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ex_op;
struct statx;
struct signalfd_siginfo;

/** State of one I/O future. Treat as opaque; the caller owns the memory. */
struct ex_io {
	struct ex_cancel_safe_future cs; /* cs.base is the future of the plain operations */
	struct ex_op *op;                /* kernel-facing record while an SQE is in flight */
	int kind;
	int fd, fd2;
	int flags;
	unsigned mode;
	const void *p1, *p2;
	void *p3;
	uint64_t len;
	int64_t off;
};

/**
 * Read up to @p len bytes from @p fd into @p buf at file offset @p off (bytes; -1 = the file's
 * current position, which then advances). IORING_OP_READ.
 * @return output: bytes read (0 at end of file) or -errno (-EBADF, -EINVAL, -EISDIR, ...).
 * @p len above 0x7ffff000 is clamped (a short read, as read(2)). Not cancel-safe.
 * Design: liburing io_uring_prep_read; the -1 offset is IORING_FEAT_RW_CUR_POS.
 */
EX_PUBLIC struct ex_future *ex_read(struct ex_io *io, int fd, void *buf, size_t len, int64_t off);

/** Write up to @p len bytes of @p buf to @p fd at @p off (-1 = current position). IORING_OP_WRITE.
 * @return output: bytes written or -errno. Not cancel-safe. Design: io_uring_prep_write. */
EX_PUBLIC struct ex_future *ex_write(struct ex_io *io, int fd, const void *buf, size_t len,
				     int64_t off);

/**
 * ex_write() with pwritev2(2) flags @p rwflags (RWF_DSYNC, RWF_HIPRI, RWF_APPEND, ...; 0 is
 * ex_write()): with RWF_DSYNC the bytes written are durable when the future is ready, as after a
 * write and an fdatasync, in one operation (one completion instead of two).
 * @return output: bytes written or -errno (-EOPNOTSUPP or -EINVAL for a flag the kernel or the
 * file does not support). Not cancel-safe. Design: IORING_OP_WRITE with sqe->rw_flags, as
 * liburing's io_uring_prep_write with rw_flags set; PostgreSQL's open_datasync WAL writes.
 */
EX_PUBLIC struct ex_future *ex_write_flags(struct ex_io *io, int fd, const void *buf, size_t len,
					   int64_t off, int rwflags);

/** Scatter read into @p iovcnt buffers (readv(2)/preadv(2); @p off -1 = current position).
 * @return output: bytes read or -errno. Not cancel-safe. Design: IORING_OP_READV. */
EX_PUBLIC struct ex_future *ex_readv(struct ex_io *io, int fd, const struct iovec *iov,
				     unsigned iovcnt, int64_t off);

/** Gather write (writev(2)/pwritev(2); @p off -1 = current position).
 * @return output: bytes written or -errno. Not cancel-safe. Design: IORING_OP_WRITEV. */
EX_PUBLIC struct ex_future *ex_writev(struct ex_io *io, int fd, const struct iovec *iov,
				      unsigned iovcnt, int64_t off);

/** fsync(2) @p fd. @return output: 0 or -errno. Not cancel-safe. Design: IORING_OP_FSYNC. */
EX_PUBLIC struct ex_future *ex_fsync(struct ex_io *io, int fd);

/** fdatasync(2) @p fd (IORING_FSYNC_DATASYNC). @return output: 0 or -errno. Not cancel-safe.
 * Design: IORING_OP_FSYNC. */
EX_PUBLIC struct ex_future *ex_fdatasync(struct ex_io *io, int fd);

/**
 * openat(2): open @p path relative to @p dirfd (AT_FDCWD) with open(2) @p flags and @p mode.
 * @return output: the new fd or -errno (-ENOENT, -EACCES, ...). Add O_CLOEXEC yourself if
 * wanted. Not cancel-safe (if the runtime is torn down under it, a produced fd is closed).
 * Design: IORING_OP_OPENAT.
 */
EX_PUBLIC struct ex_future *ex_openat(struct ex_io *io, int dirfd, const char *path, int flags,
				      mode_t mode);

/** close(2) @p fd. @return output: 0 or -errno (-EBADF). Not cancel-safe. Design: IORING_OP_CLOSE. */
EX_PUBLIC struct ex_future *ex_close(struct ex_io *io, int fd);

/**
 * statx(2) of @p path relative to @p dirfd with @p flags (AT_*) and @p mask (STATX_*), into
 * @p out. @return output: 0 or -errno. Not cancel-safe. Design: IORING_OP_STATX.
 */
EX_PUBLIC struct ex_future *ex_statx(struct ex_io *io, int dirfd, const char *path, int flags,
				     unsigned mask, struct statx *out);

/** renameat2(2) with @p flags (RENAME_*). @return output: 0 or -errno. Not cancel-safe.
 * Design: IORING_OP_RENAMEAT. */
EX_PUBLIC struct ex_future *ex_renameat(struct ex_io *io, int olddirfd, const char *oldpath,
					int newdirfd, const char *newpath, unsigned flags);

/** unlinkat(2) with @p flags (0 or AT_REMOVEDIR). @return output: 0 or -errno. Not cancel-safe.
 * Design: IORING_OP_UNLINKAT. */
EX_PUBLIC struct ex_future *ex_unlinkat(struct ex_io *io, int dirfd, const char *path, int flags);

/** mkdirat(2) with @p mode. @return output: 0 or -errno (-EEXIST). Not cancel-safe.
 * Design: IORING_OP_MKDIRAT. */
EX_PUBLIC struct ex_future *ex_mkdirat(struct ex_io *io, int dirfd, const char *path, mode_t mode);

/**
 * connect(2) socket @p fd to @p addr (@p addrlen bytes). @return output: 0 or -errno
 * (-ECONNREFUSED, ...). Not cancel-safe (a released connect would leave the socket half-done).
 * Design: IORING_OP_CONNECT.
 */
EX_PUBLIC struct ex_future *ex_connect(struct ex_io *io, int fd, const struct sockaddr *addr,
				       socklen_t addrlen);

/** recv(2) up to @p len bytes with @p flags (MSG_*). @return output: bytes (0 = peer closed) or
 * -errno. Not cancel-safe: use ex_recv_ready() where the receive may be abandoned. It may wait
 * for hours on an idle connection without holding back other I/O (not counted against the CQ
 * bound, like a poll). Design: IORING_OP_RECV. */
EX_PUBLIC struct ex_future *ex_recv(struct ex_io *io, int fd, void *buf, size_t len, int flags);

/** send(2) up to @p len bytes with @p flags (MSG_*; add MSG_NOSIGNAL to get -EPIPE instead of
 * SIGPIPE). @return output: bytes sent or -errno. Not cancel-safe. Design: IORING_OP_SEND. */
EX_PUBLIC struct ex_future *ex_send(struct ex_io *io, int fd, const void *buf, size_t len,
				    int flags);

/**
 * Read one struct signalfd_siginfo from the signalfd @p sfd into @p info.
 * @return output: the signal number (> 0) or -errno (-EBADF, -EINVAL if @p sfd is not a
 * signalfd, -EIO on a short read). Not cancel-safe (a released read could consume a signal).
 * Design: IORING_OP_READ on the signalfd; the runtime's signal handling (signal.h) uses it.
 */
EX_PUBLIC struct ex_future *ex_read_signalfd(struct ex_io *io, int sfd,
					     struct signalfd_siginfo *info);

/**
 * Wait until @p fd is ready for @p events (POLLIN, POLLOUT, POLLPRI, ... from <poll.h>); one-shot
 * IORING_OP_POLL_ADD. @return output: the revents mask (> 0; may include POLLERR, POLLHUP;
 * POLLNVAL never: a bad fd gives -EBADF) or -errno.
 * Cancel-safe: releasing it cancels the poll; readiness is not consumed.
 * Design: libpq's PQsocket + poll pattern; tokio's readiness API.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_poll_fd(struct ex_io *io, int fd, unsigned events);

/**
 * Accept one connection on the listening socket @p listen_fd: a non-blocking accept4(2) in the
 * poll call, and a poll for POLLIN while there is none. @p addr / @p addrlen as accept4(2)
 * (may be NULL); @p flags: SOCK_NONBLOCK, SOCK_CLOEXEC for the new fd.
 * The first poll puts @p listen_fd into O_NONBLOCK mode (shared by its other users), so that an
 * accept never blocks a worker even when another acceptor won the race.
 * @return output: the new fd or -errno (-EBADF, -EINVAL if not listening, -ENOTSOCK, -EMFILE).
 * Cancel-safe: a released accept leaves the connection queued in the kernel for the next
 * accept; no fd is ever produced by a future that is not ready. (Design: libdill's fdin +
 * accept, tokio's readiness-based TcpListener::accept.)
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_accept(struct ex_io *io, int listen_fd,
						  struct sockaddr *addr, socklen_t *addrlen,
						  int flags);

/**
 * Receive up to @p len bytes from socket @p fd: recv(2) with MSG_DONTWAIT (plus @p flags) in the
 * poll call, and a poll for POLLIN while nothing is there.
 * @return output: bytes (0 = peer closed) or -errno.
 * Cancel-safe: a released receive consumed nothing; the data stays in the socket.
 * Design: tokio's readiness-based TcpStream::readable + try_read.
 */
EX_PUBLIC struct ex_cancel_safe_future *ex_recv_ready(struct ex_io *io, int fd, void *buf,
						      size_t len, int flags);

#ifdef __cplusplus
}
#endif
#endif /* EXECUTOR_IO_H */
