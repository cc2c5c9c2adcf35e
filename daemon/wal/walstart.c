/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstart.c — a timeline's WAL state checked at start and repaired on request
 * (walstart.h; wal_timeline_repair of wal.h). The check itself is walcheck.c's; this file
 * decides what a timeline does with its report: trust the state, or stand still in a visible
 * error state that acknowledges nothing beyond the WAL on disk until an operator repairs it.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <executor/seqwait.h>

#include "log.h"
#include "registry/timeline.h"
#include "wal.h"
#include "walcheck.h"
#include "walfmt.h"
#include "walphase.h"
#include "walstart.h"
#include "waltl.h"

/* The LSN the timeline may claim after check @p rep of state @p st: what is really on disk. */
static uint64_t on_disk_lsn(const struct walstate *st, const struct walcheck_report *rep)
{
	if (rep->kind == WALCHECK_OK)
		return rep->state_loaded ? st->flush_lsn : 0;
	if (rep->state_loaded && st->flush_lsn < rep->resume_lsn)
		return st->flush_lsn;
	return rep->resume_lsn;
}

/* Make @p st (checked by @p rep) the timeline's state in memory: after it is on disk (seed 002). */
static void adopt(struct wal_timeline *wt, const struct walstate *st,
		  const struct walcheck_report *rep)
{
	uint64_t lsn = on_disk_lsn(st, rep);
	pthread_mutex_lock(&wt->lock);
	wt->has_persisted = rep->state_loaded;
	if (rep->state_loaded)
		wt->persisted = *st;
	wt->system_id = rep->state_loaded && st->system_id ? st->system_id : rep->system_id;
	wt->pg_timeline = rep->state_loaded && st->pg_timeline ? st->pg_timeline : rep->tli;
	wt->check = *rep;
	pthread_mutex_unlock(&wt->lock);
	atomic_store(&wt->flush_lsn, lsn);
	atomic_store(&wt->received_lsn, lsn);
	atomic_store(&wt->damaged, rep->kind != WALCHECK_OK);
}

int walstart_load(struct wal_timeline *wt)
{
	struct walstate st = { 0 };
	struct walcheck_report rep;
	int r = walcheck_load(wt->dirfd, WAL_SEG_SIZE, &st, &rep);
	if (r < 0) {
		execd_log_ids(LOG_ERR, &wt->tenant_id, &wt->timeline_id,
			      "cannot check the WAL state in %s: %s", wt->dirpath, strerror(-r));
		return r;
	}
	adopt(wt, &st, &rep);
	if (rep.kind != WALCHECK_OK) {
		char l[20];
		lsn_format(atomic_load(&wt->flush_lsn), l);
		execd_log_ids(LOG_ERR, &wt->tenant_id, &wt->timeline_id,
			      "WAL check failed (%s); not streaming, flush LSN %s: %s",
			      walcheck_kind_name(rep.kind), l, rep.message);
	}
	return 0;
}

void walstart_phase(struct wal_timeline *wt)
{
	if (atomic_load(&wt->damaged))
		walrecv_phase_set(wt, WALRECV_ERROR, "%s", wt->check.message);
	else
		walrecv_phase_set(wt, wt->source ? WALRECV_CONNECTING : WALRECV_IDLE, NULL);
}

bool walstart_refuses(struct wal_timeline *wt, uint64_t lsn)
{
	return atomic_load(&wt->damaged) && lsn > atomic_load(&wt->flush_lsn);
}

int walstart_show(struct wal_timeline *wt, cJSON *obj)
{
	char rs[20];
	cJSON *c = cJSON_AddObjectToObject(obj, "check");
	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&wt->lock);
	bool damaged = atomic_load(&wt->damaged);
	const char *status = damaged ? "damaged" : wt->repaired ? "repaired" : "ok";
	const char *problem = damaged ? walcheck_kind_name(wt->check.kind) : NULL;
	char *msg = damaged ? strdup(wt->check.message) : NULL;
	uint64_t resume = wt->check.resume_lsn;
	pthread_mutex_unlock(&wt->lock);
	lsn_format(resume, rs);
	bool ok = (!damaged || msg) && cJSON_AddStringToObject(c, "status", status) &&
		  (problem ? cJSON_AddStringToObject(c, "problem", problem)
			   : cJSON_AddNullToObject(c, "problem")) &&
		  (msg ? cJSON_AddStringToObject(c, "message", msg)
		       : cJSON_AddNullToObject(c, "message")) &&
		  (damaged && resume ? cJSON_AddStringToObject(c, "resume_lsn", rs)
				     : cJSON_AddNullToObject(c, "resume_lsn"));
	free(msg);
	return ok ? 0 : -ENOMEM;
}

/* --- repair -------------------------------------------------------------------------------- */

/* Check again (an operator may have restored files since the start) and repair from the disk.
 * @return 0 and *st, *rep (rep->kind OK: nothing needed repairing any more); -EUCLEAN: nothing
 * on disk to resume from; -errno. */
static int repair_files(struct wal_timeline *wt, struct walstate *st, struct walcheck_report *rep)
{
	int r = walcheck_load(wt->dirfd, WAL_SEG_SIZE, st, rep);
	if (r < 0 || rep->kind == WALCHECK_OK)
		return r;
	if (!rep->resume_lsn || !rep->tli)
		return -EUCLEAN;
	if (!rep->state_loaded)
		memset(st, 0, sizeof *st);
	if ((r = walcheck_repair(wt->dirfd, rep, WAL_SEG_SIZE, st)) < 0)
		return r;
	rep->state_loaded = true; /* the repaired state, checked by construction */
	rep->kind = WALCHECK_OK;
	rep->message[0] = '\0';
	return 0;
}

/* The repair of @p tl's files is on disk: the timeline in memory follows, then it streams. */
static int resume(struct timeline *tl, struct wal_timeline *wt, const struct walstate *st,
		  const struct walcheck_report *rep)
{
	char l[20];
	adopt(wt, st, rep);
	pthread_mutex_lock(&wt->lock);
	wt->repaired = true;
	free(wt->error);
	wt->error = NULL;
	pthread_mutex_unlock(&wt->lock);
	ex_seqwait_advance(wt->flush_wait, atomic_load(&wt->flush_lsn));
	lsn_format(atomic_load(&wt->flush_lsn), l);
	execd_log_ids(LOG_NOTICE, &tl->tenant_id, &tl->id,
		      "WAL state repaired: resuming from %s (damaged files kept as *.damaged)", l);
	walstart_phase(wt);
	int r = wt->source ? waltl_spawn_tasks(tl, wt) : 0;
	if (r < 0)
		walrecv_phase_set(wt, WALRECV_ERROR, "cannot start the WAL receiver: %s",
				  strerror(-r));
	return r;
}

int wal_timeline_repair(struct timeline *tl, uint64_t *flush_lsn)
{
	struct wal_timeline *wt = tl->wal;
	struct walstate st = { 0 };
	struct walcheck_report *rep;
	if (!wt)
		return -ENOENT;
	if (!atomic_load(&wt->damaged))
		return -EINVAL;
	if (atomic_exchange(&wt->repairing, true))
		return -EALREADY;
	if (!(rep = malloc(sizeof *rep))) {
		atomic_store(&wt->repairing, false);
		return -ENOMEM;
	}
	int r = repair_files(wt, &st, rep);
	if (r == 0)
		r = resume(tl, wt, &st, rep);
	else
		execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "WAL repair failed: %s",
			      strerror(-r));
	*flush_lsn = atomic_load(&wt->flush_lsn);
	free(rep);
	atomic_store(&wt->repairing, false);
	return r;
}
