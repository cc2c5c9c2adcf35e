/* SPDX-License-Identifier: MIT */
/*
 * Detached tasks run to completion after the root returned (seed 003, "Critical Sections"; rule
 * 3, docs/executor.md "Detached tasks and shutdown"): the root detaches tasks that cannot finish
 * before it has returned; block_on waits for them (until the shutdown deadline,
 * detach_grace_ns), so their flags are all set when block_on returns. ex_main does the same
 * after SIGTERM, and names a task that outlives the deadline.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_test.h"

#define NDETACHED 64

static _Atomic bool root_done;
static _Atomic int flags[NDETACHED];
static _Atomic uint64_t finished_after_root;

struct late {
	struct ex_future fut;
	struct ex_async a;
	int i;
	struct ex_blocking b;
};

static int64_t blocking_noop(void *arg)
{
	return (int64_t)(intptr_t)arg;
}

static ex_poll_t late_poll(struct ex_future *f, struct ex_context *cx)
{
	struct late *l = ex_container_of(f, struct late, fut);
	EX_BEGIN(&l->a);
	/* cannot finish before the root did */
	while (!atomic_load(&root_done))
		EX_YIELD(&l->a, cx);
	/* real waiting after the root returned: a round trip through the blocking pool */
	EX_AWAIT(&l->a, cx, ex_spawn_blocking(&l->b, blocking_noop, (void *)(intptr_t)l->i));
	ck_assert_int_eq(EX_AWAITED(&l->a), l->i);
	atomic_store(&flags[l->i], 1);
	atomic_fetch_add(&finished_after_root, 1);
	EX_END(&l->a, f, 0);
}

static void late_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct late, fut));
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	for (int i = 0; i < NDETACHED; i++) {
		struct late *l = calloc(1, sizeof(*l));
		l->fut.poll = late_poll;
		l->i = i;
		if (i % 2) {
			ck_assert_int_eq(ex_spawn(&l->fut, late_drop, "late", NULL), 0);
		} else {
			/* spawned with a handle, then the handle is dropped */
			struct ex_join_handle h;
			ck_assert_int_eq(ex_spawn(&l->fut, late_drop, "late", &h), 0);
			ex_join_handle_detach(&h);
			ck_assert_ptr_null(h.task);
			ex_join_handle_detach(&h); /* idempotent on an empty handle */
		}
	}
	atomic_store(&root_done, true);
	f->output = 42;
	return EX_READY;
}

START_TEST(detached_finish_after_root)
{
	struct ex_future root = { .poll = root_poll };
	int64_t out = rt_run(2, &root);
	ck_assert_int_eq(out, 42);
	ck_assert_uint_eq(atomic_load(&finished_after_root), NDETACHED);
	for (int i = 0; i < NDETACHED; i++)
		ck_assert_int_eq(atomic_load(&flags[i]), 1);
}
END_TEST

/* ex_main: exit code is the root's output clamped to 0..255, negative -> 1. */
static ex_poll_t value_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	return EX_READY; /* output preset */
}

START_TEST(ex_main_exit_codes)
{
	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = 1;
	struct ex_future f = { .poll = value_poll };
	f.output = 3;
	ck_assert_int_eq(ex_main(&c, &f), 3);
	f.output = 1000;
	ck_assert_int_eq(ex_main(&c, &f), 255);
	f.output = -5;
	ck_assert_int_eq(ex_main(&c, &f), 1);
	ck_assert_int_eq(ex_main(&c, NULL), 1);
}
END_TEST

/*
 * SIGTERM while a detached task is in the middle of a multi-step write: the task wrote its first
 * chunk before the signal and writes the others, each an awaited io_uring write, after the
 * shutdown token fired and after the root decided to return. ex_main must not return before the
 * file is complete. Sequencing by eventfds and the token, no sleeps.
 */
#define NCHUNKS 16
#define CHUNK 4096

static struct {
	int file_fd;
	int first_written_efd; /* writer -> root: chunk 0 is on disk, send SIGTERM */
	int root_returns_efd;  /* root -> writer: the root is returning now */
	_Atomic bool writer_done;
} sw;

struct writer {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct ex_cancelled c;
	int i;
	char buf[CHUNK];
};

static struct writer writer_state;

static void fill_chunk(char *buf, int i)
{
	memset(buf, 'a' + i, CHUNK);
}

static ex_poll_t writer_poll(struct ex_future *f, struct ex_context *cx)
{
	struct writer *w = ex_container_of(f, struct writer, fut);
	EX_BEGIN(&w->a);
	fill_chunk(w->buf, 0);
	EX_AWAIT(&w->a, cx, ex_write(&w->io, sw.file_fd, w->buf, CHUNK, 0));
	ck_assert_int_eq(EX_AWAITED(&w->a), CHUNK);
	ck_assert_int_eq(eventfd_write(sw.first_written_efd, 1), 0);
	/* the rest only once SIGTERM fired the shutdown token ... */
	EX_AWAIT(&w->a, cx,
		 &ex_cancelled(&w->c, ex_runtime_shutdown_token(ex_runtime_current()))->base);
	/* ... and the root is returning */
	EX_AWAIT(&w->a, cx, &ex_poll_fd(&w->io, sw.root_returns_efd, POLLIN)->base);
	ck_assert_int_gt(EX_AWAITED(&w->a), 0);
	for (w->i = 1; w->i < NCHUNKS; w->i++) {
		fill_chunk(w->buf, w->i);
		EX_AWAIT(&w->a, cx,
			 ex_write(&w->io, sw.file_fd, w->buf, CHUNK, (int64_t)w->i * CHUNK));
		ck_assert_int_eq(EX_AWAITED(&w->a), CHUNK);
	}
	atomic_store(&sw.writer_done, true);
	EX_END(&w->a, f, 0);
}

