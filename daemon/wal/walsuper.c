/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walsuper.c — the supervision of a timeline's WAL tasks (walsuper.h): spawning
 * them, restarting a receiver task that ended with a backoff, pause and resume, and what
 * timeline.show says about why a timeline is not streaming.
 *
 * A successor is spawned from the drop of the receiver that ended, while that one is still
 * registered: task_mgr's sticky shutdown (a delete, task.shutdown of the timeline, the daemon
 * stopping) refuses the spawn or cancels the successor, so a restart never outlives a shutdown.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <executor/seqwait.h>

#include "log.h"
#include "registry/timeline.h"
#include "task_mgr.h"
#include "wal.h"
#include "walcompress.h"
#include "walgc.h"
#include "walphase.h"
#include "walrecv.h"
#include "walsuper.h"
#include "waltl.h"

#define RESTART_MIN_NS (100ull * 1000000)
#define RESTART_MAX_NS (30ull * 1000000000)

static int64_t unix_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void walsuper_init(struct wal_timeline *wt, const struct timeline *tl)
{
	memset(&wt->super, 0, sizeof wt->super);
	wt->super.tl = tl;
	wt->super.restart_backoff_ns = RESTART_MIN_NS;
}

bool walsuper_paused(const struct wal_timeline *wt)
{
	return wt->super.tl && __atomic_load_n(&wt->super.tl->paused, __ATOMIC_ACQUIRE);
}

/* Number of tasks of @p kind that run for the timeline. */
static size_t running(const struct wal_timeline *wt, enum task_kind kind)
{
	struct task_mgr_filter f = { .has_kind = true, .kind = kind, .timeline = &wt->timeline_id };
	return task_mgr_count(&f);
}

/* Spawn a receiver, waiting @p delay_ns first. @return 0 and *id, or -errno. */
static int spawn_receiver(struct wal_timeline *wt, uint64_t delay_ns, uint64_t *id)
{
	struct ex_future *f = walrecv_new(wt);
	if (!f)
		return -ENOMEM;
	walrecv_set_start_delay(f, delay_ns);
	return task_mgr_spawn(TASK_KIND_WAL_RECEIVER, &wt->tenant_id, &wt->timeline_id,
			      "walreceiver", false, f, walrecv_drop, id);
}

/* Spawn @p f, one of a timeline's helper tasks; a failure is logged with @p what. */
static void spawn_helper(struct timeline *tl, enum task_kind kind, const char *name,
			 struct ex_future *f, void (*drop)(struct ex_future *), const char *what)
{
	int r = f ? task_mgr_spawn(kind, &tl->tenant_id, &tl->id, name, false, f, drop, NULL)
		  : -ENOMEM;
	if (r < 0)
		execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "%s: %s", what, strerror(-r));
}

int walsuper_spawn(struct timeline *tl, struct wal_timeline *wt)
{
	int r = 0;
	if (running(wt, TASK_KIND_WAL_RECEIVER) == 0 && (r = spawn_receiver(wt, 0, NULL)) < 0)
		return r;
	/* From here the receiver runs and uses wt, so the start succeeds (the caller would free
	 * the timeline on an error): a GC or compressor that cannot be spawned is logged. */
	if (running(wt, TASK_KIND_RETENTION_GC) == 0)
		spawn_helper(tl, TASK_KIND_RETENTION_GC, "retention_gc", walgc_new(wt), walgc_drop,
			     "cannot start WAL retention (segments are kept)");
	if (running(wt, TASK_KIND_WAL_COMPRESS) == 0)
		spawn_helper(tl, TASK_KIND_WAL_COMPRESS, "wal_compress", walcompress_new(wt),
			     walcompress_drop,
			     "cannot start WAL compression (segments stay plain)");
	if (wal_remote_hooks()->spawn)
		wal_remote_hooks()->spawn(tl);
	return 0;
}

void walsuper_streaming(struct wal_timeline *wt)
{
	pthread_mutex_lock(&wt->lock);
	wt->super.restart_backoff_ns = RESTART_MIN_NS;
	wt->super.unreachable_since_ms = 0;
	wt->super.retry_at_ms = 0;
	pthread_mutex_unlock(&wt->lock);
}

void walsuper_failed(struct wal_timeline *wt, uint64_t wait_ns)
{
	int64_t now = unix_now_ms();
	pthread_mutex_lock(&wt->lock);
	if (!wt->super.unreachable_since_ms)
		wt->super.unreachable_since_ms = now;
	wt->super.retry_at_ms = now + (int64_t)(wait_ns / 1000000);
	pthread_mutex_unlock(&wt->lock);
}

/* The receiver ends for good (delete, daemon shutdown): waiters for an LSN that will not come
 * now learn it (-ESHUTDOWN). */
