/* SPDX-License-Identifier: MIT */
/*
 * A wake that races a poll is never lost: another thread wakes the task while its poll is still
 * running (after it registered its waker, before it returned EX_PENDING). Each round waits for
 * the task to acknowledge the previous one, so a single lost wake hangs the round and fails the
 * test (bounded wait). Both paths are covered: wakes from a plain thread (injection queue) and
 * from tasks on other workers (their local queues).
 */
#include "rt_test.h"

#define ROUNDS 20000
#define RACERS 4

struct racer {
	struct ex_future fut;
	pthread_mutex_t lock;
	struct ex_waker slot;    /* under lock */
	_Atomic uint64_t posted; /* rounds posted by the waker side */
	_Atomic uint64_t acked;  /* rounds the task saw (published after storing the waker) */
	uint64_t seen;
	uint64_t polls;
};

static ex_poll_t racer_poll(struct ex_future *f, struct ex_context *cx)
{
	struct racer *r = ex_container_of(f, struct racer, fut);
	r->polls++;
	uint64_t p = atomic_load(&r->posted);
	if (p > r->seen)
		r->seen = p;
	if (r->seen == ROUNDS) {
		f->output = (int64_t)r->seen;
		return EX_READY;
	}
	pthread_mutex_lock(&r->lock);
	ex_waker_store(&r->slot, cx->waker);
	pthread_mutex_unlock(&r->lock);
	atomic_store(&r->acked, r->seen);
	/* Widen the window in which the wake arrives while this poll still runs. */
	for (volatile int i = 0; i < 200; i++)
		;
	return EX_PENDING;
}

static void racer_init(struct racer *r)
{
	memset(r, 0, sizeof(*r));
	r->fut.poll = racer_poll;
	atomic_store(&r->acked, UINT64_MAX); /* nothing acked: round 1 waits for the first poll */
	pthread_mutex_init(&r->lock, NULL);
}

/*
 * One round from the waking side: once the task acked round i-1 and has a waker registered, post
 * round i and wake (twice: waking is idempotent). The waker may be missing right after the ack: a
 * poll caused by an earlier wake may ack before the previous round's waker was taken; the wake
 * of that round then re-polls the task, which registers again, so a lost wake never completes.
 * Returns false if not ready yet.
 */
static bool try_post_round(struct racer *r, uint64_t i)
{
	if (atomic_load(&r->acked) != i - 1)
		return false;
	pthread_mutex_lock(&r->lock);
	if (!ex_waker_is_set(&r->slot)) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	atomic_store(&r->posted, i);
	struct ex_waker w = r->slot;
	r->slot = (struct ex_waker){ 0 };
	pthread_mutex_unlock(&r->lock);
	ex_waker_wake_by_ref(&w);
	ex_waker_wake(&w);
	return true;
}

static void post_round(struct racer *r, uint64_t i)
{
	uint64_t deadline = rt_now_ns() + RT_TIMEOUT_S * 1000000000ull;
	while (!try_post_round(r, i)) {
		ck_assert_msg(rt_now_ns() < deadline, "round %llu: a wake was lost",
			      (unsigned long long)i);
		sched_yield();
	}
}

static void *thread_waker(void *arg)
{
	struct racer *r = arg;
	for (uint64_t i = 1; i <= ROUNDS; i++)
		post_round(r, i);
	return NULL;
}

/* Root: spawns the racers, joins them; plain threads do the waking. */
struct root {
	struct ex_future fut;
	struct ex_async a;
	struct racer *racers;
	struct ex_join_handle h[RACERS];
	struct ex_join j;
	int i;
	int64_t sum;
	bool task_wakers;
};

/* A task that wakes a racer round by round (a worker-to-worker wake). */
struct waker_task {
	struct ex_future fut;
	struct racer *r;
	uint64_t i;
};

