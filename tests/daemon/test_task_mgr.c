/* SPDX-License-Identifier: MIT */
/*
 * tests/daemon/test_task_mgr.c — task_mgr on the real runtime: filtering, sticky shutdown,
 * parallel wait, the deadline with a task that ignores cancellation, identity inside a task,
 * critical failure. Results are recorded inside the runtime and asserted in the test thread.
 * No sleeps, no timing asserted: the only deadline used is one that a stuck task must exceed.
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

#include "task_mgr.h"

static struct execd_id A = { { 0xa } }, B = { { 0xb } }, T1 = { { 0, 1 } }, T2 = { { 0, 2 } },
		       T3 = { { 0, 3 } }, T8 = { { 0, 8 } }, T9 = { { 0, 9 } };

/* ---- a gate: tasks wait until it opens (ignoring cancellation) ---- */
struct gate {
	pthread_mutex_t lock;
	bool open;
	struct ex_waker w[64];
	int n;
};
static struct gate gate = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	for (int i = 0; i < g->n; i++)
		ex_waker_wake(&g->w[i]);
	g->n = 0;
	pthread_mutex_unlock(&g->lock);
}

struct gate_wait {
	struct ex_future fut;
	struct gate *g;
};

static ex_poll_t gate_wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct gate_wait *w = ex_container_of(f, struct gate_wait, fut);
	ex_poll_t r = EX_READY;
	pthread_mutex_lock(&w->g->lock);
	if (!w->g->open) {
		ck_assert_int_lt(w->g->n, 64);
		w->g->w[w->g->n++] = ex_waker_clone(cx->waker);
		r = EX_PENDING;
	}
	pthread_mutex_unlock(&w->g->lock);
	f->output = 0;
	return r;
}

static struct ex_future *gate_wait(struct gate_wait *w, struct gate *g)
{
	w->fut.poll = gate_wait_poll;
	w->g = g;
	return &w->fut;
}

/* ---- task bodies ---- */
static atomic_int bad;     /* identity / shutdown-flag mismatches seen inside tasks */
static atomic_int dropped; /* futures handed back through drop */
static atomic_int arrived; /* barrier tasks that saw cancellation */
static int n_barrier;

enum body { WAITER, STUBBORN, BARRIER, FAIL };

struct t {
	struct ex_future fut;
	struct ex_async a;
	enum body body;
	enum task_kind kind;
	struct task_mgr_watcher w;
	struct gate_wait gw;
};

static ex_poll_t t_poll(struct ex_future *f, struct ex_context *cx)
{
	struct t *t = ex_container_of(f, struct t, fut);
	struct task_identity id;
	EX_BEGIN(&t->a);
	if (!task_mgr_current_identity(&id) || id.kind != t->kind ||
	    task_mgr_current_id() != id.id || !task_mgr_current_token())
		atomic_fetch_add(&bad, 1);
	if (t->body == FAIL)
		EX_RETURN(&t->a, f, -EIO);
	if (t->body == STUBBORN) {
		EX_AWAIT(&t->a, cx, gate_wait(&t->gw, &gate)); /* ignores cancellation */
		EX_RETURN(&t->a, f, 0);
	}
	EX_AWAIT(&t->a, cx, &task_mgr_shutdown_watcher(&t->w)->base);
	if (!task_mgr_is_shutdown_requested())
		atomic_fetch_add(&bad, 1);
	if (t->body == BARRIER) {
		/* ends only once every barrier task was cancelled: a shutdown that cancelled and
		 * awaited tasks one by one would never see the first one end */
		if (atomic_fetch_add(&arrived, 1) + 1 == n_barrier)
			gate_open(&gate);
		EX_AWAIT(&t->a, cx, gate_wait(&t->gw, &gate));
	}
	EX_END(&t->a, f, 0);
}

static void t_drop(struct ex_future *f)
{
	atomic_fetch_add(&dropped, 1);
	free(ex_container_of(f, struct t, fut));
}

