/* SPDX-License-Identifier: MIT */
/* daemon/shutdown.c — the ordered graceful shutdown; see shutdown.h. */
#include "shutdown.h"

#include <string.h>

#include <executor/time.h>

#include "log.h"

#define SHUTDOWN_RESERVE_NS (1000ull * 1000 * 1000) /* per later step, at most 1/8 of the budget */

/* The order: each step's filter. Front-door first (no new work), then the data path from the
 * leaves (timelines) up (tenants), then whatever is left (status, ...). */
static bool shutdown_step(unsigned step, struct task_mgr_filter *f, const char **what)
{
	memset(f, 0, sizeof *f);
	switch (step) {
	case 0:
		f->has_kind = true;
		f->kind = TASK_KIND_CONTROL_LISTENER;
		*what = "control listener";
		return true;
	case 1:
		f->has_kind = true;
		f->kind = TASK_KIND_CONTROL_REQUEST;
		*what = "control connections and requests";
		return true;
	case 2:
		f->with_timeline = true;
		*what = "timeline tasks";
		return true;
	case 3:
		f->with_tenant = true;
		*what = "tenant tasks";
		return true;
	case 4:
		f->all = true;
		*what = "remaining tasks";
		return true;
	default:
		return false;
	}
}

static unsigned steps_after(unsigned step)
{
	struct task_mgr_filter f;
	const char *what;
	unsigned n = 0;
	while (shutdown_step(step + 1 + n, &f, &what))
		n++;
	return n;
}

static ex_poll_t daemon_shutdown_poll(struct ex_future *f, struct ex_context *cx)
{
	struct daemon_shutdown *s = ex_container_of(f, struct daemon_shutdown, fut);

	EX_BEGIN(&s->a);
	task_mgr_block_all(); /* nothing new starts from now on */
	{
		uint64_t now = ex_now_ns(),
			 budget = s->deadline_ns > now ? s->deadline_ns - now : 0;
		s->reserve_ns = budget / 8 < SHUTDOWN_RESERVE_NS ? budget / 8 : SHUTDOWN_RESERVE_NS;
	}
	for (s->step = 0; shutdown_step(s->step, &s->filt, &s->what); s->step++) {
		log_debug("shutdown: stopping %s", s->what);
		/* Each later step keeps a reserve out of the deadline: a task stuck here leaves the
		 * next steps time to cancel theirs (so that only real stragglers are named), and the
		 * whole shutdown still ends by the deadline. */
		s->step_deadline_ns = s->deadline_ns - steps_after(s->step) * s->reserve_ns;
		EX_AWAIT(&s->a, cx,
			 task_mgr_shutdown_tasks(&s->sd, &s->filt, EX_CANCEL_SHUTDOWN,
						 s->step_deadline_ns));
		if (EX_AWAITED(&s->a) < 0) {
			log_error("shutdown: cannot stop %s: %s", s->what,
				  strerror((int)-EX_AWAITED(&s->a)));
		} else if (EX_AWAITED(&s->a) > 0 && s->filt.all) {
			/* the last step matches every task left: its stragglers are the distinct set */
			for (size_t i = 0; i < s->sd.n_remaining; i++)
				log_error("shutdown: task %llu (%s, '%s') still running at the "
					  "shutdown deadline (it stops with the process)",
					  (unsigned long long)s->sd.remaining[i].ident.id,
					  task_kind_name(s->sd.remaining[i].ident.kind),
					  s->sd.remaining[i].ident.name);
			s->stuck = (size_t)EX_AWAITED(&s->a);
		} else if (EX_AWAITED(&s->a) > 0) {
			log_warning(
				"shutdown: %lld of the %s still run past their deadline; going on",
				(long long)EX_AWAITED(&s->a), s->what);
		}
		task_mgr_shutdown_clear(&s->sd);
	}
	EX_END(&s->a, f, (int64_t)s->stuck);
}

struct ex_future *daemon_shutdown(struct daemon_shutdown *s, uint64_t deadline_ns)
{
	memset(s, 0, sizeof *s);
	s->fut.poll = daemon_shutdown_poll;
	s->deadline_ns = deadline_ns;
	return &s->fut;
}