static ex_poll_t waker_task_poll(struct ex_future *f, struct ex_context *cx)
{
	struct waker_task *w = ex_container_of(f, struct waker_task, fut);
	/* Never block a worker: post a round only when the racer acked; else yield. */
	while (w->i <= ROUNDS && try_post_round(w->r, w->i))
		w->i++;
	if (w->i > ROUNDS) {
		f->output = 0;
		return EX_READY;
	}
	ex_waker_wake_by_ref(cx->waker);
	return EX_PENDING;
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *s = ex_container_of(f, struct root, fut);
	EX_BEGIN(&s->a);
	for (s->i = 0; s->i < RACERS; s->i++) {
		int r = ex_spawn(&s->racers[s->i].fut, NULL, "racer", &s->h[s->i]);
		ck_assert_int_eq(r, 0);
	}
	for (s->i = 0; s->i < RACERS; s->i++) {
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h[s->i])->base);
		s->sum += EX_AWAITED(&s->a);
	}
	EX_END(&s->a, f, s->sum);
}

START_TEST(wakes_from_plain_threads)
{
	unsigned workers = 1u << _i; /* 1, 2, 4 workers (4 oversubscribes the 2-CPU CI machine) */
	struct racer *racers = calloc(RACERS, sizeof(*racers));
	pthread_t th[RACERS];
	for (int i = 0; i < RACERS; i++)
		racer_init(&racers[i]);
	struct root root = { .fut.poll = root_poll, .racers = racers };
	for (int i = 0; i < RACERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_waker, &racers[i]), 0);
	int64_t out = rt_run(workers, &root.fut);
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(out, (int64_t)RACERS * ROUNDS);
	for (int i = 0; i < RACERS; i++) {
		ck_assert_uint_eq(racers[i].seen, ROUNDS);
		/* every round needs at least one poll */
		ck_assert_uint_ge(racers[i].polls, ROUNDS);
		pthread_mutex_destroy(&racers[i].lock);
	}
	free(racers);
}
END_TEST

/* Root that also spawns one waker task per racer. */
struct root2 {
	struct ex_future fut;
	struct ex_async a;
	struct racer *racers;
	struct waker_task *wt;
	struct ex_join_handle h[2 * RACERS];
	struct ex_join j;
	int i;
	int64_t sum;
};

static ex_poll_t root2_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root2 *s = ex_container_of(f, struct root2, fut);
	EX_BEGIN(&s->a);
	for (s->i = 0; s->i < RACERS; s->i++) {
		ck_assert_int_eq(ex_spawn(&s->racers[s->i].fut, NULL, "racer", &s->h[s->i]), 0);
		ck_assert_int_eq(ex_spawn(&s->wt[s->i].fut, NULL, "waker", &s->h[RACERS + s->i]),
				 0);
	}
	for (s->i = 0; s->i < 2 * RACERS; s->i++) {
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h[s->i])->base);
		s->sum += EX_AWAITED(&s->a);
	}
	EX_END(&s->a, f, s->sum);
}

START_TEST(wakes_from_other_tasks)
{
	unsigned workers = 1u << _i;
	struct racer *racers = calloc(RACERS, sizeof(*racers));
	struct waker_task *wt = calloc(RACERS, sizeof(*wt));
	for (int i = 0; i < RACERS; i++) {
		racer_init(&racers[i]);
		wt[i].fut.poll = waker_task_poll;
		wt[i].r = &racers[i];
		wt[i].i = 1;
	}
	struct root2 root = { .fut.poll = root2_poll, .racers = racers, .wt = wt };
	int64_t out = rt_run(workers, &root.fut);
	ck_assert_int_eq(out, (int64_t)RACERS * ROUNDS);
	for (int i = 0; i < RACERS; i++) {
		ck_assert_uint_eq(racers[i].seen, ROUNDS);
		pthread_mutex_destroy(&racers[i].lock);
	}
	free(racers);
	free(wt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wake_race");
	TCase *tc = tcase_create("race");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_loop_test(tc, wakes_from_plain_threads, 0, 3);
	tcase_add_loop_test(tc, wakes_from_other_tasks, 0, 3);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
