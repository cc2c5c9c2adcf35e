/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_copy.h — internal to the WAL receiver: CopyData of a stream both ways,
 * taking the server's messages and sending standby status updates (walrecv_copy.c).
 * Thread-safety: called by the task (the flush runs in it), one thread at a time.
 */
#ifndef EXECD_WAL_WALRECV_COPY_H
#define EXECD_WAL_WALRECV_COPY_H

#include <stdint.h>

#include "walrecv_stream.h"

/**
 * Take every complete message libpq holds (reading the socket when libpq's buffer is empty and
 * a zero-timeout poll finds data) until the queue holds PENDING_MAX (1 MiB) of WAL: XLogData is
 * queued, a keepalive's reply request sets s->reply_requested; both advance the server LSN.
 * @return what it found (enum walrecv_input); WALRECV_INPUT_FAILED with the error recorded.
 */
enum walrecv_input walrecv_receive(struct walrecv_stream *s);

/** Free the queued messages. */
void walrecv_pending_free(struct walrecv_stream *s);

/** The flush position to report to the server, an LSN (see walrecv_copy.c for why it may be
 * ahead of wal.state). */
uint64_t walrecv_flush_to_report(const struct walrecv_stream *s);

/** Queue a standby status update (write, flush, apply = 0, now, no reply requested) and set the
 * next periodic one 10 s ahead. @return 0 or -EIO (error recorded). */
int walrecv_send_status(struct walrecv_stream *s);

#endif /* EXECD_WAL_WALRECV_COPY_H */
