/* SPDX-License-Identifier: MIT */
/*
 * bench/park_bench.c — what task-dump recording costs (issue 17; executor/park.h), in one run.
 *
 * Every task is polled through a wrapper future, as execd's task_mgr polls its tasks
 * (daemon/task_mgr.c, wrapper_poll): the wrapper builds the inner context and polls the task's
 * future. Two wrappers differ in one thing only: "slot" gives the inner context a park slot
 * (as task_mgr does: each EX_AWAIT records its await point, each leaf what it waits for),
 * "none" gives it park = NULL (libexecutor's own default: a load and a branch per await).
 *
 * Two modes:
 *  - wall clock (default): on a runtime with --workers workers, the await-heavy workloads below
 *    run --rounds times, the two wrappers alternating within each round (which one goes first
 *    alternates too); prints per-round figures, the median of each and the ratio slot/none
 *    (median and range of the per-round ratios) as a markdown table.
 *  - --manual: no runtime; one thread polls the "chain" and "leaf" workloads by hand with a noop
 *    waker, first with one wrapper then the other, each between CALLGRIND_START/STOP
 *    _INSTRUMENTATION and dumped apart (CALLGRIND_DUMP_STATS_AT), so that
 *    `valgrind --tool=callgrind --instr-atstart=no` counts the instructions of each exactly and
 *    repeatably, whatever the load (bench/run-park-bench reads the dumps). The runtime is left
 *    out because its io_uring reactor does not run under valgrind 3.19 (it hangs).
 *
 * Workloads:
 *  - spawn: a root task spawns SPAWN_TASKS wrapped tasks that each await one ex_join-free leaf
 *    and joins them (EX_AWAIT of ex_join: the join leaf records EX_WAIT_JOIN when pending);
 *  - chain: CHAIN_TASKS tasks, each a chain of CHAIN_DEPTH nested async functions whose innermost
 *    yields CHAIN_YIELDS times: every re-poll walks the whole chain, i.e. CHAIN_DEPTH EX_AWAITs
 *    (and so CHAIN_DEPTH records) per yield — the worst case for the record;
 *  - leaf: the same chain with depth 1 ending in a leaf that records what it waits for
 *    (ex_park_wait, as io/timer/seqwait leaves do) each time it returns pending.
 *
 * Usage: park_bench [--workers N] [--rounds R] [--scale S] [--manual]
 * --scale divides every workload's size (for callgrind: --scale 100). Speed is measured here
 * and only here (tests never assert timing).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <executor/executor.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define SPAWN_TASKS 400000u
#define CHAIN_TASKS 2u
#define CHAIN_DEPTH 8u
#define CHAIN_YIELDS 400000u
#define LEAF_WAITS 1000000u
#define MAX_ROUNDS 64u

static unsigned scale = 1;
static struct ex_runtime *rt;

static void die(const char *what, int err)
{
	fprintf(stderr, "park_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the two wrappers: identical but for the park slot ------------------------------------ */

struct wrapped {
	struct ex_future fut;
	struct ex_future *inner;
	struct ex_park park;
};

static __attribute__((noinline)) ex_poll_t wrap_poll_slot(struct ex_future *f,
							  struct ex_context *cx)
{
	struct wrapped *w = ex_container_of(f, struct wrapped, fut);
	struct ex_context icx = { .waker = cx->waker, .park = &w->park };
	ex_poll_t r = ex_poll(w->inner, &icx);
	if (r == EX_READY)
		f->output = w->inner->output;
	return r;
}

static __attribute__((noinline)) ex_poll_t wrap_poll_none(struct ex_future *f,
							  struct ex_context *cx)
{
	struct wrapped *w = ex_container_of(f, struct wrapped, fut);
	struct ex_context icx = { .waker = cx->waker, .park = NULL };
	ex_poll_t r = ex_poll(w->inner, &icx);
	if (r == EX_READY)
		f->output = w->inner->output;
	return r;
}

static void wrap(struct wrapped *w, struct ex_future *inner, bool slot)
{
	*w = (struct wrapped){ .fut.poll = slot ? wrap_poll_slot : wrap_poll_none, .inner = inner };
}

/* ---- a leaf that is pending once per call, recording what it waits for (like io leaves) ---- */

struct leaf {
	struct ex_future fut;
	bool polled;
};

static ex_poll_t leaf_poll(struct ex_future *f, struct ex_context *cx)
{
	struct leaf *l = ex_container_of(f, struct leaf, fut);
	if (l->polled) {
		f->output = 0;
		return EX_READY;
	}
	l->polled = true;
	ex_park_wait(cx, EX_WAIT_READ, 3);
	ex_waker_wake_by_ref(cx->waker);
	return EX_PENDING;
}

static struct ex_future *leaf_init(struct leaf *l)
{
	*l = (struct leaf){ .fut.poll = leaf_poll };
	return &l->fut;
}

