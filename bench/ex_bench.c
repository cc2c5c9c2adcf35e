/* SPDX-License-Identifier: MIT */
/*
 * bench/ex_bench.c — libexecutor side of the executor benchmarks (`make bench`).
 *
 * The same workloads as bench/tokio/src/main.rs, on a runtime with the same number of workers.
 * Each workload runs in a root future given to ex_runtime_block_on(), i.e. as a task on a worker,
 * as the tokio side runs each workload in a task spawned on its runtime. One result line per
 * metric on stdout:
 *
 *     executor spawn_join_ns 410.3
 *
 * Usage: ex_bench [--workers N] [--reps R] [--file PATH] [--read-secs S] [--only LIST]
 * LIST is a comma-separated subset of spawn,yield,timer,read,mem (default: all). "mem" measures
 * RSS growth and so runs first, in a process that has not yet allocated for other workloads.
 *
 * Speed is measured here and only here (tests never assert timing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <executor/executor.h>
#include <executor/io.h>
#include <executor/time.h>

#define SPAWN_TASKS 1000000u
#define YIELD_TASKS 2u
#define YIELDS_PER_TASK 1000000u
#define TIMER_TASKS 100000u
#define TIMER_NS (1000ull * 1000)
#define READ_SIZE 4096u
#define IDLE_TASKS 1000000u

static const unsigned read_depths[] = { 64, 128 };

struct opts {
	unsigned workers;
	unsigned reps;
	const char *file;
	double read_secs;
	const char *only;
};

static struct ex_runtime *rt;

static void die(const char *what, int err)
{
	if (err)
		fprintf(stderr, "ex_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	else
		fprintf(stderr, "ex_bench: %s\n", what);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p)
		die("calloc", -ENOMEM);
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run @p root as the runtime's root task; it stores its figure in *result. */
static double run_root(struct ex_future *root, const double *result)
{
	int64_t out = 0;
	int rc = ex_runtime_block_on(rt, root, &out);
	if (rc < 0)
		die("ex_runtime_block_on", rc);
	if (out < 0)
		die("workload failed", (int)out);
	return *result;
}

/* ---- spawn+join of SPAWN_TASKS empty tasks ---------------------------------------------- */

static ex_poll_t empty_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	f->output = 0;
	return EX_READY;
}

struct spawn_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	uint64_t t0;
	struct ex_future *futs;
	struct ex_join_handle *h;
	struct ex_join j;
	double result; /* ns per spawn+join */
};

