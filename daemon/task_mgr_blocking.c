/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr_blocking.c — blocking jobs that log as the task that spawned them.
 *
 * A blocking job runs on a pool thread, where no task is current: without this, a message it
 * logs ("tenant created", a failed fsync of the flush job) would carry no TASK_KIND, TASK_ID or
 * TASK_NAME, and the journal could not tell which request or receiver it came from. The job
 * carries a copy of its task's identity; while it runs, that copy is the pool thread's
 * identity for the log hook (task_mgr.c). tokio-console and neon's task-local log spans do the
 * same for spawn_blocking.
 */
#include "task_mgr_int.h"

static __thread const struct task_identity *tm_blocking_ident;

bool tm_blocking_identity(struct task_identity *out)
{
	const struct task_identity *id = tm_blocking_ident;
	if (!id)
		return false;
	*out = *id;
	return true;
}

/* On the pool thread: run the job with its task's identity. */
static int64_t run_as_task(void *arg)
{
	struct task_mgr_blocking *b = arg;
	const struct task_identity *saved = tm_blocking_ident;
	int64_t r;

	tm_blocking_ident = b->has_ident ? &b->ident : NULL;
	r = b->fn(b->arg);
	tm_blocking_ident = saved;
	return r;
}

struct ex_future *task_mgr_spawn_blocking(struct task_mgr_blocking *b, int64_t (*fn)(void *arg),
					  void *arg)
{
	b->fn = fn;
	b->arg = arg;
	b->has_ident = task_mgr_current_identity(&b->ident);
	return ex_spawn_blocking(&b->blk, run_as_task, b);
}
