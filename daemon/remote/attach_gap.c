/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/attach_gap.c — at tenant.attach, whether a timeline's source still holds the
 * WAL from the remote flush position on (attach.h: attach_gap_check). A clean detach leaves the
 * slot at that position; a machine lost before it uploaded its last segments leaves the slot
 * further on, and that WAL exists nowhere: the gap is named in the reply and the log, never
 * skipped silently. PostgreSQL keeps the segment of a slot's restart LSN and every later one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "attach.h"
#include "log.h"
#include "rindex.h"
#include "wal/wal.h"
#include "wal/walfmt.h"

/* The slot's restart LSN into *lsn (0: the slot holds none). @return 0 or -1 with @p why. */
static int read_slot(const struct remote_index *idx, uint64_t *lsn, char *why, size_t whylen)
{
	const char *keys[] = { "dbname", "replication", "connect_timeout",
			       "fallback_application_name", NULL };
	const char *vals[] = { idx->source, "true", "10", "execd-attach", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res = NULL;
	char *q = NULL, *slot = NULL;
	int r = -1;
	*lsn = 0;
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(why, whylen, "source unreachable: %s", PQerrorMessage(c));
		goto out;
	}
	if (!(slot = PQescapeIdentifier(c, idx->slot, strlen(idx->slot))) ||
	    asprintf(&q, "READ_REPLICATION_SLOT %s", slot) < 0) {
		snprintf(why, whylen, "out of memory");
		q = NULL;
		goto out;
	}
	res = PQexec(c, q);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < 2) {
		snprintf(why, whylen, "READ_REPLICATION_SLOT: %s", PQerrorMessage(c));
		goto out;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 1))
		lsn_parse(PQgetvalue(res, 0, 1), lsn);
	r = 0;
out:
	for (char *p = why; *p; p++) /* one line */
		if (*p == '\n')
			*p = ' ';
	PQclear(res);
	PQfreemem(slot);
	free(q);
	PQfinish(c);
	return r;
}

void attach_gap_check(const struct remote_index *idx, char *gap, size_t gaplen)
{
	char why[200], a[20], b[20];
	uint64_t restart;
	gap[0] = '\0';
	if (!idx->source || !idx->slot || !idx->remote_flush_lsn)
		return; /* nothing to resume, or no slot that could tell */
	if (read_slot(idx, &restart, why, sizeof why) < 0) {
		snprintf(gap, gaplen, "not checked (%s)", why);
		execd_log_ids(LOG_WARNING, &idx->tenant, &idx->timeline,
			      "attach: cannot check the source's slot for a gap: %s", why);
		return;
	}
	uint64_t from = wal_segno_lsn(wal_segno(idx->remote_flush_lsn));
	if (!restart || wal_segno(restart) <= wal_segno(from))
		return;
	lsn_format(idx->remote_flush_lsn, a);
	lsn_format(wal_segno_lsn(wal_segno(restart)), b);
	snprintf(gap, gaplen,
		 "WAL %s to %s is neither in remote storage nor on the source any more (its slot "
		 "restarts at %s's segment): streaming cannot resume without a gap",
		 a, b, b);
	execd_log_ids(LOG_ERR, &idx->tenant, &idx->timeline, "attach: gap: %s", gap);
}
