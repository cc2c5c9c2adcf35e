/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_stream.h — internal to the WAL receiver: the stream once START_REPLICATION
 * succeeded, pg_receivewal's HandleCopyStream (receivelog.c) and neon's walreceiver
 * handle_walreceiver_connection: CopyData in, XLogData to the segment files, keepalives
 * answered, standby status updates out. The state of a stream, shared by its parts: the loop
 * (walrecv_stream.c) awaits the flush (walrecv_flush.c); both, and the end of the copy
 * (walrecv_end.c), use the CopyData helpers (walrecv_copy.c), which call none of them.
 */
#ifndef EXECD_WAL_WALRECV_STREAM_H
#define EXECD_WAL_WALRECV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <executor/async.h>
#include <executor/cancel.h>

#include "walrecv_flush.h"
#include "walrecv_persist.h"
#include "walseg.h"

struct walrecv_conn;

/* One XLogData message held between the socket and the flush. */
struct walrecv_msg {
	struct walrecv_msg *next;
	char *buf; /* from PQgetCopyData (PQfreemem) */
	uint64_t lsn;
	const char *data;
	size_t len;
};

/** What the last walrecv_receive() found. */
enum walrecv_input {
	WALRECV_INPUT_EMPTY,    /* everything the server sent is taken (libpq and the socket) */
	WALRECV_INPUT_MORE,     /* the queue is full, or a message is partly read: take more soon */
	WALRECV_INPUT_COPY_END, /* the server ended the copy (CopyDone); results follow */
	WALRECV_INPUT_FAILED,   /* the connection failed (error recorded) */
};

static inline bool walrecv_input_ended(enum walrecv_input in)
{
	return in == WALRECV_INPUT_COPY_END || in == WALRECV_INPUT_FAILED;
}

struct walrecv_stream {
	struct ex_future fut;
	struct ex_async a;
	struct walrecv_conn *c;
	/* the segment files (the flush writes, the end of the stream closes) */
	struct walseg_writer w;
	bool writer_open;
	uint64_t prep_for; /* the segment whose successor was handed to walprep_start */
	/* received, not yet written: walrecv_receive() appends, the flush takes */
	struct walrecv_msg *head, **tail;
	size_t pending_bytes;
	uint64_t unsynced_bytes;   /* written since the last sync (metrics: flushed bytes) */
	uint64_t pending_end;      /* end LSN of the last pending message */
	enum walrecv_input input;  /* walrecv_receive()'s last result, kept across the flush */
	bool copy_done_seen;       /* PQgetCopyData returned -1 on this connection */
	bool copy_ended;           /* the loop ended at the server's end of the copy */
	bool recycle;              /* the loop ended to reconnect (walrecv_stream.c, recycle_due) */
	size_t max_msg;            /* the largest CopyData message on this connection, bytes */
	uint64_t recycle_after_ns; /* not before then on this connection (ex_now_ns) */
	uint64_t last_recycle_ns;  /* when a stream last ended to recycle (ex_now_ns; 0 = never) */
	/* standby status updates */
	uint64_t next_status_ns; /* when the periodic one is due (ex_now_ns, ns) */
	uint64_t reported_flush; /* the last flush position sent on this connection */
	bool reply_requested;    /* a keepalive asked for a reply */
	unsigned ev;             /* socket events being waited for */
	struct walrecv_flush fl; /* the flush being awaited (walrecv_flush.c) */
	/* wal.state's write beside the stream (walrecv_persist.c) */
	struct walrecv_persist persist;
	uint64_t last_persist_ns; /* when wal.state was last written on this stream (ex_now_ns) */
	bool walstate_two_slots;  /* this stream wrote wal.state, so it has two slots */
};

/** Prepare @p s once per receiver (the preparation mark outlives connections). */
void walrecv_stream_init(struct walrecv_stream *s, struct walrecv_conn *c);

/** Release what @p s holds (queued messages). */
void walrecv_stream_release(struct walrecv_stream *s);

/**
 * A future that streams from @p start_lsn on PostgreSQL timeline @p tli into the timeline's
 * segments until the server ends the copy, an error, the task's cancellation, or, caught up, a
 * reconnection is due to shed libpq's grown input buffer (s->recycle). Output: 0 if the server
 * ended the copy (s->copy_ended; walrecv_end reads its result) or s->recycle (walrecv_end ends
 * the copy, everything received being synced and persisted); -ECANCELED if asked
 * to stop (everything received is flushed); -errno with the error recorded. The segment stays
 * open (s->writer_open) for walrecv_end. Not cancel-safe.
 */
struct ex_future *walrecv_stream(struct walrecv_stream *s, uint64_t start_lsn, uint32_t tli);

#endif /* EXECD_WAL_WALRECV_STREAM_H */
