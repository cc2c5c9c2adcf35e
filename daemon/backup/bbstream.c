/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbstream.c — one base backup over the replication protocol, as pg_basebackup
 * takes it from a PostgreSQL 15 server (BaseBackup and ReceiveArchiveStream, pg_basebackup.c):
 * connect, BASE_BACKUP with a manifest and CRC-32C checksums and without WAL (the timeline has
 * it), the start position, the tablespace header, one COPY stream of typed messages ('n' a new
 * archive, 'd' data, 'p' progress, 'm' the manifest follows), then the end position.
 *
 * It runs as one job on the blocking pool (it writes files and compresses: blocking work), with
 * libpq non-blocking and every wait a poll(2) on the server's socket and an eventfd that the
 * task's cancellation token makes readable (the walrecv_flush.c pattern), so that a cancelled
 * backup stops at once, not at the next message. The tar stream is compressed with zstd
 * (streaming API) into `.tmp-<id>/base.tar.zst`; nothing is renamed into place unless the
 * whole stream arrived and every file is fsynced.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "bbint.h"
#include "fault.h"
#include "persist.h"
#include "wal/wal.h"

#define IDLE_MS (10 * 60 * 1000) /* a server silent this long during a backup is gone */
#define ZSTD_LEVEL 3

struct bbs {
	struct bb_job *job;
	PGconn *conn;
	int cancel_fd;
	bool watching;
	struct ex_cancelled cw;
	int tmpfd;     /* .tmp-<id>/ */
	int out_fd;    /* the file the 'd' messages go to */
	bool manifest; /* they go to backup_manifest (else base.tar.zst) */
	bool got_archive;
	ZSTD_CCtx *z;
	char *zbuf;
	size_t zcap;
};

static int fail(struct bbs *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct bbs *s, int err, const char *fmt, ...)
{
	va_list ap;
	if (s->job->errmsg[0])
		return err; /* the first error is the one reported */
	va_start(ap, fmt);
	vsnprintf(s->job->errmsg, sizeof s->job->errmsg, fmt, ap);
	va_end(ap);
	size_t n = strlen(s->job->errmsg);
	while (n && (s->job->errmsg[n - 1] == '\n' || s->job->errmsg[n - 1] == ' '))
		s->job->errmsg[--n] = '\0';
	return err;
}

/* ---- cancellation: the token wakes an eventfd in the poll set ---- */

static void fd_wake(const void *data)
{
	(void)eventfd_write((int)(intptr_t)data, 1);
}
static const void *fd_clone(const void *data)
{
	return data;
}
static void fd_drop(const void *data)
{
	(void)data;
}
static const struct ex_waker_vtable fd_waker_vtable = { fd_clone, fd_wake, fd_wake, fd_drop };

static void cancel_watch(struct bbs *s)
{
	s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->cancel_fd < 0 || !s->job->token)
		return; /* then cancellation is seen at the next 500 ms tick */
	struct ex_waker w = { &fd_waker_vtable, (const void *)(intptr_t)s->cancel_fd };
	struct ex_context cx = { .waker = &w };
	s->watching = ex_poll(&ex_cancelled(&s->cw, s->job->token)->base, &cx) == EX_PENDING;
}

static bool cancelled(const struct bbs *s)
{
	return s->job->token && ex_cancel_token_is_cancelled(s->job->token);
}

/* Wait for the server's socket (@p events) or cancellation. @return 0 or -errno. */
static int wait_sock(struct bbs *s, short events)
{
	struct pollfd p[2] = { { .fd = PQsocket(s->conn), .events = events },
			       { .fd = s->watching ? s->cancel_fd : -1, .events = POLLIN } };
	int waited = 0;
	for (;;) {
		if (cancelled(s))
			return fail(s, -ECANCELED, "the task was cancelled");
		int tick = s->watching ? IDLE_MS : 500;
		int k = poll(p, 2, tick);
		if (k < 0 && errno != EINTR)
			return fail(s, -errno, "poll: %s", strerror(errno));
		if (k > 0 && p[0].revents)
			return 0;
		if (k == 0 && (waited += tick) >= IDLE_MS)
			return fail(s, -ETIMEDOUT, "the server sent nothing for %d s",
				    IDLE_MS / 1000);
	}
}