static void stopped(struct wal_timeline *wt, const char *why)
{
	char l[20];
	if (why) { /* it may start again: wait_lsn waiters keep waiting */
		walrecv_phase_set(wt, WALRECV_STOPPED, "%s", why);
	} else {
		walrecv_phase_set(wt, WALRECV_STOPPED, NULL);
		ex_seqwait_shutdown(wt->flush_wait);
	}
	lsn_format(atomic_load(&wt->flush_lsn), l);
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "WAL receiver stopped at %s%s%s",
		      l, why ? ": " : "", why ? why : "");
}

/* The next restart's wait, doubled for the one after (up to RESTART_MAX_NS). */
static uint64_t next_restart_wait(struct wal_timeline *wt)
{
	pthread_mutex_lock(&wt->lock);
	uint64_t wait = wt->super.restart_backoff_ns;
	wt->super.restart_backoff_ns = wait * 2 > RESTART_MAX_NS ? RESTART_MAX_NS : wait * 2;
	wt->super.restarts++;
	wt->super.retry_at_ms = unix_now_ms() + (int64_t)(wait / 1000000);
	pthread_mutex_unlock(&wt->lock);
	return wait;
}

/* A receiver cancelled on request: its successor, after the restart backoff. */
static void restart(struct wal_timeline *wt, enum ex_cancel_reason reason)
{
	uint64_t wait = next_restart_wait(wt), id = 0;
	walrecv_phase_set(wt, WALRECV_BACKOFF, "the WAL receiver task ended (%s); restarting it",
			  ex_cancel_reason_name(reason));
	int r = spawn_receiver(wt, wait, &id);
	if (r == -ESHUTDOWN) {
		stopped(wt, "not restarted: the timeline's tasks are shut down; "
			    "'execctl timeline resume' starts them again");
		return;
	}
	if (r < 0) {
		execd_log_ids(LOG_ERR, &wt->tenant_id, &wt->timeline_id,
			      "cannot restart the WAL receiver: %s", strerror(-r));
		stopped(wt, "not restarted (see the log); 'execctl timeline resume' retries");
		return;
	}
	execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
		      "WAL receiver task ended (%s); restarted as task %llu in %llu ms",
		      ex_cancel_reason_name(reason), (unsigned long long)id,
		      (unsigned long long)(wait / 1000000));
}

void walsuper_ended(struct wal_timeline *wt, enum ex_cancel_reason reason)
{
	if (walsuper_paused(wt)) {
		char l[20];
		walrecv_phase_set(wt, WALRECV_PAUSED, NULL);
		lsn_format(atomic_load(&wt->flush_lsn), l);
		execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id,
			      "WAL receiver paused at %s", l);
	} else if (reason == EX_CANCEL_SHUTDOWN || reason == EX_CANCEL_DELETED) {
		stopped(wt, NULL);
	} else {
		restart(wt, reason);
	}
}

int wal_timeline_resume(struct timeline *tl)
{
	struct wal_timeline *wt = tl->wal;
	if (!wt)
		return -ENOENT;
	if (!wt->source)
		return 0;
	if (atomic_load(&wt->damaged))
		return -EUCLEAN; /* its WAL state failed the start-up check: timeline.repair first */
	pthread_mutex_lock(&wt->lock);
	wt->super.restart_backoff_ns = RESTART_MIN_NS;
	bool was_down = wt->phase == WALRECV_PAUSED || wt->phase == WALRECV_STOPPED;
	pthread_mutex_unlock(&wt->lock);
	int r = walsuper_spawn(tl, wt);
	if (r < 0)
		walrecv_phase_set(wt, WALRECV_STOPPED, "cannot start the WAL receiver: %s",
				  strerror(-r));
	else if (was_down) /* until the receiver shows its own phase */
		walrecv_phase_set(wt, WALRECV_CONNECTING, NULL);
	return r;
}

static bool add_ms_or_null(cJSON *obj, const char *key, int64_t ms)
{
	return ms ? cJSON_AddNumberToObject(obj, key, (double)ms) != NULL
		  : cJSON_AddNullToObject(obj, key) != NULL;
}

int walsuper_show(struct wal_timeline *wt, cJSON *obj)
{
	pthread_mutex_lock(&wt->lock);
	struct walsuper s = wt->super;
	bool waiting = wt->phase == WALRECV_BACKOFF;
	pthread_mutex_unlock(&wt->lock);
	bool ok = cJSON_AddBoolToObject(obj, "paused", walsuper_paused(wt)) &&
		  cJSON_AddNumberToObject(obj, "restarts", (double)s.restarts) &&
		  add_ms_or_null(obj, "unreachable_since_ms", s.unreachable_since_ms) &&
		  add_ms_or_null(obj, "retry_at_ms", waiting ? s.retry_at_ms : 0);
	return ok ? 0 : -ENOMEM;
}
