/* SPDX-License-Identifier: MIT */
/*
 * daemon/task_mgr_shutdown.c — shutdown_tasks: cancel the matching tasks and wait for them to
 * end, naming the stragglers at the deadline; see task_mgr.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "task_mgr_int.h"

#include <executor/time.h>

/* ---- shutdown_tasks ---- */

#define STILL_WAITING_LOG_NS (1000ull * 1000 * 1000)

struct tm_shutdown_priv {
	struct tm_waiter waiter;
	struct ex_sleep sleep;
	bool sleeping;
	uint64_t deadline_ns, next_log_ns;
	struct task_snapshot *snaps; /* everything that matched */
	uint64_t *ex_ids;
	struct ex_runtime **rts;
	size_t n;
	int err;
};

/* Must hold tm.lock: every waiter is a shutdown's; those that matched task @p id keep its final
 * statistics (once it is gone, the executor no longer has them). */
void tm_shutdowns_note_end_locked(uint64_t id, const struct ex_task_info *info)
{
	for (struct tm_waiter *w = tm.waiters; w; w = w->next) {
		struct tm_shutdown_priv *p = ex_container_of(w, struct tm_shutdown_priv, waiter);
		for (size_t i = 0; i < p->n; i++)
			if (p->snaps[i].ident.id == id) {
				p->snaps[i].polls = info->polls;
				p->snaps[i].busy_ns = info->busy_ns;
				p->snaps[i].max_poll_ns = info->max_poll_ns;
				break;
			}
	}
}

static void waiter_link_locked(struct tm_waiter *w)
{
	if (w->linked)
		return;
	w->prev = NULL;
	w->next = tm.waiters;
	if (tm.waiters)
		tm.waiters->prev = w;
	tm.waiters = w;
	w->linked = true;
}

static void waiter_unlink_locked(struct tm_waiter *w)
{
	if (!w->linked)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		tm.waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->linked = false;
}

/* Must hold tm.lock. */
static bool task_alive_locked(uint64_t id)
{
	for (struct tm_task *t = tm.head; t; t = t->next)
		if (t->ident.id == id)
			return true;
	return false;
}

static void shutdown_finish(struct task_mgr_shutdown *s, struct tm_shutdown_priv *p)
{
	size_t ne = 0, nr = 0;
	bool *alive = calloc(p->n ? p->n : 1, sizeof *alive);

	pthread_mutex_lock(&tm.lock);
	waiter_unlink_locked(&p->waiter);
	ex_waker_drop(&p->waiter.waker);
	for (size_t i = 0; alive && i < p->n; i++)
		alive[i] = task_alive_locked(p->snaps[i].ident.id);
	pthread_mutex_unlock(&tm.lock);
	s->ended = calloc(p->n ? p->n : 1, sizeof *s->ended);
	s->remaining = calloc(p->n ? p->n : 1, sizeof *s->remaining);
	if (!alive || !s->ended || !s->remaining) {
		free(alive);
		free(s->ended);
		free(s->remaining);
		s->ended = s->remaining = NULL;
		s->fut.output = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (alive[i]) {
			struct task_snapshot *r = &s->remaining[nr++];
			*r = p->snaps[i];
			r->cancel_requested = true;
			tm_snap_stats(r, p->ex_ids[i], p->rts[i]);
		} else {
			s->ended[ne] = p->snaps[i];
			s->ended[ne].state = TASK_STATE_DONE;
			s->ended[ne].cancel_requested = true;
			ne++;
		}
	}
	s->n_ended = ne;
	s->n_remaining = nr;
	s->fut.output = (int64_t)nr;
	free(alive);
}

static void log_stragglers(struct tm_shutdown_priv *p, size_t remaining)
{
	char buf[1024];
	size_t off = 0;
	pthread_mutex_lock(&tm.lock);
	for (size_t i = 0; i < p->n && off < sizeof buf - 1; i++)
		if (task_alive_locked(p->snaps[i].ident.id))
			off += (size_t)snprintf(
				buf + off, sizeof buf - off, "%s%llu (%s, '%s')", off ? ", " : "",
				(unsigned long long)p->snaps[i].ident.id,
				task_kind_name(p->snaps[i].ident.kind), p->snaps[i].ident.name);
	pthread_mutex_unlock(&tm.lock);
	if (off >= sizeof buf - 1)
		strcpy(buf + sizeof buf - 5, "...");
	log_warning("shutdown: still waiting for %zu task%s: %s", remaining,
		    remaining == 1 ? "" : "s", off ? buf : "");
}

