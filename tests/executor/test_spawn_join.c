/* SPDX-License-Identifier: MIT */
/*
 * 100k tasks spawned and joined with the right outputs; each task yields once so that it really
 * goes through a wake and a second poll. Also: task ids, names and introspection, which sees the
 * spawn batches of workers.
 */
#include "rt_test.h"

#define NTASKS 100000

static _Atomic uint64_t dropped;

struct child {
	struct ex_future fut;
	struct ex_async a;
	int64_t n;
};

static ex_poll_t child_poll(struct ex_future *f, struct ex_context *cx)
{
	struct child *c = ex_container_of(f, struct child, fut);
	EX_BEGIN(&c->a);
	ck_assert_uint_ne(ex_task_current_id(), 0);
	EX_YIELD(&c->a, cx);
	EX_END(&c->a, f, c->n * 3);
}

static void child_drop(struct ex_future *f)
{
	atomic_fetch_add(&dropped, 1);
	free(ex_container_of(f, struct child, fut));
}

struct root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_join_handle *h;
	struct ex_join j;
	int i;
	int64_t sum;
};

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *s = ex_container_of(f, struct root, fut);
	EX_BEGIN(&s->a);
	for (s->i = 0; s->i < NTASKS; s->i++) {
		struct child *c = calloc(1, sizeof(*c));
		ck_assert_ptr_nonnull(c);
		c->fut.poll = child_poll;
		c->n = s->i;
		int r = ex_spawn(&c->fut, child_drop, "child", &s->h[s->i]);
		ck_assert_int_eq(r, 0);
		ck_assert_uint_ne(ex_join_handle_id(&s->h[s->i]), 0);
	}
	for (s->i = 0; s->i < NTASKS; s->i++) {
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h[s->i])->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), (int64_t)s->i * 3);
		ck_assert_ptr_null(s->h[s->i].task); /* the join consumed the handle */
		s->sum += EX_AWAITED(&s->a);
	}
	EX_END(&s->a, f, s->sum);
}

START_TEST(hundred_thousand_tasks)
{
	atomic_store(&dropped, 0);
	struct root root = { .fut.poll = root_poll };
	root.h = calloc(NTASKS, sizeof(*root.h));
	int64_t out = rt_run(2, &root.fut);
	int64_t want = 3 * ((int64_t)NTASKS * (NTASKS - 1) / 2);
	ck_assert_int_eq(out, want);
	ck_assert_uint_eq(atomic_load(&dropped), NTASKS);
	free(root.h);
}
END_TEST

/* Introspection: a task parked on a gate is visible as idle with its name and poll count. */
struct gate {
	struct ex_future fut;
	pthread_mutex_t lock;
	struct ex_waker w;
	bool open;
};

static ex_poll_t gate_poll(struct ex_future *f, struct ex_context *cx)
{
	struct gate *g = ex_container_of(f, struct gate, fut);
	pthread_mutex_lock(&g->lock);
	bool open = g->open;
	if (!open)
		ex_waker_store(&g->w, cx->waker);
	pthread_mutex_unlock(&g->lock);
	f->output = 7;
	return open ? EX_READY : EX_PENDING;
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	struct ex_waker w = g->w;
	g->w = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&g->lock);
	ex_waker_wake(&w);
}

