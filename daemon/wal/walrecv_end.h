/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_end.h — internal to the WAL receiver: the end of a stream, pg_receivewal's
 * HandleEndOfCopyStream and ReadEndOfStreamingResult (receivelog.c). The server ended the copy:
 * a timeline switch (its next timeline and where it starts) or the server stopping. Or the
 * receiver ends it to reconnect (a recycle, walrecv_stream.c): CopyDone, then the server's.
 * Or the task is stopping: a final status update and CopyDone. Then the segment is closed.
 */
#ifndef EXECD_WAL_WALRECV_END_H
#define EXECD_WAL_WALRECV_END_H

#include <libpq-fe.h>
#include <stdint.h>

#include <executor/async.h>

struct walrecv_stream;

struct walrecv_end {
	struct ex_future fut;
	struct ex_async a;
	struct walrecv_stream *s;
	PGresult *res;       /* the result after the copy */
	uint64_t deadline;   /* bound on the goodbye (ex_now_ns, ns) */
	int got;             /* a recycle: drain_copy's last result */
	unsigned ev;         /* a recycle: the socket events waited for */
	uint32_t next_tli;   /* timeline switch: the server's next timeline */
	uint64_t switch_lsn; /* timeline switch: where the next timeline starts */
};

/**
 * A future that ends the stream @p s after walrecv_stream() completed: follows a timeline switch
 * (persists the next timeline in wal.state), or sends the final status update at shutdown
 * (bounded by FINAL_FLUSH_NS); then frees the queue and closes the segment.
 * Output: 0 if the server switched timeline and the switch is persisted, or a recycle ended
 * cleanly (reconnect at once either way);
 * otherwise the connection's error (-errno, recorded) or -ECANCELED. Not cancel-safe.
 */
struct ex_future *walrecv_end(struct walrecv_end *e, struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_END_H */
