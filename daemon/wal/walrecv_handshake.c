/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_handshake.c — the receiver's connection and handshake (walrecv_handshake.h):
 * connect with libpq, then IDENTIFY_SYSTEM, [CREATE_REPLICATION_SLOT], [READ_REPLICATION_SLOT],
 * persist the start, [TIMELINE_HISTORY], START_REPLICATION, one function per step, as
 * pg_receivewal's streamutil.c and receivelog.c have (neon's walreceiver runs the same commands).
 *
 * PQconnectStartParams may resolve a host name, so it runs on the blocking pool; PQconnectPoll
 * and the queries are driven by socket readiness (walrecv_wait), with libpq non-blocking:
 * PQsendQuery, then PQflush/PQconsumeInput until PQisBusy says the first result is complete.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <executor/blocking.h>
#include <executor/seqwait.h>

#include "persist.h"
#include "wal.h"
#include "walfmt.h"
#include "walrecv_conn.h"
#include "walrecv_handshake.h"
#include "walseg.h"
#include "waltl.h"

/* On the blocking pool: where a persisted timeline resumes (a directory look-up past its complete
 * segments), then PQconnectStartParams (it may resolve a host name). */
static int64_t job_connect(void *arg)
{
	struct walrecv_handshake *h = arg;
	struct wal_timeline *wt = h->c->wt;
	const char *keys[] = { "dbname", "replication", "fallback_application_name", NULL };
	const char *vals[] = { wt->source, "true", "execd", NULL };
	h->resume_lsn = wt->has_persisted ? wt->persisted.flush_lsn : 0;
	h->resume_err = h->resume_lsn ? walseg_resume_lsn(wt->dirfd, wt->persisted.pg_timeline,
							  h->resume_lsn, &h->resume_lsn)
				      : 0;
	h->c->conn = PQconnectStartParams(keys, vals, 1);
	return h->c->conn ? 0 : -ENOMEM;
}

/* job_connect returned @p e: @return 0 if PQconnectPoll can take over, or the error. */
static int connect_started(struct walrecv_handshake *h, int e)
{
	struct walrecv_conn *c = h->c;
	if (h->resume_err < 0)
		return walrecv_fail(c, h->resume_err,
				    "finding where to resume in the WAL directory: %s",
				    strerror(-h->resume_err));
	if (e < 0 || PQstatus(c->conn) == CONNECTION_BAD)
		return walrecv_fail(c, -ECONNREFUSED, "connecting: %s",
				    c->conn ? PQerrorMessage(c->conn) : "out of memory");
	c->sock = PQsocket(c->conn);
	return 0;
}

/* The command of step h->step into h->cmd. The slot name is valid already (slot_name_valid at
 * timeline.create and when the metadata is loaded) and quoted by libpq besides
 * (PQescapeIdentifier): no identifier reaches the server pasted in by hand, so a check that is
 * bypassed (an edited timeline.json) cannot turn a name into syntax. @return 0 or -ENOMEM. */
static int step_command(struct walrecv_handshake *h)
{
	struct wal_timeline *wt = h->c->wt;
	char *slot = NULL, l[20];
	if (wt->slot && !(slot = PQescapeIdentifier(h->c->conn, wt->slot, strlen(wt->slot))))
		return walrecv_fail(h->c, -ENOMEM, "quoting the slot name: %s",
				    PQerrorMessage(h->c->conn));
	lsn_format(h->start_lsn, l);
	if (h->step == WALRECV_IDENTIFY)
		snprintf(h->cmd, sizeof h->cmd, "IDENTIFY_SYSTEM");
	else if (h->step == WALRECV_CREATE_SLOT)
		snprintf(h->cmd, sizeof h->cmd, "CREATE_REPLICATION_SLOT %s PHYSICAL RESERVE_WAL",
			 slot);
	else if (h->step == WALRECV_READ_SLOT)
		snprintf(h->cmd, sizeof h->cmd, "READ_REPLICATION_SLOT %s", slot);
	else if (h->step == WALRECV_TIMELINE_HISTORY)
		snprintf(h->cmd, sizeof h->cmd, "TIMELINE_HISTORY %u", h->tli);
	else if (slot)
		snprintf(h->cmd, sizeof h->cmd, "START_REPLICATION SLOT %s PHYSICAL %s TIMELINE %u",
			 slot, l, h->tli);
	else
		snprintf(h->cmd, sizeof h->cmd, "START_REPLICATION PHYSICAL %s TIMELINE %u", l,
			 h->tli);
	PQfreemem(slot);
	return 0;
}