/* ---- protocol phases ---- */

static int connect_server(struct bbs *s)
{
	const char *keys[] = { "dbname", "replication", "fallback_application_name", NULL };
	const char *vals[] = { s->job->conninfo, "true", "execd_basebackup", NULL };
	s->conn = PQconnectStartParams(keys, vals, 1);
	if (!s->conn)
		return fail(s, -ENOMEM, "out of memory");
	for (;;) {
		PostgresPollingStatusType st = PQconnectPoll(s->conn);
		int e;
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED)
			return fail(s, -ECONNREFUSED, "connecting: %s", PQerrorMessage(s->conn));
		if ((e = wait_sock(s, st == PGRES_POLLING_READING ? POLLIN : POLLOUT)) < 0)
			return e;
	}
	if (PQsetnonblocking(s->conn, 1) < 0)
		return fail(s, -EIO, "connecting: %s", PQerrorMessage(s->conn));
	return 0;
}

static int send_command(struct bbs *s)
{
	char cmd[256], rate[32] = "";
	int k, e;
	if (s->job->max_rate)
		snprintf(rate, sizeof rate, ", MAX_RATE %u", s->job->max_rate);
	/* PostgreSQL 15 syntax; WAL stays out (the timeline streams it), checkpoint now */
	snprintf(cmd, sizeof cmd,
		 "BASE_BACKUP ( LABEL 'execd %s', CHECKPOINT 'fast', MANIFEST 'yes', "
		 "MANIFEST_CHECKSUMS 'CRC32C', WAIT false%s )",
		 s->job->run->id, rate);
	if (!PQsendQuery(s->conn, cmd))
		return fail(s, -EIO, "BASE_BACKUP: %s", PQerrorMessage(s->conn));
	while ((k = PQflush(s->conn)) == 1)
		if ((e = wait_sock(s, POLLOUT)) < 0)
			return e;
	return k < 0 ? fail(s, -EIO, "sending: %s", PQerrorMessage(s->conn)) : 0;
}

/* The next result of the command (NULL at its end), waiting without blocking. */
static int next_result(struct bbs *s, PGresult **res)
{
	int e;
	while (PQisBusy(s->conn)) {
		if ((e = wait_sock(s, POLLIN)) < 0)
			return e;
		if (!PQconsumeInput(s->conn))
			return fail(s, -EIO, "receiving: %s", PQerrorMessage(s->conn));
	}
	*res = PQgetResult(s->conn);
	return 0;
}

/* A one-row result of (LSN, timeline): the start or end position. */
static int take_position(struct bbs *s, PGresult *res, const char *what, uint64_t *lsn,
			 uint32_t *tli)
{
	int r = 0;
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) < 2 || lsn_parse(PQgetvalue(res, 0, 0), lsn) < 0)
		r = fail(s, -EPROTO, "BASE_BACKUP: no %s position: %s", what,
			 res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
	else if (tli)
		*tli = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return r;
}