static int spawn(enum body body, enum task_kind kind, const struct execd_id *ten,
		 const struct execd_id *tl, const char *name, bool critical)
{
	struct t *t = calloc(1, sizeof *t);
	t->fut.poll = t_poll;
	t->body = body;
	t->kind = kind;
	return task_mgr_spawn(kind, ten, tl, name, critical, &t->fut, t_drop, NULL);
}

/* ---- running a scenario on a runtime ---- */
struct scenario {
	struct ex_future fut;
	struct ex_async a;
	struct task_mgr_shutdown sd;
	struct task_mgr_filter f;
	int step;
	void (*run_sync)(struct scenario *s, int step); /* synchronous part of each step */
	int64_t out[8];
	size_t ended[8], remaining[8];
	uint64_t ended_min_polls[8]; /* the fewest polls reported for a task among the ended */
	char stuck_name[48];
	int spawn_rc[16];
	size_t counts[16];
	uint64_t deadline_ms[8];
};

static int critical_err;
static void on_critical(int err, uint64_t id)
{
	(void)id;
	critical_err = err;
}

static void run_scenario(struct scenario *s,
			 ex_poll_t (*poll)(struct ex_future *, struct ex_context *))
{
	struct ex_runtime *rt;
	struct ex_runtime_config cfg = ex_runtime_config_default();
	struct ex_cancel_token *root;
	int64_t out = -1;
	cfg.workers = 2;
	ck_assert_int_eq(ex_runtime_new(&cfg, &rt), 0);
	ck_assert_int_eq(ex_cancel_token_new(&root), 0);
	ck_assert_int_eq(task_mgr_init(root, on_critical), 0);
	s->fut.poll = poll;
	ck_assert_int_eq(ex_runtime_block_on(rt, &s->fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ex_runtime_free(rt);
	task_mgr_fini();
	ex_cancel_token_unref(root);
	ck_assert_int_eq(atomic_load(&bad), 0);
}

#define SHUTDOWN(s, i, filter, timeout_ms)                                                \
	do {                                                                              \
		EX_AWAIT(&(s)->a, cx,                                                     \
			 task_mgr_shutdown_tasks(&(s)->sd, (filter), EX_CANCEL_SHUTDOWN,  \
						 ex_now_ns() + (timeout_ms)*1000000ull)); \
		(s)->out[i] = EX_AWAITED(&(s)->a);                                        \
		(s)->ended[i] = (s)->sd.n_ended;                                          \
		(s)->remaining[i] = (s)->sd.n_remaining;                                  \
		(s)->ended_min_polls[i] = UINT64_MAX;                                     \
		for (size_t k_ = 0; k_ < (s)->sd.n_ended; k_++)                           \
			if ((s)->sd.ended[k_].polls < (s)->ended_min_polls[i])            \
				(s)->ended_min_polls[i] = (s)->sd.ended[k_].polls;        \
		if ((s)->sd.n_remaining)                                                  \
			strcpy((s)->stuck_name, (s)->sd.remaining[0].ident.name);         \
		task_mgr_shutdown_clear(&(s)->sd);                                        \
	} while (0)

/* ---- filtering ---- */
static ex_poll_t filter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	EX_BEGIN(&s->a);
	s->spawn_rc[0] = spawn(WAITER, TASK_KIND_OTHER, NULL, NULL, "plain", false);
	s->spawn_rc[1] = spawn(WAITER, TASK_KIND_TENANT_MANAGER, &A, NULL, "tm", false);
	s->spawn_rc[2] = spawn(WAITER, TASK_KIND_WAL_RECEIVER, &A, &T1, "walrecv", false);
	s->spawn_rc[3] = spawn(WAITER, TASK_KIND_WAL_FLUSH, &A, &T2, "flush", false);
	s->spawn_rc[4] = spawn(WAITER, TASK_KIND_RETENTION_GC, &B, &T3, "gc", false);
	s->counts[0] = task_mgr_count(&(struct task_mgr_filter){ .tenant = &A });
	s->counts[1] = task_mgr_count(&(struct task_mgr_filter){ .timeline = &T1 });
	s->counts[2] = task_mgr_count(
		&(struct task_mgr_filter){ .has_kind = true, .kind = TASK_KIND_WAL_FLUSH });
	s->counts[3] = task_mgr_count(&(struct task_mgr_filter){ .with_timeline = true });
	s->counts[4] = task_mgr_count(&(struct task_mgr_filter){ .with_tenant = true });
	s->counts[5] = task_mgr_count(NULL);
	s->counts[6] = task_mgr_count(&(struct task_mgr_filter){
		.tenant = &A, .has_kind = true, .kind = TASK_KIND_WAL_RECEIVER });
	{
		struct task_snapshot *snap;
		size_t n;
		s->spawn_rc[5] = task_mgr_list(&(struct task_mgr_filter){ .timeline = &T3 }, &snap,
					       &n);
		s->counts[7] = n;
		if (n == 1 && (snap[0].ident.kind != TASK_KIND_RETENTION_GC ||
			       strcmp(snap[0].ident.name, "gc") || !snap[0].ident.has_tenant ||
			       !execd_id_eq(&snap[0].ident.tenant, &B)))
			atomic_fetch_add(&bad, 1);
		free(snap);
	}
	/* an empty filter is refused rather than meaning "everything" */
	SHUTDOWN(s, 0, &((struct task_mgr_filter){ 0 }), 1000);
	s->f = (struct task_mgr_filter){ .all = true };
	SHUTDOWN(s, 1, &s->f, 30000);
	s->counts[8] = task_mgr_count(NULL);
	EX_END(&s->a, f, 0);
}

START_TEST(filtering)
{
	struct scenario s = { 0 };
	run_scenario(&s, filter_poll);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(s.spawn_rc[i], 0);
	ck_assert_uint_eq(s.counts[0], 3);
	ck_assert_uint_eq(s.counts[1], 1);
	ck_assert_uint_eq(s.counts[2], 1);
	ck_assert_uint_eq(s.counts[3], 3);
	ck_assert_uint_eq(s.counts[4], 4);
	ck_assert_uint_eq(s.counts[5], 5);
	ck_assert_uint_eq(s.counts[6], 1);
	ck_assert_int_eq(s.spawn_rc[5], 0);
	ck_assert_uint_eq(s.counts[7], 1);
	ck_assert_int_eq(s.out[0], -EINVAL);
	ck_assert_int_eq(s.out[1], 0);
	ck_assert_uint_eq(s.ended[1], 5);
	/* an ended task is reported with the executor's statistics as it ended, not zeros */
	ck_assert_uint_ge(s.ended_min_polls[1], 1);
	ck_assert_uint_eq(s.counts[8], 0);
	ck_assert_int_eq(atomic_load(&dropped), 5);
}
END_TEST

/* ---- stickiness ---- */
static ex_poll_t sticky_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	EX_BEGIN(&s->a);
	spawn(WAITER, TASK_KIND_TENANT_MANAGER, &A, NULL, "tm", false);
	spawn(WAITER, TASK_KIND_WAL_RECEIVER, &A, &T1, "walrecv", false);
	s->f = (struct task_mgr_filter){ .tenant = &A };
	SHUTDOWN(s, 0, &s->f, 30000);
	s->spawn_rc[0] = spawn(WAITER, TASK_KIND_OTHER, &A, NULL, "late", false);
	s->spawn_rc[1] = spawn(WAITER, TASK_KIND_WAL_RECEIVER, &A, &T1, "late-tl", false);
	s->spawn_rc[2] = spawn(WAITER, TASK_KIND_OTHER, &B, NULL, "other-tenant", false);
	s->f = (struct task_mgr_filter){ .timeline = &T9 };
	SHUTDOWN(s, 1, &s->f, 30000);
	s->spawn_rc[3] = spawn(WAITER, TASK_KIND_OTHER, &B, &T9, "t9", false);
	s->spawn_rc[4] = spawn(WAITER, TASK_KIND_OTHER, &B, &T8, "t8", false);
	/* a shutdown by kind alone is not sticky */
	s->f = (struct task_mgr_filter){ .has_kind = true, .kind = TASK_KIND_STATUS };
	SHUTDOWN(s, 2, &s->f, 30000);
	s->spawn_rc[5] = spawn(WAITER, TASK_KIND_STATUS, NULL, NULL, "status", false);
	task_mgr_unblock(&A, NULL);
	s->spawn_rc[6] = spawn(WAITER, TASK_KIND_OTHER, &A, NULL, "after-unblock", false);
	s->counts[0] = task_mgr_is_blocked(NULL, &T9);
	task_mgr_block_all();
	s->spawn_rc[7] = spawn(WAITER, TASK_KIND_OTHER, NULL, NULL, "after-block-all", false);
	s->f = (struct task_mgr_filter){ .all = true };
	SHUTDOWN(s, 3, &s->f, 30000);
	EX_END(&s->a, f, 0);
}