/* ---- chain: CHAIN_DEPTH nested async functions; the innermost yields or awaits leaves ----- */

struct link {
	struct ex_future fut;
	struct ex_async a;
	struct link *next; /* NULL: the innermost */
	unsigned k, n;
	bool leaves;
	struct leaf leaf;
};

static ex_poll_t link_poll(struct ex_future *f, struct ex_context *cx)
{
	struct link *l = ex_container_of(f, struct link, fut);

	EX_BEGIN(&l->a);
	if (l->next) {
		EX_AWAIT(&l->a, cx, &l->next->fut);
	} else if (l->leaves) {
		for (l->k = 0; l->k < l->n; l->k++)
			EX_AWAIT(&l->a, cx, leaf_init(&l->leaf));
	} else {
		for (l->k = 0; l->k < l->n; l->k++)
			EX_YIELD(&l->a, cx);
	}
	EX_END(&l->a, f, 0);
}

/* One task's chain: @p depth links in @p links; the innermost yields (or awaits) @p n times. */
static struct ex_future *chain_init(struct link *links, unsigned depth, unsigned n, bool leaves)
{
	for (unsigned i = 0; i < depth; i++)
		links[i] = (struct link){ .fut.poll = link_poll,
					  .next = i + 1 < depth ? &links[i + 1] : NULL,
					  .n = n,
					  .leaves = leaves };
	return &links[0].fut;
}

/* ---- spawn+join on the runtime ------------------------------------------------------------ */

struct spawn_root {
	struct ex_future fut;
	struct ex_async a;
	bool slot;
	size_t i, n;
	struct wrapped *w;
	struct link *l;
	struct ex_join_handle *h;
	struct ex_join j;
};