static int count_cb(const struct ex_task_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

struct iroot {
	struct ex_future fut;
	struct ex_async a;
	struct gate g;
	struct ex_join_handle h;
	struct ex_join j;
	struct ex_task_info info;
};

static ex_poll_t iroot_poll(struct ex_future *f, struct ex_context *cx)
{
	struct iroot *s = ex_container_of(f, struct iroot, fut);
	struct ex_runtime *rt = ex_runtime_current();
	EX_BEGIN(&s->a);
	ck_assert_int_eq(
		ex_spawn(&s->g.fut, NULL, "a-rather-long-task-name-that-is-truncated", &s->h), 0);
	/* wait (yielding) until the gate task parked */
	for (;;) {
		ck_assert_int_eq(ex_task_info_by_id(rt, ex_join_handle_id(&s->h), &s->info), 0);
		if (s->info.state == EX_TASK_IDLE)
			break;
		EX_YIELD(&s->a, cx);
	}
	ck_assert_str_eq(s->info.name, "a-rather-long-task-name-that-is");
	ck_assert_uint_eq(s->info.polls, 1);
	ck_assert_str_eq(ex_task_state_name(s->info.state), "idle");
	ck_assert_uint_gt(s->info.spawn_ns, 0);
	ck_assert(!ex_join_handle_is_finished(&s->h));
	/* me and the gate task */
	int n = 0;
	ck_assert_int_eq(ex_runtime_foreach_task(rt, count_cb, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(ex_task_info_by_id(rt, ex_task_current_id(), &s->info), 0);
	ck_assert_str_eq(s->info.name, "ex:root");
	ck_assert_int_eq(s->info.state, EX_TASK_RUNNING);
	gate_open(&s->g);
	EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h)->base);
	ck_assert_int_eq(EX_AWAITED(&s->a), 7);
	EX_END(&s->a, f, 0);
}

START_TEST(introspection)
{
	ck_assert_uint_eq(ex_task_current_id(), 0);
	ck_assert_ptr_null(ex_runtime_current());
	struct iroot root = { .fut.poll = iroot_poll };
	root.g.fut.poll = gate_poll;
	pthread_mutex_init(&root.g.lock, NULL);
	struct ex_runtime *rt = rt_make(2, NULL);
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &root.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(ex_task_info_by_id(rt, 999999999, &root.info), -ENOENT);
	/* The last worker-side reference of the root may still be dropping: wait (bounded). */
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	for (;;) {
		int n = 0;
		ck_assert_int_eq(ex_runtime_foreach_task(rt, count_cb, &n), 0);
		if (n == 0)
			break;
		ck_assert_msg(rt_now_ns() < deadline, "%d tasks left", n);
		sched_yield();
	}
	ex_runtime_free(rt);
	pthread_mutex_destroy(&root.g.lock);
}
END_TEST

/*
 * Registry batches: a worker links its spawns into the registry in batches (task.c, "The spawn
 * batch"). Introspection must still see every live task: from the spawning poll itself, and from
 * another thread while the spawner is still inside that poll (a reader links the batch); once
 * the tasks are joined, none is left behind.
 */
#define BATCH_TASKS 1000 /* not a multiple of the batch size: a part batch stays behind */
#define BATCH_MORE 5     /* spawned after the first look, found by the other thread */

static ex_poll_t done_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	f->output = 1;
	return EX_READY;
}

struct batch_root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_runtime *rt;
	struct ex_future kids[BATCH_TASKS + BATCH_MORE];
	struct ex_join_handle h[BATCH_TASKS + BATCH_MORE];
	struct ex_join j;
	struct ex_task_info info;
	int i;
	/* The other thread: looks up ids[] when asked (ask = 1), answers found (ask = 2), and walks
	 * the registry over and over meanwhile (so that ThreadSanitizer sees readers race spawns). */
	uint64_t ids[BATCH_MORE];
	int found;
	_Atomic int ask;
	_Atomic bool stop;
};

static void *batch_reader(void *arg)
{
	struct batch_root *r = arg;
	struct ex_task_info info;
	while (!atomic_load(&r->stop)) {
		if (atomic_load(&r->ask) == 1) {
			r->found = 0;
			for (int k = 0; k < BATCH_MORE; k++)
				if (ex_task_info_by_id(r->rt, r->ids[k], &info) == 0 &&
				    info.id == r->ids[k])
					r->found++;
			atomic_store(&r->ask, 2);
		}
		int n = 0;
		ck_assert_int_eq(ex_runtime_foreach_task(r->rt, count_cb, &n), 0);
		sched_yield();
	}
	return NULL;
}