struct sigterm_root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct ex_cancelled c;
};

static ex_poll_t sigterm_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sigterm_root *r = ex_container_of(f, struct sigterm_root, fut);
	EX_BEGIN(&r->a);
	writer_state.fut.poll = writer_poll;
	ck_assert_int_eq(ex_spawn(&writer_state.fut, NULL, "sigterm-writer", NULL),
			 0); /* detached */
	EX_AWAIT(&r->a, cx, &ex_poll_fd(&r->io, sw.first_written_efd, POLLIN)->base);
	ck_assert_int_gt(EX_AWAITED(&r->a), 0);
	ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
	EX_AWAIT(&r->a, cx,
		 &ex_cancelled(&r->c, ex_runtime_shutdown_token(ex_runtime_current()))->base);
	ck_assert(!atomic_load(&sw.writer_done));
	ck_assert_int_eq(eventfd_write(sw.root_returns_efd, 1), 0);
	EX_END(&r->a, f, 7);
}

START_TEST(sigterm_detached_write_completes)
{
	char path[] = "/tmp/execd-test-detach-XXXXXX";
	sw.file_fd = mkstemp(path);
	ck_assert_int_ge(sw.file_fd, 0);
	unlink(path);
	sw.first_written_efd = eventfd(0, EFD_CLOEXEC);
	sw.root_returns_efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(sw.first_written_efd, 0);
	ck_assert_int_ge(sw.root_returns_efd, 0);

	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = 2;
	c.handle_signals =
		true; /* SIGTERM reaches the shutdown token, as with ex_main(NULL, ...) */
	c.detach_grace_ns = (uint64_t)RT_TIMEOUT_S * 1000000000ull; /* a hang fails, not a race */
	static struct sigterm_root root = { .fut.poll = sigterm_root_poll };
	ck_assert_int_eq(ex_main(&c, &root.fut), 7);

	ck_assert(atomic_load(&sw.writer_done));
	struct stat st;
	ck_assert_int_eq(fstat(sw.file_fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)NCHUNKS * CHUNK);
	char want[CHUNK], got[CHUNK];
	for (int i = 0; i < NCHUNKS; i++) {
		fill_chunk(want, i);
		ck_assert_int_eq(pread(sw.file_fd, got, CHUNK, (off_t)i * CHUNK), CHUNK);
		ck_assert(memcmp(want, got, CHUNK) == 0);
	}
	close(sw.file_fd);
	close(sw.first_written_efd);
	close(sw.root_returns_efd);
}
END_TEST

/*
 * A detached task that never finishes: ex_main returns once the (small) shutdown deadline has
 * passed, and the log names the straggler.
 */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[8192];

static void capture_log(int prio, const char *msg, void *arg)
{
	(void)prio;
	(void)arg;
	pthread_mutex_lock(&log_lock);
	size_t len = strlen(log_text);
	snprintf(log_text + len, sizeof(log_text) - len, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

struct stuck {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
};

static struct stuck stuck_state;
static int never_efd; /* never written: the stuck task waits forever */
static int stuck_started_efd;

static ex_poll_t stuck_poll(struct ex_future *f, struct ex_context *cx)
{
	struct stuck *s = ex_container_of(f, struct stuck, fut);
	EX_BEGIN(&s->a);
	ck_assert_int_eq(eventfd_write(stuck_started_efd, 1), 0);
	EX_AWAIT(&s->a, cx, &ex_poll_fd(&s->io, never_efd, POLLIN)->base);
	EX_END(&s->a, f, 0);
}

struct stuck_root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
};

static ex_poll_t stuck_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct stuck_root *r = ex_container_of(f, struct stuck_root, fut);
	EX_BEGIN(&r->a);
	stuck_state.fut.poll = stuck_poll;
	ck_assert_int_eq(ex_spawn(&stuck_state.fut, NULL, "stuck-detached", NULL), 0);
	/* return only once the stuck task is in the middle of its work */
	EX_AWAIT(&r->a, cx, &ex_poll_fd(&r->io, stuck_started_efd, POLLIN)->base);
	EX_END(&r->a, f, 5);
}

START_TEST(stuck_detached_task_is_named)
{
	never_efd = eventfd(0, EFD_CLOEXEC);
	stuck_started_efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(never_efd, 0);
	ck_assert_int_ge(stuck_started_efd, 0);
	struct ex_runtime_config c = ex_runtime_config_default();
	c.workers = 2;
	c.detach_grace_ns = 20 * 1000 * 1000; /* 20 ms shutdown deadline */
	c.log = capture_log;
	static struct stuck_root root = { .fut.poll = stuck_root_poll };
	ck_assert_int_eq(ex_main(&c, &root.fut), 5);
	pthread_mutex_lock(&log_lock);
	ck_assert_msg(strstr(log_text, "shutdown deadline") != NULL, "log: %s", log_text);
	ck_assert_msg(strstr(log_text, "\"stuck-detached\"") != NULL,
		      "straggler not named; log: %s", log_text);
	pthread_mutex_unlock(&log_lock);
	close(never_efd);
	close(stuck_started_efd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("detach");
	TCase *tc = tcase_create("detach");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, detached_finish_after_root);
	tcase_add_test(tc, ex_main_exit_codes);
	tcase_add_test(tc, sigterm_detached_write_completes);
	tcase_add_test(tc, stuck_detached_task_is_named);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
