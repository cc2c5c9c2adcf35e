/* SPDX-License-Identifier: MIT */
/*
 * copy_file: copy a file with the io_uring leaf futures, written as one async function that
 * reads like straight code (EX_BEGIN / EX_AWAIT / EX_END from <executor/async.h>).
 *
 *     $ ./copy_file SRC DST
 *     copied 12345 bytes from SRC to DST
 *
 * Open the source, create the destination (O_EXCL: never overwrite), read and write in a loop
 * (the write loop handles short writes), fsync the destination so that the copy is durable
 * before we say so, close both. Every error is reported with the step that failed, and both fds
 * are closed on every path. Exit code 0 on success, 1 on failure (ex_main's convention).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <executor/executor.h>

struct copy {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io; /* the leaf future being awaited; reused for every step */
	const char *src, *dst;
	int in, out;
	int64_t n, done, total, err;
	const char *step;
	char buf[64 * 1024];
};

static ex_poll_t copy_poll(struct ex_future *f, struct ex_context *cx)
{
	struct copy *c = ex_container_of(f, struct copy, fut);
	EX_BEGIN(&c->a);
	c->in = c->out = -1;

	c->step = "open source";
	EX_AWAIT(&c->a, cx, ex_openat(&c->io, AT_FDCWD, c->src, O_RDONLY | O_CLOEXEC, 0));
	if ((c->err = EX_AWAITED(&c->a)) < 0)
		goto out;
	c->in = (int)c->err;

	c->step = "create destination";
	EX_AWAIT(
		&c->a, cx,
		ex_openat(&c->io, AT_FDCWD, c->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
	if ((c->err = EX_AWAITED(&c->a)) < 0)
		goto out;
	c->out = (int)c->err;

	for (;;) {
		c->step = "read";
		EX_AWAIT(&c->a, cx, ex_read(&c->io, c->in, c->buf, sizeof c->buf, -1));
		if ((c->n = EX_AWAITED(&c->a)) <= 0)
			break; /* 0: end of file; < 0: error */
		for (c->done = 0; c->done < c->n; c->done += EX_AWAITED(&c->a)) {
			c->step = "write";
			EX_AWAIT(&c->a, cx,
				 ex_write(&c->io, c->out, c->buf + c->done,
					  (size_t)(c->n - c->done), -1));
			if ((c->err = EX_AWAITED(&c->a)) <= 0) {
				if (c->err == 0)
					c->err = -EIO; /* a write that makes no progress */
				goto out;
			}
		}
		c->total += c->n;
	}
	if ((c->err = c->n) < 0)
		goto out;

	c->step = "fsync destination";
	EX_AWAIT(&c->a, cx, ex_fsync(&c->io, c->out));
	c->err = EX_AWAITED(&c->a);

out:
	/* close both on every path; the first error wins */
	if (c->out >= 0) {
		EX_AWAIT(&c->a, cx, ex_close(&c->io, c->out));
		if (EX_AWAITED(&c->a) < 0 && c->err >= 0) {
			c->step = "close destination";
			c->err = EX_AWAITED(&c->a);
		}
	}
	if (c->in >= 0)
		EX_AWAIT(&c->a, cx, ex_close(&c->io, c->in));
	if (c->err < 0) {
		fprintf(stderr, "copy_file: %s: %s\n", c->step, strerror((int)-c->err));
		EX_RETURN(&c->a, f, 1);
	}
	printf("copied %lld bytes from %s to %s\n", (long long)c->total, c->src, c->dst);
	EX_END(&c->a, f, 0);
}

static struct copy copy;

static struct ex_future *app(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SRC DST\n", argv[0]);
		return NULL;
	}
	copy.fut.poll = copy_poll;
	copy.src = argv[1];
	copy.dst = argv[2];
	return &copy.fut;
}

EX_MAIN(app)
