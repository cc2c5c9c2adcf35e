/* SPDX-License-Identifier: MIT */
/*
 * SIGTERM / SIGINT fire the runtime's shutdown token (read from a signalfd through io_uring); a
 * task holding a child token sees the cancellation with reason "shutdown". A second SIGINT exits
 * the process at once with status 130.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_test.h"

struct waiter {
	struct ex_future fut;
	struct ex_async a;
	struct ex_cancel_token *child;
	struct ex_cancelled c;
	int sig;
	int times;
};

/* Never ready (the process exits under it). */
static ex_poll_t forever_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)f;
	(void)cx;
	return EX_PENDING;
}

static struct ex_future forever = { .poll = forever_poll };

static ex_poll_t waiter_poll(struct ex_future *f, struct ex_context *cx)
{
	struct waiter *w = ex_container_of(f, struct waiter, fut);
	struct ex_runtime *rt = ex_runtime_current();
	EX_BEGIN(&w->a);
	ck_assert_int_eq(ex_cancel_token_child(ex_runtime_shutdown_token(rt), &w->child), 0);
	ck_assert(!ex_cancel_token_is_cancelled(w->child));
	ck_assert_int_eq(kill(getpid(), w->sig), 0);
	EX_AWAIT(&w->a, cx, &ex_cancelled(&w->c, w->child)->base);
	ck_assert_int_eq(EX_AWAITED(&w->a), EX_CANCEL_SHUTDOWN);
	ck_assert_int_eq(ex_cancel_token_reason(ex_runtime_shutdown_token(rt)), EX_CANCEL_SHUTDOWN);
	ex_cancel_token_unref(w->child);
	if (w->times > 1) {
		ck_assert_int_eq(kill(getpid(), SIGINT), 0);
		EX_AWAIT(&w->a, cx, &forever);
	}
	EX_END(&w->a, f, 0);
}

static void with_signals(struct ex_runtime_config *c)
{
	c->handle_signals = true;
}

static void run_waiter(int sig, int times)
{
	struct ex_runtime *rt = rt_make(2, with_signals);
	struct waiter w = { .fut.poll = waiter_poll, .sig = sig, .times = times };
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &w.fut, &out), 0);
	ck_assert_int_eq(out, 0);
	ex_runtime_free(rt);
}

START_TEST(sigterm_fires_shutdown_token)
{
	run_waiter(SIGTERM, 1);
}
END_TEST

START_TEST(sigint_fires_shutdown_token)
{
	run_waiter(SIGINT, 1);
}
END_TEST

START_TEST(second_sigint_exits)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		run_waiter(SIGINT, 2);
		_exit(3); /* not reached: the second SIGINT exits with 130 */
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid); /* bounded by the test case timeout */
	ck_assert_msg(WIFEXITED(st), "child did not exit (status %d)", st);
	ck_assert_int_eq(WEXITSTATUS(st), 130);
}
END_TEST

START_TEST(programmatic_shutdown)
{
	struct ex_runtime *rt = rt_make(1, NULL);
	struct ex_cancel_token *t = ex_runtime_shutdown_token(rt);
	ck_assert_ptr_nonnull(t);
	ck_assert(!ex_cancel_token_is_cancelled(t));
	ck_assert(ex_runtime_shutdown(rt));
	ck_assert(!ex_runtime_shutdown(rt));
	ck_assert_int_eq(ex_cancel_token_reason(t), EX_CANCEL_SHUTDOWN);
	ex_runtime_free(rt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shutdown_signal");
	TCase *tc = tcase_create("signals");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, sigterm_fires_shutdown_token);
	tcase_add_test(tc, sigint_fires_shutdown_token);
	tcase_add_test(tc, second_sigint_exits);
	tcase_add_test(tc, programmatic_shutdown);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