/* IDENTIFY_SYSTEM answered systemid, timeline, xlogpos, dbname. @return the next step or -errno. */
static int step_identify(struct walrecv_handshake *h)
{
	struct walrecv_conn *c = h->c;
	struct wal_timeline *wt = c->wt;
	PGresult *res = h->res;
	uint64_t pos;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 3)
		return walrecv_fail(c, -EPROTO, "IDENTIFY_SYSTEM: %s", PQerrorMessage(c->conn));
	uint64_t sysid = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	uint32_t tli = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	if (lsn_parse(PQgetvalue(res, 0, 2), &pos) < 0 || tli == 0)
		return walrecv_fail(c, -EPROTO, "IDENTIFY_SYSTEM: unexpected answer");
	if (wt->has_persisted && wt->persisted.system_id && wt->persisted.system_id != sysid)
		return walrecv_fail(
			c, -EXDEV, "the server's system identifier %llu is not the timeline's %llu",
			(unsigned long long)sysid, (unsigned long long)wt->persisted.system_id);
	if (pos > atomic_load(&wt->server_lsn))
		atomic_store(&wt->server_lsn, pos);
	pthread_mutex_lock(&wt->lock);
	wt->system_id = sysid;
	if (!wt->pg_timeline)
		wt->pg_timeline = tli;
	pthread_mutex_unlock(&wt->lock);
	/* where to start: the persisted flush LSN, or past the complete segments after it
	 * (walseg_resume_lsn); else the requested or current position rounded down to its segment
	 * (as pg_receivewal starts a new directory) */
	if (wt->has_persisted && wt->persisted.flush_lsn) {
		h->start_lsn = h->resume_lsn;
		h->tli = wt->persisted.pg_timeline ? wt->persisted.pg_timeline : tli;
	} else {
		h->start_lsn = wal_segno_lsn(wal_segno(wt->start_lsn ? wt->start_lsn : pos));
		h->tli = tli;
	}
	walrecv_results_done(c, &h->res);
	bool fresh = !wt->has_persisted || wt->persisted.system_id != sysid;
	h->need_persist = fresh || h->start_lsn != wt->persisted.flush_lsn;
	h->read_slot = wt->slot && fresh && !wt->start_lsn;
	if (wt->slot && wt->create_slot)
		return WALRECV_CREATE_SLOT;
	return h->read_slot ? WALRECV_READ_SLOT : WALRECV_PERSIST_START;
}

/* CREATE_REPLICATION_SLOT: an existing slot (42710, duplicate_object) is fine. */
static int step_create_slot(struct walrecv_handshake *h)
{
	const char *state = PQresultErrorField(h->res, PG_DIAG_SQLSTATE);
	if (PQresultStatus(h->res) != PGRES_TUPLES_OK && !(state && strcmp(state, "42710") == 0))
		return walrecv_fail(h->c, -EIO, "CREATE_REPLICATION_SLOT: %s",
				    PQerrorMessage(h->c->conn));
	walrecv_results_done(h->c, &h->res);
	return h->read_slot ? WALRECV_READ_SLOT : WALRECV_PERSIST_START;
}

/* READ_REPLICATION_SLOT: slot_type, restart_lsn, restart_tli. A new timeline on an existing slot
 * starts where the slot holds WAL (pg_receivewal does). */
static int step_read_slot(struct walrecv_handshake *h)
{
	PGresult *res = h->res;
	uint64_t at;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < 3)
		return walrecv_fail(h->c, -EIO, "READ_REPLICATION_SLOT: %s",
				    PQerrorMessage(h->c->conn));
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1) &&
	    lsn_parse(PQgetvalue(res, 0, 1), &at) == 0 && at) {
		h->start_lsn = wal_segno_lsn(wal_segno(at));
		if (!PQgetisnull(res, 0, 2))
			h->tli = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
	}
	walrecv_results_done(h->c, &h->res);
	return WALRECV_PERSIST_START;
}

