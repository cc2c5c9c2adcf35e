/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walfmt.c — LSN text form, segment names, streaming-replication messages: pure
 * functions after PostgreSQL's xlog_internal.h (XLogFileName) and the replication protocol's
 * XLogData, keepalive and standby status update messages (walreceiver.c, receivelog.c).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wal.h"
#include "walfmt.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse 1..8 hex digits from *s up to @p stop (a character or NUL). */
static int parse_half(const char **s, char stop, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;
	for (; **s && **s != stop; (*s)++, n++) {
		int d = hexval(**s);
		if (d < 0 || n >= 8)
			return -EINVAL;
		v = (v << 4) | (uint32_t)d;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int lsn_parse(const char *s, uint64_t *out)
{
	uint32_t hi, lo;
	if (!s || parse_half(&s, '/', &hi) < 0 || *s != '/')
		return -EINVAL;
	s++;
	if (parse_half(&s, '\0', &lo) < 0 || *s)
		return -EINVAL;
	*out = ((uint64_t)hi << 32) | lo;
	return 0;
}

void lsn_format(uint64_t lsn, char buf[static 20])
{
	snprintf(buf, 20, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

void wal_seg_name(uint32_t tli, uint64_t segno, char buf[static WAL_FNAME_LEN + 1])
{
	snprintf(buf, WAL_FNAME_LEN + 1, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli,
		 (uint32_t)(segno / WAL_SEGS_PER_XLOGID), (uint32_t)(segno % WAL_SEGS_PER_XLOGID));
}

int wal_seg_parse(const char *name, uint32_t *tli, uint64_t *segno, int *partial)
{
	uint32_t f[3] = { 0, 0, 0 };
	for (int i = 0; i < WAL_FNAME_LEN; i++) {
		int d = hexval(name[i]);
		/* PostgreSQL writes uppercase only; lowercase is not one of its names. */
		if (d < 0 || (name[i] >= 'a' && name[i] <= 'f'))
			return -EINVAL;
		f[i / 8] = (f[i / 8] << 4) | (uint32_t)d;
	}
	const char *rest = name + WAL_FNAME_LEN;
	if (*rest == '\0')
		*partial = 0;
	else if (strcmp(rest, ".partial") == 0)
		*partial = 1;
	else
		return -EINVAL;
	if (f[2] >= WAL_SEGS_PER_XLOGID || f[0] == 0)
		return -EINVAL;
	*tli = f[0];
	*segno = (uint64_t)f[1] * WAL_SEGS_PER_XLOGID + f[2];
	return 0;
}

int64_t wal_pg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* 946684800 s: 1970-01-01 to 2000-01-01 (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE days). */
	return ((int64_t)ts.tv_sec - 946684800) * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t get64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

static void put64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

int wal_msg_parse(const char *buf, size_t len, struct wal_msg *m)
{
	memset(m, 0, sizeof *m);
	if (len < 1)
		return -EPROTO;
	m->type = buf[0];
	switch (m->type) {
	case 'w': /* XLogData: Byte1('w') Int64 dataStart Int64 walEnd Int64 sendTime Byte(n) */
		if (len < 25)
			return -EPROTO;
		m->start_lsn = get64(buf + 1);
		m->wal_end = get64(buf + 9);
		m->send_time_us = (int64_t)get64(buf + 17);
		m->data = buf + 25;
		m->len = len - 25;
		return 0;
	case 'k': /* keepalive: Byte1('k') Int64 walEnd Int64 sendTime Byte1 replyRequested */
		if (len < 18)
			return -EPROTO;
		m->wal_end = get64(buf + 1);
		m->send_time_us = (int64_t)get64(buf + 9);
		m->reply_requested = buf[17] != 0;
		return 0;
	default:
		return -EPROTO;
	}
}

int wal_msg_check(const struct wal_msg *m, uint64_t expected)
{
	if (m->type != 'w' || m->len == 0)
		return 0;
	if (m->start_lsn != expected || m->len > UINT64_MAX - m->start_lsn)
		return -EPROTO;
	return 0;
}

size_t wal_status_build(char buf[static WAL_STATUS_LEN], uint64_t write_lsn, uint64_t flush_lsn,
			uint64_t apply_lsn, int64_t now_us, int reply_requested)
{
	buf[0] = 'r';
	put64(buf + 1, write_lsn);
	put64(buf + 9, flush_lsn);
	put64(buf + 17, apply_lsn);
	put64(buf + 25, (uint64_t)now_us);
	buf[33] = reply_requested ? 1 : 0;
	return WAL_STATUS_LEN;
}
