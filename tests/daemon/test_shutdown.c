/* SPDX-License-Identifier: MIT */
/*
 * tests/daemon/test_shutdown.c — the daemon's ordered shutdown (daemon/shutdown.c) on the real
 * runtime: the listener, then requests, then timeline tasks, then tenant tasks, then the rest,
 * each step only after the previous one ended; a task that ignores cancellation makes it report
 * a straggler (non-zero) without holding back the later steps; nothing new may start.
 * Order is checked with a sequence counter, never with time.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <executor/async.h>
#include <executor/runtime.h>
#include <executor/task.h>
#include <executor/time.h>

#include "shutdown.h"
#include "task_mgr.h"

static struct execd_id A = { { 0xa } }, T1 = { { 0, 1 } }, T2 = { { 0, 2 } };

static atomic_int seq;
enum { LISTENER, REQUEST, TL1, TL2, TENANT, OTHER, STUCK, N_TASKS };
static int cancelled_at[N_TASKS], ended_at[N_TASKS];

/* a gate that a stuck task waits on, ignoring cancellation */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static bool gate_open;
static struct ex_waker gate_waker;

struct gate_wait {
	struct ex_future fut;
};

static ex_poll_t gate_poll(struct ex_future *f, struct ex_context *cx)
{
	ex_poll_t r = EX_READY;
	pthread_mutex_lock(&gate_lock);
	if (!gate_open) {
		ex_waker_store(&gate_waker, cx->waker);
		r = EX_PENDING;
	}
	pthread_mutex_unlock(&gate_lock);
	f->output = 0;
	return r;
}

static void open_gate(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	ex_waker_wake(&gate_waker);
	pthread_mutex_unlock(&gate_lock);
}

struct t {
	struct ex_future fut;
	struct ex_async a;
	int slot;
	struct task_mgr_watcher w;
	struct gate_wait g;
};

static ex_poll_t t_poll(struct ex_future *f, struct ex_context *cx)
{
	struct t *t = ex_container_of(f, struct t, fut);
	EX_BEGIN(&t->a);
	if (t->slot == STUCK) {
		t->g.fut.poll = gate_poll;
		EX_AWAIT(&t->a, cx, &t->g.fut);
	} else {
		EX_AWAIT(&t->a, cx, &task_mgr_shutdown_watcher(&t->w)->base);
		cancelled_at[t->slot] = atomic_fetch_add(&seq, 1) + 1;
	}
	ended_at[t->slot] = atomic_fetch_add(&seq, 1) + 1;
	EX_END(&t->a, f, 0);
}

static void t_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct t, fut));
}

static void spawn(int slot, enum task_kind kind, const struct execd_id *ten,
		  const struct execd_id *tl)
{
	struct t *t = calloc(1, sizeof *t);
	t->fut.poll = t_poll;
	t->slot = slot;
	ck_assert_int_eq(task_mgr_spawn(kind, ten, tl, "t", false, &t->fut, t_drop, NULL), 0);
}

struct root {
	struct ex_future fut;
	struct ex_async a;
	bool with_stuck;
	struct daemon_shutdown sd;
	int64_t out;
	int late_spawn;
	size_t left;
};

static void noop_drop(struct ex_future *f)
{
	(void)f;
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *r = ex_container_of(f, struct root, fut);
	static struct ex_future never;
	EX_BEGIN(&r->a);
	/* spawned in reverse order of shutdown, so registration order cannot explain the result */
	spawn(OTHER, TASK_KIND_STATUS, NULL, NULL);
	spawn(TENANT, TASK_KIND_TENANT_MANAGER, &A, NULL);
	spawn(TL2, TASK_KIND_WAL_FLUSH, &A, &T2);
	spawn(TL1, TASK_KIND_WAL_RECEIVER, &A, &T1);
	if (r->with_stuck)
		spawn(STUCK, TASK_KIND_WAL_RECEIVER, &A, &T2);
	spawn(REQUEST, TASK_KIND_CONTROL_REQUEST, NULL, NULL);
	spawn(LISTENER, TASK_KIND_CONTROL_LISTENER, NULL, NULL);
	EX_AWAIT(
		&r->a, cx,
		daemon_shutdown(&r->sd, ex_now_ns() + (r->with_stuck ? 5000 : 60000) * 1000000ull));
	r->out = EX_AWAITED(&r->a);
	r->left = task_mgr_count(NULL);
	r->late_spawn = task_mgr_spawn(TASK_KIND_OTHER, NULL, NULL, "late", false, &never,
				       noop_drop, NULL);
	if (r->with_stuck)
		open_gate(); /* let it end so that the runtime can be freed */
	EX_END(&r->a, f, 0);
}

static void run(struct root *r)
{
	struct ex_runtime *rt;
	struct ex_runtime_config cfg = ex_runtime_config_default();
	struct ex_cancel_token *root;
	int64_t out;
	cfg.workers = 2;
	cfg.detach_grace_ns = 10ull * 1000 * 1000 * 1000;
	ck_assert_int_eq(ex_runtime_new(&cfg, &rt), 0);
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	ck_assert_int_eq(task_mgr_init(root, NULL), 0);
	r->fut.poll = root_poll;
	ck_assert_int_eq(ex_runtime_block_on(rt, &r->fut, &out), 0);
	ex_runtime_free(rt);
	task_mgr_fini();
	ex_cancel_token_unref(root);
}

static void assert_before(int a_end, int b_cancel)
{
	ck_assert_int_gt(a_end, 0);
	ck_assert_int_gt(b_cancel, 0);
	ck_assert_int_lt(a_end, b_cancel);
}

START_TEST(ordered)
{
	struct root r = { 0 };
	run(&r);
	ck_assert_int_eq(r.out, 0);
	ck_assert_uint_eq(r.left, 0);
	ck_assert_int_eq(r.late_spawn, -ESHUTDOWN);
	assert_before(ended_at[LISTENER], cancelled_at[REQUEST]);
	assert_before(ended_at[REQUEST], cancelled_at[TL1]);
	assert_before(ended_at[REQUEST], cancelled_at[TL2]);
	assert_before(ended_at[TL1], cancelled_at[TENANT]);
	assert_before(ended_at[TL2], cancelled_at[TENANT]);
	assert_before(ended_at[TENANT], cancelled_at[OTHER]);
}
END_TEST

START_TEST(stuck_task)
{
	struct root r = { .with_stuck = true };
	run(&r);
	ck_assert_int_eq(r.out, 1); /* only the stuck task is reported */
	ck_assert_uint_eq(r.left, 1);
	ck_assert_int_eq(r.late_spawn, -ESHUTDOWN);
	/* the later steps still ran, and their tasks ended */
	ck_assert_int_gt(ended_at[TENANT], 0);
	ck_assert_int_gt(ended_at[OTHER], 0);
	assert_before(ended_at[TL1], cancelled_at[TENANT]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shutdown");
	TCase *tc = tcase_create("shutdown");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ordered);
	tcase_add_test(tc, stuck_task);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