/* After the start is persisted (or needed no persisting): a timeline after the first fetches its
 * history file first. */
static int step_after_persist(const struct walrecv_handshake *h)
{
	return h->tli > 1 ? WALRECV_TIMELINE_HISTORY : WALRECV_START_REPLICATION;
}

/* The start was written to wal.state (walrecv_save_state returned @p e): only now does the
 * in-memory flush LSN follow it (seed 002). @return the next step or -errno. */
static int step_start_persisted(struct walrecv_handshake *h, int e)
{
	struct wal_timeline *wt = h->c->wt;
	if (e < 0)
		return walrecv_fail(h->c, e, "writing wal.state: %s", strerror(-e));
	wt->persisted = h->c->saving;
	wt->has_persisted = true;
	if (atomic_load(&wt->flush_lsn) < h->start_lsn) {
		atomic_store(&wt->flush_lsn, h->start_lsn);
		ex_seqwait_advance(wt->flush_wait, h->start_lsn);
	}
	return step_after_persist(h);
}

/* TIMELINE_HISTORY: filename, content; the file must be the one asked for. */
static int step_history_check(struct walrecv_handshake *h)
{
	char want[32];
	snprintf(want, sizeof want, "%08X.history", h->tli);
	if (PQresultStatus(h->res) != PGRES_TUPLES_OK || PQntuples(h->res) != 1 ||
	    PQnfields(h->res) < 2)
		return walrecv_fail(h->c, -EPROTO, "TIMELINE_HISTORY %u: %s", h->tli,
				    PQerrorMessage(h->c->conn));
	if (strcmp(PQgetvalue(h->res, 0, 0), want) != 0)
		return walrecv_fail(h->c, -EPROTO,
				    "TIMELINE_HISTORY %u: the server sent the file '%.64s'", h->tli,
				    PQgetvalue(h->res, 0, 0));
	return 0;
}

/* On the blocking pool: the history file goes next to the timeline's segments before the first
 * of them, so that the directory says where each timeline branched off (what pg_receivewal
 * keeps, and a restore needs); unless it is there already (existsTimeLineHistoryFile). */
