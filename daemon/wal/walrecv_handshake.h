/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_handshake.h — internal to the WAL receiver: connecting and the replication
 * commands before streaming, as a child future of the supervisor (walrecv.c). One step per
 * protocol phase, as pg_receivewal's streamutil.c (RunIdentifySystem, CreateReplicationSlot,
 * GetSlotInformation) and receivelog.c (ReceiveXlogStream: timeline history, START_REPLICATION)
 * have one function each.
 */
#ifndef EXECD_WAL_WALRECV_HANDSHAKE_H
#define EXECD_WAL_WALRECV_HANDSHAKE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include <executor/async.h>

struct walrecv_conn;

/** The steps after the connection is made, in the order they can run. */
enum walrecv_step {
	WALRECV_IDENTIFY,    /* IDENTIFY_SYSTEM: system id, timeline, server position */
	WALRECV_CREATE_SLOT, /* CREATE_REPLICATION_SLOT (--create-slot; an existing one is fine) */
	WALRECV_READ_SLOT,   /* READ_REPLICATION_SLOT: a new timeline starts at the slot's WAL */
	WALRECV_PERSIST_START,     /* wal.state holds the start before anything is streamed */
	WALRECV_TIMELINE_HISTORY,  /* TIMELINE_HISTORY of a timeline after the first, stored */
	WALRECV_START_REPLICATION, /* START_REPLICATION: the server enters COPY_BOTH */
	WALRECV_HANDSHAKE_DONE,
};

struct walrecv_handshake {
	struct ex_future fut;
	struct ex_async a;
	struct walrecv_conn *c;
	PostgresPollingStatusType ps; /* PQconnectPoll's last answer */
	unsigned ev;                  /* socket events being waited for */
	enum walrecv_step step;
	char cmd[256];       /* the replication command being run */
	PGresult *res;       /* its first result */
	uint64_t resume_lsn; /* walseg_resume_lsn of the persisted flush LSN (job_connect) */
	int resume_err;
	bool need_persist; /* a new start: persist it before streaming */
	bool read_slot;    /* start where the existing slot holds WAL */
	/* the result: where streaming starts */
	uint64_t start_lsn;
	uint32_t tli;
};

/**
 * A future that connects @p c to c->wt's source and runs the steps up to START_REPLICATION.
 * Output: 0 (the connection is in COPY_BOTH; h->start_lsn and h->tli say from where); -errno
 * with the error recorded in @p c; -ECANCELED if the task is asked to stop meanwhile (no error
 * recorded). c->conn may be set either way: the supervisor closes it. Not cancel-safe.
 */
struct ex_future *walrecv_handshake(struct walrecv_handshake *h, struct walrecv_conn *c);

#endif /* EXECD_WAL_WALRECV_HANDSHAKE_H */