START_TEST(sticky)
{
	struct scenario s = { 0 };
	run_scenario(&s, sticky_poll);
	ck_assert_int_eq(s.out[0], 0);
	ck_assert_uint_eq(s.ended[0], 2);
	ck_assert_int_eq(s.spawn_rc[0], -ESHUTDOWN);
	ck_assert_int_eq(s.spawn_rc[1], -ESHUTDOWN);
	ck_assert_int_eq(s.spawn_rc[2], 0);
	ck_assert_int_eq(s.spawn_rc[3], -ESHUTDOWN);
	ck_assert_int_eq(s.spawn_rc[4], 0);
	ck_assert_int_eq(s.spawn_rc[5], 0);
	ck_assert_int_eq(s.spawn_rc[6], 0);
	ck_assert_uint_eq(s.counts[0], 1);
	ck_assert_int_eq(s.spawn_rc[7], -ESHUTDOWN);
	ck_assert_int_eq(s.out[3], 0);
	/* every future came back through drop, refused ones included */
	ck_assert_int_eq(atomic_load(&dropped), 2 + 7 + 1);
}
END_TEST

/* ---- parallel wait ---- */
static ex_poll_t parallel_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	EX_BEGIN(&s->a);
	n_barrier = 16;
	for (int i = 0; i < n_barrier; i++)
		spawn(BARRIER, TASK_KIND_WAL_RECEIVER, &A, &T1, "barrier", false);
	s->f = (struct task_mgr_filter){ .timeline = &T1 };
	SHUTDOWN(s, 0, &s->f, 60000);
	s->counts[0] = task_mgr_count(NULL);
	EX_END(&s->a, f, 0);
}