static int64_t job_history(void *arg)
{
	struct walrecv_handshake *h = arg;
	struct wal_timeline *wt = h->c->wt;
	const char *name = PQgetvalue(h->res, 0, 0);
	if (faccessat(wt->dirfd, name, F_OK, 0) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	return persist_write_file(wt->dirpath, name, PQgetvalue(h->res, 0, 1),
				  (size_t)PQgetlength(h->res, 0, 1));
}

/* job_history returned @p e. */
static int step_history_stored(struct walrecv_handshake *h, int e)
{
	if (e < 0)
		return walrecv_fail(h->c, e, "writing %s: %s", PQgetvalue(h->res, 0, 0),
				    strerror(-e));
	walrecv_results_done(h->c, &h->res);
	return WALRECV_START_REPLICATION;
}

/* START_REPLICATION: the server is streaming (COPY_BOTH; its result repeats, so not drained). */
static int step_start_replication(struct walrecv_handshake *h)
{
	if (PQresultStatus(h->res) != PGRES_COPY_BOTH)
		return walrecv_fail(h->c, -EIO, "%s: %s", h->cmd, PQerrorMessage(h->c->conn));
	PQclear(h->res);
	h->res = NULL;
	return WALRECV_HANDSHAKE_DONE;
}

/* The step's first result is in h->res (TIMELINE_HISTORY's file is stored already). */
static int step_result(struct walrecv_handshake *h)
{
	switch (h->step) {
	case WALRECV_IDENTIFY:
		return step_identify(h);
	case WALRECV_CREATE_SLOT:
		return step_create_slot(h);
	case WALRECV_READ_SLOT:
		return step_read_slot(h);
	case WALRECV_START_REPLICATION:
		return step_start_replication(h);
	default:
		return walrecv_fail(h->c, -EINVAL, "handshake: no result expected at step %d",
				    (int)h->step);
	}
}

/* A step failed with @p e: the result is released (the supervisor closes the connection). */
static int step_failed(struct walrecv_handshake *h, int e)
{
	if (h->res)
		PQclear(h->res);
	h->res = NULL;
	return e;
}

static ex_poll_t handshake_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv_handshake *h = ex_container_of(f, struct walrecv_handshake, fut);
	struct walrecv_conn *c = h->c;
	int e;

	EX_BEGIN(&h->a);
	EX_AWAIT(&h->a, cx, task_mgr_spawn_blocking(&c->blk, job_connect, h));
	if ((e = connect_started(h, (int)EX_AWAITED(&h->a))) < 0)
		EX_RETURN(&h->a, f, e);
	for (h->ps = PGRES_POLLING_WRITING; h->ps != PGRES_POLLING_OK;
	     h->ps = PQconnectPoll(c->conn)) {
		if (h->ps == PGRES_POLLING_FAILED)
			EX_RETURN(&h->a, f,
				  walrecv_fail(c, -ECONNREFUSED, "connecting: %s",
					       PQerrorMessage(c->conn)));
		h->ev = h->ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		c->sock = PQsocket(c->conn); /* may change between attempts (several hosts) */
		EX_AWAIT(&h->a, cx, walrecv_wait(c, h->ev, UINT64_MAX));
		if (walrecv_woke(c, h->ev) == WALRECV_WOKE_CANCELLED)
			EX_RETURN(&h->a, f, -ECANCELED);
	}
	if (PQsetnonblocking(c->conn, 1) != 0)
		EX_RETURN(&h->a, f,
			  walrecv_fail(c, -EIO, "PQsetnonblocking: %s", PQerrorMessage(c->conn)));
	c->sock = PQsocket(c->conn);

	for (h->step = WALRECV_IDENTIFY; h->step != WALRECV_HANDSHAKE_DONE;
	     h->step = (enum walrecv_step)e) {
		if (h->step == WALRECV_PERSIST_START) {
			e = step_after_persist(h);
			if (!h->need_persist)
				continue;
			EX_AWAIT(&h->a, cx,
				 walrecv_save_state(c, (struct walstate){ c->wt->system_id, h->tli,
									  h->start_lsn,
									  c->wt->persisted.seq }));
			if ((e = step_start_persisted(h, (int)EX_AWAITED(&h->a))) < 0)
				EX_RETURN(&h->a, f, e);
			continue;
		}
		if ((e = step_command(h)) < 0)
			EX_RETURN(&h->a, f, e);
		if (!PQsendQuery(c->conn, h->cmd))
			EX_RETURN(&h->a, f,
				  walrecv_fail(c, -EIO, "%s: %s", h->cmd, PQerrorMessage(c->conn)));
		/* until the first result is complete (the others are drained after it) */
		while ((e = walrecv_send(c)) != 0 || PQisBusy(c->conn)) {
			if (e < 0)
				EX_RETURN(&h->a, f, e);
			h->ev = e ? POLLIN | POLLOUT : POLLIN;
			EX_AWAIT(&h->a, cx, walrecv_wait(c, h->ev, UINT64_MAX));
			if (walrecv_woke(c, h->ev) == WALRECV_WOKE_CANCELLED)
				EX_RETURN(&h->a, f, -ECANCELED);
			if (!PQconsumeInput(c->conn))
				EX_RETURN(&h->a, f,
					  walrecv_fail(c, -EIO, "receiving: %s",
						       PQerrorMessage(c->conn)));
		}
		h->res = PQgetResult(c->conn);
		if (h->step == WALRECV_TIMELINE_HISTORY) {
			if ((e = step_history_check(h)) < 0)
				EX_RETURN(&h->a, f, step_failed(h, e));
			EX_AWAIT(&h->a, cx, task_mgr_spawn_blocking(&c->blk, job_history, h));
			e = step_history_stored(h, (int)EX_AWAITED(&h->a));
		} else {
			e = step_result(h);
		}
		if (e < 0)
			EX_RETURN(&h->a, f, step_failed(h, e));
	}
	EX_END(&h->a, f, 0);
}

struct ex_future *walrecv_handshake(struct walrecv_handshake *h, struct walrecv_conn *c)
{
	*h = (struct walrecv_handshake){ .fut.poll = handshake_poll, .c = c };
	return &h->fut;
}