static ex_poll_t shutdown_poll(struct ex_future *f, struct ex_context *cx)
{
	struct task_mgr_shutdown *s = ex_container_of(f, struct task_mgr_shutdown, fut);
	struct tm_shutdown_priv *p = s->priv;

	if (!p)
		return EX_READY; /* already finished (output set) */
	if (p->err) {
		f->output = p->err;
		goto done;
	}
	for (;;) {
		size_t remaining = 0;
		uint64_t now;

		pthread_mutex_lock(&tm.lock);
		for (size_t i = 0; i < p->n; i++)
			remaining += task_alive_locked(p->snaps[i].ident.id);
		if (remaining) {
			/* registered under the lock that task ends take: no end is missed */
			ex_waker_store(&p->waiter.waker, cx->waker);
			waiter_link_locked(&p->waiter);
		}
		pthread_mutex_unlock(&tm.lock);
		if (!remaining)
			break;
		now = ex_now_ns();
		if (now >= p->deadline_ns) {
			log_stragglers(p, remaining);
			log_error("shutdown: %zu task%s did not end by the deadline", remaining,
				  remaining == 1 ? "" : "s");
			break;
		}
		if (now >= p->next_log_ns) {
			log_stragglers(p, remaining);
			p->next_log_ns = now + STILL_WAITING_LOG_NS;
		}
		if (!p->sleeping) {
			uint64_t until = p->next_log_ns < p->deadline_ns ? p->next_log_ns
									 : p->deadline_ns;
			ex_sleep_until(&p->sleep, until);
			p->sleeping = true;
		}
		if (ex_poll(&p->sleep.cs.base, cx) == EX_PENDING)
			return EX_PENDING;
		p->sleeping = false; /* the timer fired: re-check, maybe log, re-arm */
	}
	if (p->sleeping) {
		p->sleep.cs.release(
			&p->sleep.cs); /* a sleep is cancel-safe: release leaves no trace */
		p->sleeping = false;
	}
	shutdown_finish(s, p);
done:
	free(p->snaps);
	free(p->ex_ids);
	free(p->rts);
	free(p);
	s->priv = NULL;
	return EX_READY;
}

struct ex_future *task_mgr_shutdown_tasks(struct task_mgr_shutdown *s,
					  const struct task_mgr_filter *f,
					  enum ex_cancel_reason reason, uint64_t deadline_ns)
{
	struct tm_shutdown_priv *p;

	memset(s, 0, sizeof *s);
	s->fut.poll = shutdown_poll;
	p = calloc(1, sizeof *p);
	if (!p) {
		s->fut.output = -ENOMEM;
		return &s->fut;
	}
	s->priv = p;
	p->deadline_ns = deadline_ns;
	p->next_log_ns = ex_now_ns() + STILL_WAITING_LOG_NS;
	if (!f || !(f->all || f->has_kind || f->tenant || f->timeline || f->with_tenant ||
		    f->with_timeline)) {
		p->err = -EINVAL; /* refuse an accidental "everything" */
		return &s->fut;
	}
	pthread_mutex_lock(&tm.lock);
	if ((f->tenant || f->timeline) && !f->has_kind)
		p->err = tm_block_locked(f->tenant, f->timeline);
	if (!p->err)
		p->err = tm_collect_locked(f, &p->snaps, &p->ex_ids, &p->rts, &p->n);
	if (!p->err && p->n)
		/* linked before any token is cancelled (its waker comes with the first poll): a task
		 * that ends before that poll still leaves its final statistics in p->snaps */
		waiter_link_locked(&p->waiter);
	if (!p->err)
		for (struct tm_task *t = tm.head; t; t = t->next)
			if (tm_match(f, t))
				ex_cancel_token_cancel(t->token, reason);
	pthread_mutex_unlock(&tm.lock);
	if (!p->err && p->n)
		log_info("shutdown: cancelled %zu task%s (%s)", p->n, p->n == 1 ? "" : "s",
			 ex_cancel_reason_name(reason));
	return &s->fut;
}

void task_mgr_shutdown_clear(struct task_mgr_shutdown *s)
{
	free(s->ended);
	free(s->remaining);
	s->ended = s->remaining = NULL;
	s->n_ended = s->n_remaining = 0;
}