START_TEST(parallel_wait)
{
	struct scenario s = { 0 };
	run_scenario(&s, parallel_poll);
	ck_assert_int_eq(s.out[0], 0);
	ck_assert_uint_eq(s.ended[0], 16);
	ck_assert_uint_eq(s.remaining[0], 0);
	ck_assert_int_eq(atomic_load(&arrived), 16);
	ck_assert_uint_eq(s.counts[0], 0);
}
END_TEST

/* ---- deadline with a task that ignores cancellation ---- */
static ex_poll_t deadline_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	EX_BEGIN(&s->a);
	spawn(WAITER, TASK_KIND_TENANT_MANAGER, &A, NULL, "good1", false);
	spawn(STUBBORN, TASK_KIND_WAL_RECEIVER, &A, &T1, "stubborn", false);
	spawn(WAITER, TASK_KIND_WAL_FLUSH, &A, &T1, "good2", false);
	s->f = (struct task_mgr_filter){ .tenant = &A };
	/* the stubborn task must outlive this deadline; the good ones must end within it, which
	 * 2 s leaves room for on a loaded machine */
	SHUTDOWN(s, 0, &s->f, 2000);
	s->counts[0] = task_mgr_count(&s->f);
	gate_open(&gate);
	SHUTDOWN(s, 1, &s->f, 60000);
	s->counts[1] = task_mgr_count(&s->f);
	EX_END(&s->a, f, 0);
}

START_TEST(deadline)
{
	struct scenario s = { 0 };
	run_scenario(&s, deadline_poll);
	ck_assert_int_eq(s.out[0], 1);
	ck_assert_uint_eq(s.ended[0], 2);
	ck_assert_uint_eq(s.remaining[0], 1);
	ck_assert_str_eq(s.stuck_name, "stubborn");
	ck_assert_uint_eq(s.counts[0], 1);
	ck_assert_int_eq(s.out[1], 0);
	ck_assert_uint_eq(s.counts[1], 0);
}
END_TEST