static ex_poll_t spawn_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct spawn_root *r = ex_container_of(f, struct spawn_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	for (r->i = 0; r->i < r->n; r->i++) {
		wrap(&r->w[r->i], chain_init(&r->l[r->i], 1, 1, true), r->slot);
		if ((rc = ex_spawn(&r->w[r->i].fut, NULL, NULL, &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	for (r->i = 0; r->i < r->n; r->i++)
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
	EX_END(&r->a, f, 0);
}

/* ns per spawned task */
static double run_spawn(bool slot)
{
	struct spawn_root r = { .fut.poll = spawn_root_poll, .slot = slot };
	struct wrapped root;
	int64_t out;
	r.n = SPAWN_TASKS / scale;
	r.w = calloc(r.n, sizeof *r.w);
	r.l = calloc(r.n, sizeof *r.l);
	r.h = calloc(r.n, sizeof *r.h);
	if (!r.w || !r.l || !r.h)
		die("calloc", -ENOMEM);
	wrap(&root, &r.fut, slot);
	uint64_t t0 = now_ns();
	int rc = ex_runtime_block_on(rt, &root.fut, &out);
	double ns = (double)(now_ns() - t0) / (double)r.n;
	if (rc < 0)
		die("ex_runtime_block_on", rc);
	free(r.w);
	free(r.l);
	free(r.h);
	return ns;
}

/* ---- chain and leaf on the runtime: CHAIN_TASKS tasks spawned by a root ---------------------- */

struct many_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	struct wrapped w[CHAIN_TASKS];
	struct link l[CHAIN_TASKS][CHAIN_DEPTH];
	struct ex_join_handle h[CHAIN_TASKS];
	struct ex_join j;
};

static ex_poll_t many_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct many_root *r = ex_container_of(f, struct many_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	for (r->i = 0; r->i < CHAIN_TASKS; r->i++)
		if ((rc = ex_spawn(&r->w[r->i].fut, NULL, "chain", &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	for (r->i = 0; r->i < CHAIN_TASKS; r->i++)
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
	EX_END(&r->a, f, 0);
}

/* ns per yield (chain) or per leaf wait (leaf), all tasks' counted */
static double run_many(bool slot, bool leaves)
{
	struct many_root *r = calloc(1, sizeof *r);
	struct wrapped root;
	int64_t out;
	unsigned depth = leaves ? 1 : CHAIN_DEPTH;
	unsigned n = (leaves ? LEAF_WAITS : CHAIN_YIELDS) / scale;
	if (!r)
		die("calloc", -ENOMEM);
	r->fut.poll = many_root_poll;
	for (unsigned i = 0; i < CHAIN_TASKS; i++)
		wrap(&r->w[i], chain_init(r->l[i], depth, n, leaves), slot);
	wrap(&root, &r->fut, slot);
	uint64_t t0 = now_ns();
	int rc = ex_runtime_block_on(rt, &root.fut, &out);
	double ns = (double)(now_ns() - t0) / ((double)CHAIN_TASKS * n);
	if (rc < 0)
		die("ex_runtime_block_on", rc);
	free(r);
	return ns;
}

/* ---- --manual: one thread, a noop waker, for callgrind ------------------------------------- */

static void poll_by_hand(struct ex_future *f)
{
	struct ex_context cx = { .waker = ex_noop_waker() };
	while (ex_poll(f, &cx) == EX_PENDING)
		;
}

static void manual_one(const char *name, bool slot, unsigned depth, unsigned n, bool leaves)
{
	struct link *l = calloc(depth, sizeof *l);
	struct wrapped w;
	char label[64];
	if (!l)
		die("calloc", -ENOMEM);
	wrap(&w, chain_init(l, depth, n, leaves), slot);
	CALLGRIND_START_INSTRUMENTATION;
	poll_by_hand(&w.fut);
	CALLGRIND_STOP_INSTRUMENTATION;
	snprintf(label, sizeof label, "park_bench %s %s %u", name, slot ? "slot" : "none", n);
	CALLGRIND_DUMP_STATS_AT(label);
	printf("manual %s %s polls %u\n", name, slot ? "slot" : "none", n + 1);
	free(l);
}

static void manual(void)
{
	unsigned n = CHAIN_YIELDS / scale, m = LEAF_WAITS / scale;
	for (int slot = 0; slot < 2; slot++) {
		manual_one("chain", slot, CHAIN_DEPTH, n, false);
		manual_one("leaf", slot, 1, m, true);
	}
}

/* ---- driver --------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, n * sizeof *v);
	qsort(s, n, sizeof *s, cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static unsigned parse_uint(const char *s, const char *what, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > max)
		die(what, -EINVAL);
	return (unsigned)v;
}

struct workload {
	const char *name, *unit;
	double (*run)(bool slot, bool leaves);
	bool leaves;
};

static double run_spawn2(bool slot, bool leaves)
{
	(void)leaves;
	return run_spawn(slot);
}

static void wall_clock(unsigned rounds)
{
	static const struct workload w[] = {
		{ "spawn+join, each task awaits one leaf", "ns/task", run_spawn2, false },
		{ "chain of 8 EX_AWAITs, innermost yields", "ns/yield", run_many, false },
		{ "1 EX_AWAIT of a leaf that records its wait", "ns/wait", run_many, true },
	};
	double v[3][2][MAX_ROUNDS], ratio[3][MAX_ROUNDS];

	for (unsigned r = 0; r < rounds; r++)
		for (unsigned i = 0; i < 3; i++) {
			for (unsigned k = 0; k < 2; k++) {
				bool slot = (k + r) % 2; /* who goes first alternates */
				v[i][slot][r] = w[i].run(slot, w[i].leaves);
			}
			ratio[i][r] = v[i][1][r] / v[i][0][r];
			printf("round %u: %s: none %.1f, slot %.1f %s\n", r + 1, w[i].name,
			       v[i][0][r], v[i][1][r], w[i].unit);
		}
	printf("\n| workload (%u rounds) | no slot (median) | park slot (median) | ratio slot/none "
	       "(median of rounds) | per-round ratios |\n|---|---:|---:|---:|---:|\n",
	       rounds);
	for (unsigned i = 0; i < 3; i++) {
		double lo = ratio[i][0], hi = ratio[i][0];
		for (unsigned r = 1; r < rounds; r++) {
			lo = ratio[i][r] < lo ? ratio[i][r] : lo;
			hi = ratio[i][r] > hi ? ratio[i][r] : hi;
		}
		printf("| %s (%s) | %.1f | %.1f | %.3f | %.3f-%.3f |\n", w[i].name, w[i].unit,
		       median(v[i][0], rounds), median(v[i][1], rounds), median(ratio[i], rounds),
		       lo, hi);
	}
}

int main(int argc, char **argv)
{
	unsigned workers = 2, rounds = 9;
	bool by_hand = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--manual")) {
			by_hand = true;
			continue;
		}
		if (i + 1 >= argc)
			die(argv[i], -EINVAL);
		if (!strcmp(argv[i], "--workers"))
			workers = parse_uint(argv[++i], "--workers", 1024);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = parse_uint(argv[++i], "--rounds", MAX_ROUNDS);
		else if (!strcmp(argv[i], "--scale"))
			scale = parse_uint(argv[++i], "--scale", 10000);
		else
			die(argv[i], -EINVAL);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (by_hand) {
		manual();
		return 0;
	}
	struct ex_runtime_config cfg = ex_runtime_config_default();
	cfg.workers = workers;
	cfg.handle_signals = false;
	cfg.slow_poll_ns = 0; /* the spawning loop polls for long on purpose */
	if ((rc = ex_runtime_new(&cfg, &rt)) < 0)
		die("ex_runtime_new", rc);
	printf("park_bench workers %u rounds %u scale %u\n", ex_runtime_workers(rt), rounds, scale);
	wall_clock(rounds);
	ex_runtime_free(rt);
	return 0;
}