static int start_position(struct bbs *s)
{
	PGresult *res;
	int e = next_result(s, &res);
	if (e < 0)
		return e;
	if ((e = take_position(s, res, "start", &s->job->info.start_lsn,
			       &s->job->info.pg_timeline)) < 0)
		return e;
	/* from now on WAL retention keeps what this backup needs */
	atomic_store(&s->job->run->start_lsn, s->job->info.start_lsn);
	if ((e = next_result(s, &res)) < 0)
		return e;
	/* the tablespace header: one row per tablespace, the data directory's last */
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
		e = fail(s, -EPROTO, "BASE_BACKUP: %s",
			 res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
	else if (PQntuples(res) != 1)
		e = fail(s, -EOPNOTSUPP, "the server has tablespaces: not supported yet");
	PQclear(res);
	return e;
}

/* ---- files ---- */

static int write_all(struct bbs *s, int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(s, -errno, "writing the backup: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Compress @p len bytes (or, with @p end, finish the frame) into base.tar.zst. */
static int put_tar(struct bbs *s, const void *data, size_t len, bool end)
{
	ZSTD_inBuffer in = { data, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { s->zbuf, s->zcap, 0 };
		size_t left = ZSTD_compressStream2(s->z, &out, &in,
						   end ? ZSTD_e_end : ZSTD_e_continue);
		int e;
		if (ZSTD_isError(left))
			return fail(s, -EIO, "zstd: %s", ZSTD_getErrorName(left));
		if (out.pos && (e = write_all(s, s->out_fd, s->zbuf, out.pos)) < 0)
			return e;
		if (end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int open_out(struct bbs *s, const char *name)
{
	s->out_fd = openat(s->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	return s->out_fd < 0 ? fail(s, -errno, "creating %s: %s", name, strerror(errno)) : 0;
}

/* Finish the current file: the zstd frame (tar), fsync, close; its size counts. */
static int close_out(struct bbs *s)
{
	struct stat st;
	int e = 0;
	if (s->out_fd < 0)
		return 0;
	if (!s->manifest)
		e = put_tar(s, NULL, 0, true);
	if (!e && fsync(s->out_fd) < 0)
		e = fail(s, -errno, "fsync: %s", strerror(errno));
	if (!e && fstat(s->out_fd, &st) == 0)
		s->job->info.bytes += (uint64_t)st.st_size;
	close(s->out_fd);
	s->out_fd = -1;
	return e;
}

/* One CopyData message of the archive stream. */
static int take_message(struct bbs *s, const char *buf, size_t n)
{
	int e;
	switch (n ? buf[0] : 0) {
	case 'n': /* a new archive: "base.tar" for the data directory (tablespaces are refused) */
		if (s->got_archive || s->manifest || memchr(buf + 1, '\0', n - 1) == NULL ||
		    strcmp(buf + 1, "base.tar") != 0)
			return fail(s, -EPROTO, "unexpected archive '%.64s'", n > 1 ? buf + 1 : "");
		s->got_archive = true;
		return open_out(s, BB_TAR);
	case 'd':
		if (s->out_fd < 0)
			return fail(s, -EPROTO, "data before any archive");
		if (s->manifest)
			return write_all(s, s->out_fd, buf + 1, n - 1);
		s->job->info.tar_bytes += n - 1;
		return put_tar(s, buf + 1, n - 1, false);
	case 'p':
		return 0;
	case 'm': /* the archives are done; the manifest follows */
		if ((e = close_out(s)) < 0)
			return e;
		s->manifest = true;
		return open_out(s, BB_MANIFEST);
	default:
		return fail(s, -EPROTO, "unexpected message type %d in the backup stream",
			    n ? buf[0] : -1);
	}
}

static int receive_stream(struct bbs *s)
{
	PGresult *res;
	int e = next_result(s, &res);
	if (e < 0)
		return e;
	if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
		e = fail(s, -EPROTO, "BASE_BACKUP: %s",
			 res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
		PQclear(res);
		return e;
	}
	PQclear(res);
	for (;;) {
		char *buf;
		int n = PQgetCopyData(s->conn, &buf, 1);
		if (n > 0) {
			e = take_message(s, buf, (size_t)n);
			PQfreemem(buf);
			if (e < 0)
				return e;
		} else if (n == 0) {
			if ((e = wait_sock(s, POLLIN)) < 0)
				return e;
			if (!PQconsumeInput(s->conn))
				return fail(s, -EIO, "receiving: %s", PQerrorMessage(s->conn));
		} else if (n == -1) {
			break;
		} else {
			return fail(s, -EIO, "receiving: %s", PQerrorMessage(s->conn));
		}
	}
	if (!s->manifest)
		return fail(s, -EPROTO, "the backup stream ended without a manifest");
	return close_out(s);
}

/* After the COPY: its completion, the end position, the command's completion. */
static int end_position(struct bbs *s)
{
	PGresult *res;
	bool have_end = false;
	int e;
	for (;;) {
		if ((e = next_result(s, &res)) < 0)
			return e;
		if (!res)
			break;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK && !have_end) {
			if ((e = take_position(s, res, "end", &s->job->info.end_lsn, NULL)) < 0)
				return e;
			have_end = true;
			continue;
		}
		if (st != PGRES_COMMAND_OK) {
			e = fail(s, -EIO, "BASE_BACKUP: %s", PQresultErrorMessage(res));
			PQclear(res);
			return e;
		}
		PQclear(res);
	}
	return have_end ? 0 : fail(s, -EPROTO, "BASE_BACKUP: no end position");
}

/* ---- the job ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_tmp(struct bbs *s)
{
	char name[BACKUP_ID_MAX + 8];
	int e = bb_ensure_dir(s->job->bdir);
	if (e < 0)
		return fail(s, e, "creating %s: %s", s->job->bdir, strerror(-e));
	snprintf(name, sizeof name, BB_TMP_PREFIX "%s", s->job->run->id);
	int dfd = open(s->job->bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || mkdirat(dfd, name, 0750) < 0 ||
	    (s->tmpfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		e = fail(s, -errno, "creating the backup directory: %s", strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return e;
}

static int take(struct bbs *s)
{
	int e;
	if (!(s->z = ZSTD_createCCtx()) || !(s->zbuf = malloc(s->zcap = ZSTD_CStreamOutSize())))
		return fail(s, -ENOMEM, "out of memory");
	ZSTD_CCtx_setParameter(s->z, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(s->z, ZSTD_c_checksumFlag, 1);
	if ((e = make_tmp(s)) < 0 || (e = connect_server(s)) < 0 || (e = send_command(s)) < 0 ||
	    (e = start_position(s)) < 0 || (e = receive_stream(s)) < 0 || (e = end_position(s)) < 0)
		return e;
	s->job->info.end_ms = wall_ms();
	if ((e = bb_write_info(s->tmpfd, &s->job->info)) < 0)
		return fail(s, e, "writing " BB_INFO ": %s", strerror(-e));
	/* tests only: everything written, nothing complete yet (fault.h, test_backup.py) */
	fault_hold_write(s->job->bdir, BB_INFO);
	if (cancelled(s)) /* the last moment a cancellation still undoes the backup */
		return fail(s, -ECANCELED, "the task was cancelled");
	if ((e = bb_commit(s->job->bdir, s->job->run->id)) < 0)
		return fail(s, e, "completing the backup: %s", strerror(-e));
	return 0;
}

int bb_job_run(struct bb_job *job)
{
	struct bbs s = { .job = job, .cancel_fd = -1, .tmpfd = -1, .out_fd = -1 };
	struct backup_info *info = &job->info;
	int e;
	memset(info, 0, sizeof *info);
	snprintf(info->id, sizeof info->id, "%s", job->run->id);
	info->start_ms = job->run->start_ms;
	info->complete = true;
	cancel_watch(&s);
	e = take(&s);
	if (s.out_fd >= 0)
		close(s.out_fd);
	if (s.conn)
		PQfinish(s.conn); /* a backup cut short ends on the server with the connection */
	if (s.tmpfd >= 0)
		close(s.tmpfd);
	if (e < 0) {
		char *tmp;
		if (asprintf(&tmp, "%s/" BB_TMP_PREFIX "%s", job->bdir, job->run->id) >= 0) {
			persist_remove_tree(tmp);
			free(tmp);
		}
	}
	if (s.watching)
		s.cw.cs.release(&s.cw.cs); /* no wake reaches cancel_fd after this */
	if (s.cancel_fd >= 0)
		close(s.cancel_fd);
	ZSTD_freeCCtx(s.z);
	free(s.zbuf);
	return e;
}