static ex_poll_t spawn_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct spawn_root *r = ex_container_of(f, struct spawn_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	/* The futures' memory is the caller's in libexecutor (tokio allocates it in the task):
	 * its allocation is timed too. */
	r->t0 = now_ns();
	r->futs = xcalloc(SPAWN_TASKS, sizeof *r->futs);
	r->h = xcalloc(SPAWN_TASKS, sizeof *r->h);
	for (r->i = 0; r->i < SPAWN_TASKS; r->i++) {
		r->futs[r->i].poll = empty_poll;
		if ((rc = ex_spawn(&r->futs[r->i], NULL, NULL, &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	for (r->i = 0; r->i < SPAWN_TASKS; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		if (EX_AWAITED(&r->a) != 0)
			die("join of an empty task", (int)EX_AWAITED(&r->a));
	}
	free(r->futs);
	free(r->h);
	r->result = (double)(now_ns() - r->t0) / SPAWN_TASKS;
	EX_END(&r->a, f, 0);
}

static double bench_spawn(void)
{
	struct spawn_root r = { .fut.poll = spawn_root_poll };
	return run_root(&r.fut, &r.result);
}

/* ---- yield ping-pong: YIELD_TASKS tasks each yield YIELDS_PER_TASK times ---------------- */

struct yielder {
	struct ex_future fut;
	struct ex_async a;
	unsigned k;
};

static ex_poll_t yielder_poll(struct ex_future *f, struct ex_context *cx)
{
	struct yielder *y = ex_container_of(f, struct yielder, fut);

	EX_BEGIN(&y->a);
	for (y->k = 0; y->k < YIELDS_PER_TASK; y->k++)
		EX_YIELD(&y->a, cx);
	EX_END(&y->a, f, 0);
}

struct yield_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	uint64_t t0;
	struct yielder y[YIELD_TASKS];
	struct ex_join_handle h[YIELD_TASKS];
	struct ex_join j;
	double result; /* wall ns per yield, all tasks' yields counted */
};

static ex_poll_t yield_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct yield_root *r = ex_container_of(f, struct yield_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	r->t0 = now_ns();
	for (r->i = 0; r->i < YIELD_TASKS; r->i++) {
		r->y[r->i] = (struct yielder){ .fut.poll = yielder_poll };
		if ((rc = ex_spawn(&r->y[r->i].fut, NULL, "yielder", &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	for (r->i = 0; r->i < YIELD_TASKS; r->i++)
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
	r->result = (double)(now_ns() - r->t0) / ((double)YIELD_TASKS * YIELDS_PER_TASK);
	EX_END(&r->a, f, 0);
}

static double bench_yield(void)
{
	struct yield_root r = { .fut.poll = yield_root_poll };
	return run_root(&r.fut, &r.result);
}

/* ---- TIMER_TASKS concurrent 1 ms sleeps, one per task ------------------------------------ */

struct sleeper {
	struct ex_future fut;
	struct ex_async a;
	struct ex_sleep s;
};

static ex_poll_t sleeper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sleeper *s = ex_container_of(f, struct sleeper, fut);

	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, &ex_sleep(&s->s, TIMER_NS)->base);
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

struct timer_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	uint64_t t0;
	struct sleeper *s;
	struct ex_join_handle *h;
	struct ex_join j;
	double result; /* ns per timer */
};

static ex_poll_t timer_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct timer_root *r = ex_container_of(f, struct timer_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	r->t0 = now_ns();
	r->s = xcalloc(TIMER_TASKS, sizeof *r->s);
	r->h = xcalloc(TIMER_TASKS, sizeof *r->h);
	for (r->i = 0; r->i < TIMER_TASKS; r->i++) {
		r->s[r->i].fut.poll = sleeper_poll;
		if ((rc = ex_spawn(&r->s[r->i].fut, NULL, NULL, &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	for (r->i = 0; r->i < TIMER_TASKS; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		if (EX_AWAITED(&r->a) != 0)
			die("sleep", (int)EX_AWAITED(&r->a));
	}
	free(r->s);
	free(r->h);
	r->result = (double)(now_ns() - r->t0) / TIMER_TASKS;
	EX_END(&r->a, f, 0);
}

static double bench_timer(void)
{
	struct timer_root r = { .fut.poll = timer_root_poll };
	return run_root(&r.fut, &r.result);
}

/* ---- 4 KiB random reads, `depth` tasks each with one read in flight ---------------------- */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct reader {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	int fd;
	uint64_t seed, blocks, deadline, n;
	char buf[READ_SIZE] __attribute__((aligned(4096)));
};

static ex_poll_t reader_poll(struct ex_future *f, struct ex_context *cx)
{
	struct reader *rd = ex_container_of(f, struct reader, fut);

	EX_BEGIN(&rd->a);
	while (now_ns() < rd->deadline) {
		EX_AWAIT(&rd->a, cx,
			 ex_read(&rd->io, rd->fd, rd->buf, READ_SIZE,
				 (int64_t)((xorshift(&rd->seed) % rd->blocks) * READ_SIZE)));
		if (EX_AWAITED(&rd->a) != READ_SIZE)
			EX_RETURN(&rd->a, f, EX_AWAITED(&rd->a) < 0 ? EX_AWAITED(&rd->a) : -EIO);
		rd->n++;
	}
	EX_END(&rd->a, f, 0);
}

struct read_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	unsigned depth;
	int fd;
	uint64_t blocks, t0, ns, total;
	struct reader *rd;
	struct ex_join_handle *h;
	struct ex_join j;
	double result; /* IOPS */
};

static ex_poll_t read_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct read_root *r = ex_container_of(f, struct read_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	r->rd = aligned_alloc(4096, r->depth * sizeof *r->rd);
	r->h = xcalloc(r->depth, sizeof *r->h);
	if (!r->rd)
		die("aligned_alloc", -ENOMEM);
	r->t0 = now_ns();
	for (r->i = 0; r->i < r->depth; r->i++) {
		struct reader *rd = &r->rd[r->i];
		memset(rd, 0, sizeof *rd);
		rd->fut.poll = reader_poll;
		rd->fd = r->fd;
		rd->blocks = r->blocks;
		rd->deadline = r->t0 + r->ns;
		rd->seed = 0x9E3779B97F4A7C15ull ^ ((r->i + 1) * 0x10000001ull);
		if ((rc = ex_spawn(&rd->fut, NULL, NULL, &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	for (r->i = 0; r->i < r->depth; r->i++) {
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
		if (EX_AWAITED(&r->a) != 0)
			die("read", (int)EX_AWAITED(&r->a));
		r->total += r->rd[r->i].n;
	}
	r->result = (double)r->total * 1e9 / (double)(now_ns() - r->t0);
	free(r->rd);
	free(r->h);
	EX_END(&r->a, f, 0);
}

static double bench_read(int fd, uint64_t blocks, unsigned depth, double secs)
{
	struct read_root r = {
		.fut.poll = read_root_poll,
		.fd = fd,
		.blocks = blocks,
		.depth = depth,
		.ns = (uint64_t)(secs * 1e9),
	};
	return run_root(&r.fut, &r.result);
}

/* ---- memory per idle task ---------------------------------------------------------------- */

/* A leaf future that parks its waker in a preallocated slot at its first poll (its task is then
 * idle) and is ready at the next poll. */
struct idle {
	struct ex_future fut;
	size_t slot;
	bool polled;
};

static struct ex_waker *idle_wakers;
static atomic_size_t idle_parked;

static ex_poll_t idle_poll(struct ex_future *f, struct ex_context *cx)
{
	struct idle *t = ex_container_of(f, struct idle, fut);

	if (t->polled) {
		f->output = 0;
		return EX_READY;
	}
	t->polled = true;
	idle_wakers[t->slot] = ex_waker_clone(cx->waker);
	atomic_fetch_add_explicit(&idle_parked, 1, memory_order_release);
	return EX_PENDING;
}

static uint64_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
		die("/proc/self/statm", -errno);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct mem_root {
	struct ex_future fut;
	struct ex_async a;
	size_t i;
	struct idle *t;
	struct ex_join_handle *h;
	struct ex_join j;
	uint64_t before, after;
	double result; /* RSS growth per idle task, bytes */
};

static ex_poll_t mem_root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct mem_root *r = ex_container_of(f, struct mem_root, fut);
	int rc;

	EX_BEGIN(&r->a);
	/* The futures, handles and parked wakers live in arrays allocated and touched before the
	 * baseline: the growth is what the runtime adds per task. */
	r->t = xcalloc(IDLE_TASKS, sizeof *r->t);
	r->h = xcalloc(IDLE_TASKS, sizeof *r->h);
	idle_wakers = xcalloc(IDLE_TASKS, sizeof *idle_wakers);
	/* Touch every page now (calloc's fresh pages are not resident yet; the compiler would drop a
	 * memset of calloc'd memory, explicit_bzero it keeps). */
	explicit_bzero(r->t, IDLE_TASKS * sizeof *r->t);
	explicit_bzero(r->h, IDLE_TASKS * sizeof *r->h);
	explicit_bzero(idle_wakers, IDLE_TASKS * sizeof *idle_wakers);
	atomic_store(&idle_parked, 0);
	r->before = rss_bytes();
	for (r->i = 0; r->i < IDLE_TASKS; r->i++) {
		r->t[r->i] = (struct idle){ .fut.poll = idle_poll, .slot = r->i };
		if ((rc = ex_spawn(&r->t[r->i].fut, NULL, NULL, &r->h[r->i])) < 0)
			die("ex_spawn", rc);
	}
	while (atomic_load_explicit(&idle_parked, memory_order_acquire) < IDLE_TASKS)
		EX_YIELD(&r->a, cx);
	r->after = rss_bytes();
	for (r->i = 0; r->i < IDLE_TASKS; r->i++)
		ex_waker_wake(&idle_wakers[r->i]);
	for (r->i = 0; r->i < IDLE_TASKS; r->i++)
		EX_AWAIT(&r->a, cx, &ex_join(&r->j, &r->h[r->i])->base);
	r->result = ((double)r->after - (double)r->before) / IDLE_TASKS;
	free(r->t);
	free(r->h);
	free(idle_wakers);
	EX_END(&r->a, f, 0);
}

static double bench_mem(void)
{
	struct mem_root r = { .fut.poll = mem_root_poll };
	return run_root(&r.fut, &r.result);
}

/* ---- driver ------------------------------------------------------------------------------ */

static bool want(const struct opts *o, const char *w)
{
	if (!o->only)
		return true;
	size_t n = strlen(w);
	for (const char *p = o->only; (p = strstr(p, w)); p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static unsigned parse_uint(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > 1u << 20)
		die(what, -EINVAL);
	return (unsigned)v;
}

static struct opts parse_opts(int argc, char **argv)
{
	struct opts o = { .workers = 2, .reps = 5, .read_secs = 2.0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			die("every option needs a value", -EINVAL);
		const char *v = argv[++i];
		if (!strcmp(a, "--workers"))
			o.workers = parse_uint(v, "--workers");
		else if (!strcmp(a, "--reps"))
			o.reps = parse_uint(v, "--reps");
		else if (!strcmp(a, "--file"))
			o.file = v;
		else if (!strcmp(a, "--read-secs")) {
			char *end;
			o.read_secs = strtod(v, &end);
			if (*end || !(o.read_secs > 0))
				die("--read-secs", -EINVAL);
		} else if (!strcmp(a, "--only"))
			o.only = v;
		else {
			fprintf(stderr, "ex_bench: unknown argument %s\n", a);
			exit(2);
		}
	}
	return o;
}

#define REPEAT(o, expr)                                     \
	({                                                  \
		double v_[64];                              \
		for (unsigned k_ = 0; k_ < (o)->reps; k_++) \
			v_[k_] = (expr);                    \
		median(v_, (o)->reps);                      \
	})

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);
	struct ex_runtime_config cfg = ex_runtime_config_default();
	int rc;

	if (o.reps > 64)
		die("--reps at most 64", -EINVAL);
	cfg.workers = o.workers;
	cfg.handle_signals = false;
	cfg.slow_poll_ns = 0; /* the spawning loops poll for long on purpose */
	if ((rc = ex_runtime_new(&cfg, &rt)) < 0)
		die("ex_runtime_new", rc);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("executor workers %u\n", ex_runtime_workers(rt));

	/* First: RSS growth is only meaningful before other workloads grew the heap. */
	if (want(&o, "mem")) {
		printf("executor idle_task_future_bytes %zu\n", sizeof(struct idle));
		/* The future's state is in a caller's array outside the measured growth. */
		printf("executor idle_task_bytes %.1f\n", bench_mem());
	}
	if (want(&o, "spawn"))
		printf("executor spawn_join_ns %.1f\n", REPEAT(&o, bench_spawn()));
	if (want(&o, "yield"))
		printf("executor yield_ns %.1f\n", REPEAT(&o, bench_yield()));
	if (want(&o, "timer"))
		printf("executor timer_ns %.1f\n", REPEAT(&o, bench_timer()));
	if (want(&o, "read")) {
		if (!o.file)
			die("read needs --file", -EINVAL);
		int fd = open(o.file, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			die(o.file, -errno);
		uint64_t blocks = (uint64_t)st.st_size / READ_SIZE;
		if (!blocks)
			die("read file is empty", -EINVAL);
		double best = 0;
		for (size_t d = 0; d < sizeof read_depths / sizeof *read_depths; d++) {
			struct opts o3 = o;
			o3.reps = o.reps < 3 ? o.reps : 3;
			double v = REPEAT(&o3, bench_read(fd, blocks, read_depths[d], o.read_secs));
			printf("executor read_iops_qd%u %.0f\n", read_depths[d], v);
			if (v > best)
				best = v;
		}
		printf("executor read_iops %.0f\n", best);
		close(fd);
	}
	ex_runtime_free(rt);
	return 0;
}
