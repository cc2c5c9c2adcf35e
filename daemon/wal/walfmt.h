/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walfmt.h — internal: PostgreSQL's WAL names and the physical streaming
 * replication messages (pure functions, no I/O; unit-tested in tests/wal/test_walfmt).
 *
 * Layouts from PostgreSQL's src/include/access/xlog_internal.h (XLogFileName) and
 * "Streaming Replication Protocol" (protocol-replication.html): every integer is big-endian.
 */
#ifndef EXECD_WAL_WALFMT_H
#define EXECD_WAL_WALFMT_H

#include <stddef.h>
#include <stdint.h>

/** The segment size execd stores: PostgreSQL's default 16 MiB (bytes). */
#define WAL_SEG_SIZE (16u * 1024u * 1024u)
/** XLogSegmentsPerXLogId for 16 MiB segments: segments per 4 GiB "log" id. */
#define WAL_SEGS_PER_XLOGID (UINT64_C(0x100000000) / WAL_SEG_SIZE)
/** Length of a segment file name (XLOG_FNAME_LEN), without ".partial". */
#define WAL_FNAME_LEN 24

/** Segment number containing @p lsn. */
static inline uint64_t wal_segno(uint64_t lsn)
{
	return lsn / WAL_SEG_SIZE;
}
/** Offset of @p lsn inside its segment (bytes). */
static inline uint32_t wal_seg_offset(uint64_t lsn)
{
	return (uint32_t)(lsn % WAL_SEG_SIZE);
}
/** First LSN of segment @p segno. */
static inline uint64_t wal_segno_lsn(uint64_t segno)
{
	return segno * WAL_SEG_SIZE;
}

/**
 * XLogFileName: "%08X%08X%08X" of timeline @p tli, log id and segment within the log id.
 * Writes WAL_FNAME_LEN characters and a NUL into @p buf.
 */
void wal_seg_name(uint32_t tli, uint64_t segno, char buf[static WAL_FNAME_LEN + 1]);

/**
 * Parse a segment file name (exactly 24 hex digits, optionally followed by ".partial").
 * @return 0 and the fields (and *partial = 1 if ".partial"); -EINVAL for any other name.
 */
int wal_seg_parse(const char *name, uint32_t *tli, uint64_t *segno, int *partial);

/** PostgreSQL timestamps: microseconds since 2000-01-01 00:00:00 UTC. */
int64_t wal_pg_now_us(void);

/** One message of the CopyBoth stream from the server. */
struct wal_msg {
	char type;            /* 'w' XLogData, 'k' primary keepalive */
	uint64_t start_lsn;   /* 'w': dataStart */
	uint64_t wal_end;     /* 'w','k': the server's current end of WAL */
	int64_t send_time_us; /* PostgreSQL timestamp */
	int reply_requested;  /* 'k': the server asks for a status update now */
	const char *data;     /* 'w': the WAL bytes (points into the message) */
	size_t len;           /* 'w': their length (bytes) */
};

/**
 * Parse one CopyData payload @p buf of @p len bytes from the server.
 * @return 0 and *m filled; -EPROTO if it is truncated or of an unknown type.
 */
int wal_msg_parse(const char *buf, size_t len, struct wal_msg *m);

/**
 * Whether the stream may take message @p m (parsed by wal_msg_parse) when the WAL it received
 * so far ends at LSN @p expected: XLogData that carries WAL must continue exactly there (as
 * pg_receivewal's ProcessXLogDataMsg demands: the server sends from START_REPLICATION's LSN
 * on, without gaps or overlaps) and must not end past the last LSN. Keepalives always may.
 * Pure; thread-safe. @return 0; -EPROTO if not.
 */
int wal_msg_check(const struct wal_msg *m, uint64_t expected);

/** Size of a standby status update ('r') message, bytes. */
#define WAL_STATUS_LEN 34

/**
 * Build a standby status update: 'r', write, flush, apply LSNs, client time, reply flag.
 * @return WAL_STATUS_LEN (bytes written into @p buf).
 */
size_t wal_status_build(char buf[static WAL_STATUS_LEN], uint64_t write_lsn, uint64_t flush_lsn,
			uint64_t apply_lsn, int64_t now_us, int reply_requested);

#endif /* EXECD_WAL_WALFMT_H */
