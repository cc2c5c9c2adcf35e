/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_conn.h — internal to the WAL receiver: the connection to the server and
 * what every protocol phase shares, the part pg_receivewal keeps in streamutil.c: the libpq
 * connection, the wait for its socket (raced with a timer and the task's cancellation), the
 * blocking-pool handle, the first error of the connection, and the one helper that drains a
 * command's remaining results.
 *
 * The phases: walrecv_handshake.c (connect, IDENTIFY_SYSTEM ... START_REPLICATION),
 * walrecv_stream.c with walrecv_flush.c (CopyData, keepalives, the flush, status updates),
 * walrecv_end.c (end of the copy: timeline switch or shutdown), driven by the supervisor loop
 * in walrecv.c. Each phase owns its state; this struct is lent to all of them.
 */
#ifndef EXECD_WAL_WALRECV_CONN_H
#define EXECD_WAL_WALRECV_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include <executor/blocking.h>
#include <executor/io.h>
#include <executor/select.h>
#include <executor/time.h>

#include "task_mgr.h"
#include "walstate.h"

struct wal_timeline;

struct walrecv_conn {
	struct wal_timeline *wt;       /* the timeline being received (borrowed) */
	PGconn *conn;                  /* NULL between connections */
	int sock;                      /* PQsocket(conn): may change while connecting */
	struct ex_cancel_token *token; /* the task's (borrowed): the flush looks at it */
	/* waiting: socket readiness | timer | cancellation (walrecv_wait) */
	struct ex_io io;
	struct ex_sleep sleep;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	struct task_mgr_blocking blk; /* the blocking job a phase awaits (one at a time) */
	struct walstate saving;       /* what walrecv_save_state()'s job writes */
	int err;                      /* the first error of this connection (-errno), or 0 */
	char errmsg[256];             /* ... and its message */
};

/** What ended a walrecv_wait(). */
enum walrecv_woke {
	WALRECV_WOKE_SOCKET,    /* the socket is ready for the events waited for */
	WALRECV_WOKE_DEADLINE,  /* the deadline passed */
	WALRECV_WOKE_CANCELLED, /* the task is asked to shut down */
};

/**
 * A future that waits for c->sock to be ready for @p events (poll(2) bits; 0 = no socket), for
 * the deadline @p deadline (ex_now_ns clock, ns; UINT64_MAX = none), or for the task's shutdown,
 * whichever comes first: one ex_select of three cancel-safe futures (ex_poll_fd, ex_sleep_until,
 * the task's shutdown watcher). Read the outcome with walrecv_woke() after awaiting it.
 */
struct ex_future *walrecv_wait(struct walrecv_conn *c, unsigned events, uint64_t deadline);

/** What ended the walrecv_wait(c, @p events, ...) just awaited. */
enum walrecv_woke walrecv_woke(const struct walrecv_conn *c, unsigned events);

/** A pseudo-random 64-bit value for spreading waits (a counter and the clock, mixed as
 * splitmix64 does: no crypto quality, never blocks). Thread-safe, lock-free. */
uint64_t walrecv_random(void);

/** True once the running task is asked to shut down (its cancellation token). Lock-free. */
bool walrecv_cancelled(void);

/**
 * Record the first error of the connection: @p err (-errno; 0 counts as -EIO) and its message
 * (trailing newlines of libpq's messages removed). @return c->err, for `return walrecv_fail()`.
 */
int walrecv_fail(struct walrecv_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** PQflush: @return 0 (all sent), 1 (more to send: wait for POLLOUT), or -EIO (error recorded). */
int walrecv_send(struct walrecv_conn *c);

/**
 * Done with a command's result: PQclear *@p res (may be NULL; set to NULL), then every further
 * result of the command until PQgetResult returns NULL (the CommandComplete of a replication
 * command), so that the next command can be sent. Not for COPY results (they repeat).
 */
void walrecv_results_done(struct walrecv_conn *c, PGresult **res);

/** A future that persists @p st in the timeline's wal.state (walstate_save on the blocking
 * pool); output 0 or -errno. On 0, c->saving holds the state written (its seq advanced). */
struct ex_future *walrecv_save_state(struct walrecv_conn *c, struct walstate st);

/** A future that closes the connection (PQfinish sends Terminate, so it runs on the blocking
 * pool); c->conn is NULL after it. Output 0. */
struct ex_future *walrecv_disconnect(struct walrecv_conn *c);

#endif /* EXECD_WAL_WALRECV_CONN_H */
