/* SPDX-License-Identifier: MIT */
/*
 * A poll longer than slow_poll_ns is reported through the log callback with the task's id and
 * name. The task busy-spins past the 1 ms threshold (the behaviour under test, not a wait).
 */
#include <stdio.h>
#include <syslog.h>

#include "rt_test.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[8192];
static int log_warnings;

static void capture(int prio, const char *msg, void *arg)
{
	ck_assert_ptr_eq(arg, &log_buf);
	pthread_mutex_lock(&log_lock);
	size_t n = strlen(log_buf);
	snprintf(log_buf + n, sizeof(log_buf) - n, "%s\n", msg);
	if (prio == LOG_WARNING)
		log_warnings++;
	pthread_mutex_unlock(&log_lock);
}

static void tweak(struct ex_runtime_config *c)
{
	c->slow_poll_ns = 1000000; /* 1 ms */
	c->log = capture;
	c->log_arg = &log_buf;
}

static uint64_t spinner_id;

static ex_poll_t spin_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	spinner_id = ex_task_current_id();
	uint64_t end = rt_now_ns() + 5000000; /* 5 ms of CPU: blocks the worker, on purpose */
	while (rt_now_ns() < end)
		;
	f->output = 0;
	return EX_READY;
}

START_TEST(slow_poll_is_logged)
{
	struct ex_runtime *rt = rt_make(1, tweak);
	struct ex_future spin = { .poll = spin_poll };
	struct ex_join_handle h;
	ck_assert_int_eq(ex_spawn_on(rt, &spin, NULL, "spinner-xyz", &h), 0);
	struct ex_join j;
	int64_t out = -1;
	ck_assert_int_eq(ex_runtime_block_on(rt, &ex_join(&j, &h)->base, &out), 0);
	ck_assert_int_eq(out, 0);
	ex_runtime_free(rt);

	char id[32];
	snprintf(id, sizeof(id), "task %llu ", (unsigned long long)spinner_id);
	ck_assert_msg(strstr(log_buf, "spinner-xyz") != NULL, "log: %s", log_buf);
	ck_assert_msg(strstr(log_buf, id) != NULL, "log: %s", log_buf);
	ck_assert_int_ge(log_warnings, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("slow_poll");
	TCase *tc = tcase_create("slow_poll");
	tcase_set_timeout(tc, RT_CASE_TIMEOUT_S);
	tcase_add_test(tc, slow_poll_is_logged);
	suite_add_tcase(s, tc);
	return rt_run_suite(s);
}
