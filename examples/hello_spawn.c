/* SPDX-License-Identifier: MIT */
/*
 * hello_spawn: seed 003's usage example in C. The root spawns a task that sleeps and returns 123,
 * joins it and prints the result; it also spawns a few workers and a detached "cleanup" task,
 * which ex_main waits for (bounded) after the root returned.
 *
 *     $ ./hello_spawn
 *     sleeper says 123
 *     sum of squares 0..9 = 285
 *     cleanup done (detached)
 */
#include <stdio.h>
#include <stdlib.h>

#include <executor/executor.h>

/* let join_handle = spawn(async { sleep(100 ms).await; 123 }); */
struct sleeper {
	struct ex_future fut;
	struct ex_async a;
	struct ex_sleep s;
};

static ex_poll_t sleeper_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sleeper *s = ex_container_of(f, struct sleeper, fut);
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, &ex_sleep(&s->s, 100 * 1000 * 1000)->base);
	EX_END(&s->a, f, 123);
}

/* A small computation per task. */
struct square {
	struct ex_future fut;
	int64_t n;
};

static ex_poll_t square_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	struct square *s = ex_container_of(f, struct square, fut);
	f->output = s->n * s->n;
	return EX_READY;
}

static void square_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct square, fut));
}

/* Detached: runs to completion even though nobody joins it (seed 003, "Critical Sections"). */
struct cleanup {
	struct ex_future fut;
	struct ex_async a;
	struct ex_sleep s;
};

static ex_poll_t cleanup_poll(struct ex_future *f, struct ex_context *cx)
{
	struct cleanup *c = ex_container_of(f, struct cleanup, fut);
	EX_BEGIN(&c->a);
	EX_AWAIT(&c->a, cx, &ex_sleep(&c->s, 50 * 1000 * 1000)->base);
	printf("cleanup done (detached)\n");
	EX_END(&c->a, f, 0);
}

struct app {
	struct ex_future fut;
	struct ex_async a;
	struct sleeper sleeper;
	struct cleanup cleanup;
	struct ex_join_handle h, sq[10];
	struct ex_join j;
	int i;
	int64_t sum;
};

static ex_poll_t app_poll(struct ex_future *f, struct ex_context *cx)
{
	struct app *s = ex_container_of(f, struct app, fut);
	int r;
	EX_BEGIN(&s->a);
	s->sleeper.fut.poll = sleeper_poll;
	if ((r = ex_spawn(&s->sleeper.fut, NULL, "sleeper", &s->h)) < 0)
		EX_RETURN(&s->a, f, r);
	for (s->i = 0; s->i < 10; s->i++) {
		struct square *q = calloc(1, sizeof(*q));
		if (!q)
			EX_RETURN(&s->a, f, -12 /* -ENOMEM */);
		q->fut.poll = square_poll;
		q->n = s->i;
		if ((r = ex_spawn(&q->fut, square_drop, "square", &s->sq[s->i])) < 0)
			EX_RETURN(&s->a, f, r); /* (a real program would join what it spawned) */
	}
	s->cleanup.fut.poll = cleanup_poll;
	ex_spawn(&s->cleanup.fut, NULL, "cleanup", NULL); /* detached at once */

	EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->h)->base);
	printf("sleeper says %lld\n", (long long)EX_AWAITED(&s->a));
	for (s->i = 0; s->i < 10; s->i++) {
		EX_AWAIT(&s->a, cx, &ex_join(&s->j, &s->sq[s->i])->base);
		s->sum += EX_AWAITED(&s->a);
	}
	printf("sum of squares 0..9 = %lld\n", (long long)s->sum);
	fflush(stdout);
	EX_END(&s->a, f, 0);
}

static struct app app;

static struct ex_future *make_root(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	app.fut.poll = app_poll;
	return &app.fut;
}

EX_MAIN(make_root)