static void batch_spawn(struct batch_root *r, int from, int to)
{
	for (int k = from; k < to; k++) {
		r->kids[k].poll = done_poll;
		ck_assert_int_eq(ex_spawn(&r->kids[k], NULL, NULL, &r->h[k]), 0);
	}
}

static ex_poll_t batch_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct batch_root *r = ex_container_of(f, struct batch_root, fut);
	EX_BEGIN(&r->a);
	/* One poll: spawn, look from here, spawn more, have the other thread look. */
	batch_spawn(r, 0, BATCH_TASKS);
	int n = 0;
	ck_assert_int_eq(ex_runtime_foreach_task(r->rt, count_cb, &n), 0);
	ck_assert_int_eq(n, BATCH_TASKS + 1); /* the root and every child, done or not */
	for (int k = 0; k < BATCH_TASKS; k++)
		ck_assert_int_eq(ex_task_info_by_id(r->rt, ex_join_handle_id(&r->h[k]), &r->info),
				 0);
	batch_spawn(r, BATCH_TASKS, BATCH_TASKS + BATCH_MORE);
	for (int k = 0; k < BATCH_MORE; k++)
		r->ids[k] = ex_join_handle_id(&r->h[BATCH_TASKS + k]);
	atomic_store(&r->ask, 1);
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (atomic_load(&r->ask) != 2) {
		ck_assert_msg(rt_now_ns() < deadline, "the reader thread did not answer");
		sched_yield();
	}
	ck_assert_int_eq(r->found, BATCH_MORE);

	for (r->i = 0; r->i < BATCH_TASKS + BATCH_MORE; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		ck_assert_int_eq(EX_AWAITED(&r->a), 1);
	}
	/* Joined: only the root is left (a completing worker may still drop its last reference). */
	for (;;) {
		n = 0;
		ck_assert_int_eq(ex_runtime_foreach_task(r->rt, count_cb, &n), 0);
		if (n == 1)
			break;
		ck_assert_msg(n > 1, "%d tasks listed, the root at least is live", n);
		EX_YIELD(&r->a, cx);
	}
	EX_END(&r->a, f, 0);
}

START_TEST(registry_batches)
{
	struct batch_root *r = calloc(1, sizeof(*r));
	ck_assert_ptr_nonnull(r);
	r->fut.poll = batch_root_poll;
	r->rt = rt_make(2, NULL);
	pthread_t reader;
	ck_assert_int_eq(pthread_create(&reader, NULL, batch_reader, r), 0);
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(r->rt, &r->fut, &out), 0);
	ck_assert_int_eq(out, 0);
	atomic_store(&r->stop, true);
	pthread_join(reader, NULL);
	ex_runtime_free(r->rt);
	free(r);
}
END_TEST

START_TEST(spawn_errors)
{
	struct ex_ready r;
	struct ex_join_handle h = { (struct ex_task *)&h };
	/* no current runtime */
	ck_assert_int_eq(ex_spawn(&ex_ready(&r, 1)->base, NULL, "x", &h), -ESRCH);
	ck_assert_ptr_null(h.task);
	struct ex_runtime *rt = rt_make(1, NULL);
	ck_assert_int_eq(ex_spawn_on(rt, NULL, NULL, "x", &h), -EINVAL);
	/* from a thread outside the runtime, then joined from block_on's root */
	ck_assert_int_eq(ex_spawn_on(rt, &ex_ready(&r, 5)->base, NULL, "outside", &h), 0);
	struct ex_join j;
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &ex_join(&j, &h)->base, &out), 0);
	ck_assert_int_eq(out, 5);
	/* a join on an empty handle */
	ck_assert_int_eq(ex_runtime_block_on(rt, &ex_join(&j, &h)->base, &out), 0);
	ck_assert_int_eq(out, -EINVAL);
	ex_runtime_free(rt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spawn_join");
	TCase *tc = tcase_create("spawn");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, hundred_thousand_tasks);
	tcase_add_test(tc, introspection);
	tcase_add_test(tc, registry_batches);
	tcase_add_test(tc, spawn_errors);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