/* ---- a critical task's failure reaches the daemon ---- */
static ex_poll_t critical_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	EX_BEGIN(&s->a);
	s->spawn_rc[0] = spawn(FAIL, TASK_KIND_OTHER, NULL, NULL, "fails", true);
	s->f = (struct task_mgr_filter){ .has_kind = true, .kind = TASK_KIND_OTHER };
	SHUTDOWN(s, 0, &s->f, 60000); /* waits for it to end */
	EX_END(&s->a, f, 0);
}

START_TEST(critical)
{
	struct scenario s = { 0 };
	run_scenario(&s, critical_poll);
	ck_assert_int_eq(s.spawn_rc[0], 0);
	ck_assert_int_eq(critical_err, -EIO);
	ck_assert_int_eq(s.out[0], 0);
}
END_TEST

/* ---- protected tasks: refused by cancel, skipped by shutdown --all ---- */
static ex_poll_t protected_poll(struct ex_future *f, struct ex_context *cx)
{
	struct scenario *s = ex_container_of(f, struct scenario, fut);
	struct task_mgr_filter kf = { .has_kind = true, .kind = TASK_KIND_STATUS };
	struct task_snapshot *snap, one;
	size_t n;
	EX_BEGIN(&s->a);
	s->spawn_rc[0] = spawn(WAITER, TASK_KIND_STATUS, NULL, NULL, "status", false);
	s->spawn_rc[1] = spawn(WAITER, TASK_KIND_OTHER, NULL, NULL, "plain", false);
	ck_assert_int_eq(task_mgr_list(&kf, &snap, &n), 0);
	ck_assert_uint_eq(n, 1);
	s->spawn_rc[2] = task_mgr_cancel(snap[0].ident.id, EX_CANCEL_REQUESTED, &one);
	s->counts[0] = one.cancel_requested;
	free(snap);
	ck_assert_int_eq(task_mgr_list(&kf, &snap, &n), 0);
	s->counts[1] = n == 1 && !snap[0].cancel_requested;
	free(snap);
	/* what task.shutdown --all asks for: every task but the protected ones */
	s->f = (struct task_mgr_filter){ .all = true, .exclude_listener = true };
	SHUTDOWN(s, 0, &s->f, 30000);
	s->counts[2] = task_mgr_count(&kf);
	/* the daemon's own shutdown stops them */
	s->f = (struct task_mgr_filter){ .all = true };
	SHUTDOWN(s, 1, &s->f, 30000);
	EX_END(&s->a, f, 0);
}

START_TEST(protected_kinds)
{
	struct scenario s = { 0 };
	ck_assert(task_mgr_kind_protected(TASK_KIND_CONTROL_LISTENER));
	ck_assert(task_mgr_kind_protected(TASK_KIND_STATUS));
	ck_assert(task_mgr_kind_protected(TASK_KIND_SIGNAL_HANDLER));
	ck_assert(!task_mgr_kind_protected(TASK_KIND_WAL_RECEIVER));
	ck_assert(!task_mgr_kind_protected(TASK_KIND_CONTROL_REQUEST));
	run_scenario(&s, protected_poll);
	ck_assert_int_eq(s.spawn_rc[0], 0);
	ck_assert_int_eq(s.spawn_rc[1], 0);
	ck_assert_int_eq(s.spawn_rc[2], -EPERM);
	ck_assert_uint_eq(s.counts[0], 0); /* the refusal's snapshot: not cancelled */
	ck_assert_uint_eq(s.counts[1], 1);
	ck_assert_uint_eq(s.ended[0], 1); /* only "plain" */
	ck_assert_uint_eq(s.counts[2], 1);
	ck_assert_uint_eq(s.ended[1], 1); /* then the status task */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("task_mgr");
	TCase *tc = tcase_create("task_mgr");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, filtering);
	tcase_add_test(tc, sticky);
	tcase_add_test(tc, parallel_wait);
	tcase_add_test(tc, deadline);
	tcase_add_test(tc, critical);
	tcase_add_test(tc, protected_kinds);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
