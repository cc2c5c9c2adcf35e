/* SPDX-License-Identifier: MIT */
/*
 * Fairness on one worker: two tasks that wake each other forever (each wake goes to the worker's
 * LIFO slot) must not starve a third task in the run queue, nor a task woken from another thread
 * (injection queue). The third task ends the ping-pong; if it never ran, the test times out.
 * And a worker whose queue never empties (yielding tasks) still submits and reaps I/O.
 */
#include <fcntl.h>
#include <unistd.h>

#include <executor/io.h>

#include "rt_test.h"

struct pinger {
	struct ex_future fut;
	pthread_mutex_t lock;
	struct ex_waker mine;
	struct pinger *peer;
	_Atomic bool *stop;
	uint64_t polls;
};

static ex_poll_t pinger_poll(struct ex_future *f, struct ex_context *cx)
{
	struct pinger *p = ex_container_of(f, struct pinger, fut);
	p->polls++;
	if (atomic_load(p->stop)) {
		f->output = 0;
		return EX_READY;
	}
	pthread_mutex_lock(&p->lock);
	ex_waker_store(&p->mine, cx->waker);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->peer->lock);
	struct ex_waker w = p->peer->mine;
	p->peer->mine = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&p->peer->lock);
	ex_waker_wake(&w);
	return EX_PENDING;
}

static void pinger_finish(struct pinger *p)
{
	pthread_mutex_lock(&p->lock);
	struct ex_waker w = p->mine;
	p->mine = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&p->lock);
	ex_waker_wake(&w);
}

struct stopper {
	struct ex_future fut;
	struct pinger *a, *b;
};

static ex_poll_t stopper_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	struct stopper *s = ex_container_of(f, struct stopper, fut);
	atomic_store(s->a->stop, true);
	/* the ping-pong may have stalled with both waiting: wake both so they see the stop */
	pinger_finish(s->a);
	pinger_finish(s->b);
	f->output = 1;
	return EX_READY;
}

struct root {
	struct ex_future fut;
	struct ex_async a;
	struct pinger p[2];
	struct stopper st;
	struct ex_join_handle h[3];
	struct ex_join j;
	int i;
	_Atomic bool stop;
	bool from_thread;
};

static struct ex_runtime *the_rt;

static void *thread_spawn(void *arg)
{
	struct root *s = arg;
	ck_assert_int_eq(ex_spawn_on(the_rt, &s->st.fut, NULL, "stopper", &s->h[2]), 0);
	return NULL;
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *s = ex_container_of(f, struct root, fut);
	EX_BEGIN(&s->a);
	for (s->i = 0; s->i < 2; s->i++) {
		s->p[s->i].fut.poll = pinger_poll;
		pthread_mutex_init(&s->p[s->i].lock, NULL);
		s->p[s->i].peer = &s->p[1 - s->i];
		s->p[s->i].stop = &s->stop;
		ck_assert_int_eq(ex_spawn(&s->p[s->i].fut, NULL, "pinger", &s->h[s->i]), 0);
	}
	s->st.fut.poll = stopper_poll;
	s->st.a = &s->p[0];
	s->st.b = &s->p[1];
	if (s->from_thread) {
		/* spawned from a plain thread: through the injection queue */
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, thread_spawn, s), 0);
		pthread_join(
			th, NULL); /* a short, bounded block of this poll: only to order the test */
	} else {
		ck_assert_int_eq(ex_spawn(&s->st.fut, NULL, "stopper", &s->h[2]), 0);
	}
	for (s->i = 0; s->i < 3; s->i++)
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h[s->i])->base);
	EX_END(&s->a, f, 0);
}

static void run(bool from_thread)
{
	struct root *root = calloc(1, sizeof(*root));
	root->fut.poll = root_poll;
	root->from_thread = from_thread;
	the_rt = rt_make(1, NULL);
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(the_rt, &root->fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ex_runtime_free(the_rt);
	ck_assert(atomic_load(&root->stop));
	for (int i = 0; i < 2; i++)
		pthread_mutex_destroy(&root->p[i].lock);
	free(root);
}

START_TEST(lifo_ping_pong_does_not_starve_the_queue)
{
	run(false);
}
END_TEST

START_TEST(lifo_ping_pong_does_not_starve_injected)
{
	run(true);
}
END_TEST

/*
 * A worker whose queue never runs empty, full of tasks that yield, must still submit a pipe read
 * one of its tasks started and reap its completion: the read's task then stops the yields. The
 * worker batches submissions until it is idle and reaps between polls only into room in its queue
 * (worker.c), so both need the fairness tick here; starved, the read never completes and the test
 * times out. More yielders than the queue holds, so that it stays full and spills.
 */
enum { YIELDERS = 600 };

struct yielder {
	struct ex_future fut;
	_Atomic bool *stop;
};

static ex_poll_t yielder_poll(struct ex_future *f, struct ex_context *cx)
{
	struct yielder *y = ex_container_of(f, struct yielder, fut);
	if (atomic_load(y->stop)) {
		f->output = 0;
		return EX_READY;
	}
	ex_waker_wake_by_ref(cx->waker);
	return EX_PENDING;
}

struct flood {
	struct ex_future fut;
	struct ex_async a;
	struct yielder y[YIELDERS];
	struct ex_io io;
	int pipe[2];
	char c;
	_Atomic bool stop;
	pthread_t writer;
};

/* Writes the byte the read waits for once the yielders have started (a plain thread: the
 * completion reaches the worker through its ring, nothing else). */
static void *flood_write(void *arg)
{
	struct flood *fl = arg;
	ck_assert_int_eq(write(fl->pipe[1], "x", 1), 1);
	return NULL;
}

static ex_poll_t flood_poll(struct ex_future *f, struct ex_context *cx)
{
	struct flood *fl = ex_container_of(f, struct flood, fut);
	EX_BEGIN(&fl->a);
	for (int i = 0; i < YIELDERS; i++) {
		fl->y[i].fut.poll = yielder_poll;
		fl->y[i].stop = &fl->stop;
		ck_assert_int_eq(ex_spawn(&fl->y[i].fut, NULL, "yielder", NULL), 0);
	}
	ck_assert_int_eq(pthread_create(&fl->writer, NULL, flood_write, fl), 0);
	EX_AWAIT(&fl->a, cx, ex_read(&fl->io, fl->pipe[0], &fl->c, 1, -1));
	ck_assert_int_eq(EX_AWAITED(&fl->a), 1);
	atomic_store(&fl->stop, true);
	EX_END(&fl->a, f, fl->c);
}

START_TEST(yielders_do_not_starve_io)
{
	struct flood *fl = calloc(1, sizeof(*fl));
	ck_assert_ptr_nonnull(fl);
	fl->fut.poll = flood_poll;
	ck_assert_int_eq(pipe2(fl->pipe, O_CLOEXEC), 0);
	struct ex_runtime *rt = rt_make(1, NULL);
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &fl->fut, &out), 0);
	ck_assert_int_eq(out, 'x');
	ex_runtime_free(rt); /* the yielders see the stop and end */
	pthread_join(fl->writer, NULL);
	close(fl->pipe[0]);
	close(fl->pipe[1]);
	free(fl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fairness");
	TCase *tc = tcase_create("fairness");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, lifo_ping_pong_does_not_starve_the_queue);
	tcase_add_test(tc, lifo_ping_pong_does_not_starve_injected);
	tcase_add_test(tc, yielders_do_not_starve_io);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
