/* SPDX-License-Identifier: MIT */
/*
 * tests/wal/walstream-host.c — a blocking, single-connection driver of the WAL core
 * (daemon/wal/walfmt.c, walseg.c, walstate.c) for host tests: it streams from a PostgreSQL
 * server into DIR exactly as the daemon's receiver stores WAL, until the flush LSN reaches
 * STOP_LSN, so that tests can compare its segments with pg_receivewal's before and apart from
 * the daemon. Usage: walstream-host CONNINFO DIR START_LSN|resume STOP_LSN
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"
#include "walfmt.h"
#include "walseg.h"
#include "walstate.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "walstream-host: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: walstream-host CONNINFO DIR START_LSN|resume STOP_LSN\n");
		return 2;
	}
	const char *keys[] = { "dbname", "replication", NULL };
	const char *vals[] = { argv[1], "true", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "walstream-host: connect: %s", PQerrorMessage(c));
		return 1;
	}
	mkdir(argv[2], 0700);
	int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		die("open dir", errno);
	PGresult *res = PQexec(c, "IDENTIFY_SYSTEM");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < 3) {
		fprintf(stderr, "walstream-host: IDENTIFY_SYSTEM: %s", PQerrorMessage(c));
		return 1;
	}
	struct walstate st = { 0 };
	st.system_id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	st.pg_timeline = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	uint64_t start, stop;
	if (strcmp(argv[3], "resume") == 0) {
		struct walstate old;
		int r = walstate_load(dirfd, &old);
		if (r < 0)
			die("load state", r);
		start = old.flush_lsn;
	} else if (lsn_parse(argv[3], &start) < 0 || lsn_parse(argv[4], &stop) < 0) {
		die("bad LSN", EINVAL);
	}
	if (lsn_parse(argv[4], &stop) < 0)
		die("bad LSN", EINVAL);
	start = wal_segno_lsn(wal_segno(start)) +
		(strcmp(argv[3], "resume") == 0 ? wal_seg_offset(start) : 0);
	char cmd[128], l[20];
	lsn_format(start, l);
	snprintf(cmd, sizeof cmd, "START_REPLICATION PHYSICAL %s TIMELINE %u", l, st.pg_timeline);
	res = PQexec(c, cmd);
	if (PQresultStatus(res) != PGRES_COPY_BOTH) {
		fprintf(stderr, "walstream-host: %s: %s", cmd, PQerrorMessage(c));
		return 1;
	}
	PQclear(res);
	struct walseg_writer w;
	walseg_writer_init(&w, dirfd, st.pg_timeline, start);
	st.flush_lsn = start;
	int r = walstate_save(dirfd, &st);
	if (r < 0)
		die("save state", r);
	while (st.flush_lsn < stop) {
		char *buf;
		int n = PQgetCopyData(c, &buf, 0);
		if (n < 0) {
			fprintf(stderr, "walstream-host: stream ended: %s", PQerrorMessage(c));
			return 1;
		}
		struct wal_msg m;
		if ((r = wal_msg_parse(buf, (size_t)n, &m)) < 0)
			die("message", r);
		int reply = m.reply_requested;
		if (m.type == 'w' && (r = walseg_write(&w, m.start_lsn, m.data, m.len)) < 0)
			die("write", r);
		PQfreemem(buf);
		if (w.write_lsn > st.flush_lsn && (r = walseg_sync(&w)) >= 0) {
			st.flush_lsn = w.sync_lsn;
			if ((r = walstate_save(dirfd, &st)) < 0)
				die("save state", r);
			reply = 1;
		}
		if (r < 0)
			die("sync", r);
		if (reply) {
			char s[WAL_STATUS_LEN];
			wal_status_build(s, w.write_lsn, st.flush_lsn, 0, wal_pg_now_us(), 0);
			if (PQputCopyData(c, s, sizeof s) != 1 || PQflush(c) != 0)
				die("status update", EIO);
		}
	}
	if ((r = walseg_close(&w)) < 0)
		die("close", r);
	lsn_format(st.flush_lsn, l);
	printf("%s\n", l);
	PQfinish(c);
	return 0;
}
