/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv.c — the WalReceiver task of a timeline: physical streaming replication from
 * a PostgreSQL server into pg_receivewal-compatible segment files (neon's walreceiver,
 * pg_receivewal's receivelog.c).
 *
 * libpq runs in non-blocking mode: the task waits for its socket through ex_poll_fd (io_uring
 * POLL_ADD), raced with a timer (status updates) and the task's cancellation token — all three
 * cancel-safe. Work that blocks runs through ex_spawn_blocking: PQconnectStartParams (it may
 * resolve a host name) and the flush job (segment writes, fdatasync, the status update right
 * after it, more rounds while WAL keeps arriving, then wal.state). The in-memory flush LSN
 * changes only after the flush job returned, i.e. after wal.state was written (seed 002); the
 * server is told of synced WAL earlier, as a restart resumes past complete segments
 * (flush_to_report).
 */
#include "config.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/cancel.h>
#include <executor/io.h>
#include <executor/select.h>
#include <executor/seqwait.h>
#include <executor/time.h>

#include "log.h"
#include "persist.h"
#include "task_mgr.h"
#include "wal.h"
#include "walfmt.h"
#include "walint.h"
#include "walseg.h"
#include "walstate.h"

#define STATUS_INTERVAL_NS (10ull * 1000000000)  /* pg_receivewal's --status-interval default */
#define BACKOFF_MIN_NS (100ull * 1000000)
#define BACKOFF_MAX_NS (30ull * 1000000000)
#define PENDING_MAX (1u << 20)                    /* bytes received before a flush is forced */
#define FINAL_FLUSH_NS (5ull * 1000000000)        /* bound on sending the last status update */
#define JOB_BUDGET_NS (10ull * 1000000)           /* a flush job takes more rounds for this long */
/* A job owning the stream returns this long idle (longer than the server's own stalls, such as
 * creating its next WAL segment, so that they do not cost a hand-back and a new job). */
#define STREAM_IDLE_NS (200ull * 1000000)
/* ... and writes wal.state this often (twice that at the latest), or at once for a wait-lsn: each
 * write is an fdatasync on the thread that answers the server (see persist_due). */
#define PERSIST_NS (1000ull * 1000000)
#define STREAM_MAX 4                              /* jobs owning their stream at once (all timelines) */

/* One XLogData message held between the socket and the flush job. */
struct pending {
	struct pending *next;
	char *buf;          /* from PQgetCopyData (PQfreemem) */
	uint64_t lsn;
	const char *data;
	size_t len;
};

struct walrecv {
	struct ex_future fut;
	struct ex_async a;
	struct wal_timeline *wt;

	PGconn *conn;
	int sock;
	/* waiting: socket readiness | timer | cancellation */
	struct ex_io io;
	struct ex_sleep sleep;
	struct task_mgr_watcher watch;
	struct ex_select sel;
	struct ex_blocking blk;

	struct walseg_writer w;
	bool writer_open;
	struct pending *head, **tail;
	size_t pending_bytes;
	uint64_t pending_end;       /* end LSN of the last pending message */

	uint64_t start_lsn;         /* where this connection's stream started */
	uint32_t stream_tli;
	uint64_t backoff_ns;
	uint64_t next_status_ns;
	uint64_t reported_flush;    /* the last flush position sent on this connection */
	bool reply_requested;
	bool copy_ended;
	bool stopping;
	int err;
	char errmsg[256];
	PGresult *res;
	int i;
	uint64_t deadline;
	uint32_t next_tli;          /* timeline switch: the server's next timeline */
	uint64_t switch_lsn;        /* timeline switch: where the next timeline starts */
	int drained;                /* drain()'s result, kept across the flush */
	bool copy_done_seen;        /* PQgetCopyData returned -1 on this connection */
	struct ex_cancel_token *token; /* the task's (borrowed): the flush job looks at it */
	int cancel_fd;              /* eventfd the token's wake writes to while a job owns the stream */
	struct ex_cancelled cancel_wait; /* that job's registration with the token */
	bool need_persist;          /* a new timeline: persist its start before streaming */
	bool read_slot;             /* start where the existing slot holds WAL */
	uint64_t resume_lsn;        /* walseg_resume_lsn of the persisted flush LSN (job_connect) */
	int resume_err;
	unsigned ev;                /* socket events being waited for */
	char cmd[256];              /* the replication command being run */
	struct walstate newstate;   /* the state the flush job persists */
	uint64_t prep_for;          /* the segment whose successor was handed to walprep_start */
};

static uint64_t rnd_state;
static atomic_int streaming; /* flush jobs owning their stream (all timelines): pool threads held */

/* A waker for a thread blocked in poll(2) rather than a task: waking writes to an eventfd (the
 * data) in the poll set. It holds no reference: the registration is released before the fd is
 * closed, and the token wakes only under its lock, which that release takes. */
static void fd_wake(const void *data)
{
	(void)eventfd_write((int)(intptr_t)data, 1); /* cannot fail short of a counter overflow */
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

/* Have the token's cancellation make r->cancel_fd readable (the eventfd made on first use). On
 * failure the stream job still sees cancellation, at its next wake (STREAM_IDLE_NS at most).
 * @return true if registered; false if not, or if the token is cancelled already. */
static bool cancel_watch(struct walrecv *r)
{
	if (!r->token)
		return false;
	if (r->cancel_fd < 0) {
		r->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->cancel_fd < 0) {
			log_warning("no eventfd for the stream's cancellation (%s): it is seen within %llu ms",
				    strerror(errno), (unsigned long long)(STREAM_IDLE_NS / 1000000));
			return false;
		}
	}
	uint64_t v;
	(void)eventfd_read(r->cancel_fd, &v); /* reset; -EAGAIN when it was not set */
	struct ex_waker w = { &fd_waker_vtable, (const void *)(intptr_t)r->cancel_fd };
	struct ex_context cx = { &w };
	return ex_poll(&ex_cancelled(&r->cancel_wait, r->token)->base, &cx) == EX_PENDING;
}

/* Jitter: +-25 %, xorshift (no need for crypto quality; must not block). */
static uint64_t jitter(uint64_t ns)
{
	uint64_t x = __atomic_add_fetch(&rnd_state, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED) ^ ex_now_ns();
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return ns - ns / 4 + x % (ns / 2 + 1);
}

/* Wait for the socket (@p events, 0 = none), the deadline, or cancellation. Output: 0 socket,
 * 1 deadline, 2 cancelled. */
static struct ex_future *wait_any(struct walrecv *r, unsigned events, uint64_t deadline)
{
	struct ex_cancel_safe_future *tmr = ex_sleep_until(&r->sleep, deadline);
	struct ex_cancel_safe_future *cnc = task_mgr_shutdown_watcher(&r->watch);
	if (events) {
		struct ex_cancel_safe_future *fd = ex_poll_fd(&r->io, r->sock, events);
		return &ex_select(&r->sel, fd, tmr, cnc)->base;
	}
	/* keep the indices: 1 timer, 2 cancelled */
	struct ex_cancel_safe_future *b[3] = { tmr, tmr, cnc };
	return &ex_select_array(&r->sel, b + 1, 2)->base;
}
/* Map the select's output of wait_any to 0/1/2. */
static int waited(struct walrecv *r, unsigned events)
{
	int64_t o = r->sel.cs.base.output;
	return events ? (int)o : (int)o + 1;
}

static void pending_free(struct walrecv *r)
{
	while (r->head) {
		struct pending *p = r->head;
		r->head = p->next;
		PQfreemem(p->buf);
		free(p);
	}
	r->tail = &r->head;
	r->pending_bytes = 0;
}

/* --- blocking jobs (spawn_blocking) ------------------------------------------------------- */

static int64_t job_connect(void *arg)
{
	struct walrecv *r = arg;
	const char *keys[] = { "dbname", "replication", "fallback_application_name", NULL };
	const char *vals[] = { r->wt->source, "true", "execd", NULL };
	/* where a persisted timeline resumes (past its complete segments): a directory look-up */
	struct wal_timeline *wt = r->wt;
	r->resume_lsn = wt->has_persisted ? wt->persisted.flush_lsn : 0;
	r->resume_err = r->resume_lsn ? walseg_resume_lsn(wt->dirfd, wt->persisted.pg_timeline, r->resume_lsn,
							   &r->resume_lsn)
				      : 0;
	r->conn = PQconnectStartParams(keys, vals, 1);
	return r->conn ? 0 : -ENOMEM;
}

/* Persist r->newstate as it is (new timeline, timeline switch). */
static int64_t job_save(void *arg)
{
	struct walrecv *r = arg;
	return walstate_save(r->wt->dirfd, &r->newstate);
}

/* The timeline history file TIMELINE_HISTORY returned (r->res), stored durably under its own
 * name unless it is there already, as pg_receivewal does (existsTimeLineHistoryFile). */
static int64_t job_history(void *arg)
{
	struct walrecv *r = arg;
	const char *name = PQgetvalue(r->res, 0, 0);
	if (faccessat(r->wt->dirfd, name, F_OK, 0) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	return persist_write_file(r->wt->dirpath, name, PQgetvalue(r->res, 0, 1),
				  (size_t)PQgetlength(r->res, 0, 1));
}

static int64_t job_close(void *arg)
{
	struct walrecv *r = arg;
	return walseg_close(&r->w);
}

static int64_t job_finish(void *arg)
{
	struct walrecv *r = arg;
	PQfinish(r->conn); /* sends Terminate; may touch the socket */
	r->conn = NULL;
	return 0;
}

/* --- helpers that never block ----------------------------------------------------------- */

static void fail(struct walrecv *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct walrecv *r, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
	va_end(ap);
	/* libpq messages end with a newline */
	size_t n = strlen(r->errmsg);
	while (n && (r->errmsg[n - 1] == '\n' || r->errmsg[n - 1] == ' '))
		r->errmsg[--n] = '\0';
	r->err = err ? err : -EIO;
}

/*
 * The flush position reported to the server: the WAL durable in the segment files (w.sync_lsn),
 * which may be ahead of wal.state (reported as soon as the segment's fdatasync returned, before
 * wal.state is written). The server then releases WAL before it (a physical slot's restart_lsn
 * follows it), while a restart resumes from wal.state's flush LSN or past the complete segments
 * after it (walseg_resume_lsn): sync_lsn passes a segment only once the segment is complete and
 * its name durable, so the restart point never lies beyond the reported position's segment,
 * which the server keeps whole.
 */
static uint64_t flush_to_report(const struct walrecv *r)
{
	uint64_t persisted = r->wt->persisted.flush_lsn, synced = r->w.sync_lsn;
	return synced > persisted ? synced : persisted;
}

/* PQflush: @return 0 (all sent), 1 (more to send), or -EIO with r->errmsg set. */
static int send_out(struct walrecv *r)
{
	int k = PQflush(r->conn);
	if (k < 0) {
		fail(r, -EIO, "sending: %s", PQerrorMessage(r->conn));
		return -EIO;
	}
	return k;
}

static int send_status(struct walrecv *r, bool reply)
{
	char s[WAL_STATUS_LEN];
	uint64_t flush = flush_to_report(r);
	wal_status_build(s, r->w.write_lsn, flush, 0, wal_pg_now_us(), reply);
	if (PQputCopyData(r->conn, s, sizeof s) != 1) {
		fail(r, -EIO, "sending status update: %s", PQerrorMessage(r->conn));
		return -EIO;
	}
	if (flush > r->reported_flush)
		r->reported_flush = flush;
	r->next_status_ns = ex_now_ns() + STATUS_INTERVAL_NS;
	return 0;
}

/* Take every complete message libpq holds. @return 1 if more may follow, 0 = would block,
 * -1 = copy ended (results follow), -EIO on error. */
static int drain(struct walrecv *r)
{
	struct wal_timeline *wt = r->wt;
	if (r->copy_done_seen)
		return -1; /* libpq reports the end once; results follow */
	while (r->pending_bytes < PENDING_MAX) {
		char *buf;
		int n = PQgetCopyData(r->conn, &buf, 1);
		if (n == 0) {
			/* libpq's buffer is empty; is the socket too? (a zero-timeout poll never
			 * blocks). Only then is everything the server sent drained. */
			struct pollfd pfd = { .fd = r->sock, .events = POLLIN };
			if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
				if (!PQconsumeInput(r->conn)) {
					fail(r, -EIO, "receiving: %s", PQerrorMessage(r->conn));
					return -EIO;
				}
				if ((n = PQgetCopyData(r->conn, &buf, 1)) == 0)
					/* part of a message: store what we hold (without a sync), or,
					 * holding nothing, wait for the socket */
					return r->head ? 1 : 0;
			} else {
				return 0;
			}
		}
		if (n == -1) {
			r->copy_done_seen = true;
			return -1;
		}
		if (n < 0) {
			fail(r, -EIO, "receiving: %s", PQerrorMessage(r->conn));
			return -EIO;
		}
		struct wal_msg m;
		if (wal_msg_parse(buf, (size_t)n, &m) < 0) {
			fail(r, -EPROTO, "unexpected replication message of type '%c' (%d bytes)", buf[0], n);
			PQfreemem(buf);
			return -EIO;
		}
		if (m.wal_end > atomic_load(&wt->server_lsn))
			atomic_store(&wt->server_lsn, m.wal_end);
		if (m.type == 'k') {
			r->reply_requested |= m.reply_requested;
			PQfreemem(buf);
			continue;
		}
		if (m.len == 0) {
			PQfreemem(buf);
			continue;
		}
		struct pending *p = malloc(sizeof *p);
		if (!p) {
			PQfreemem(buf);
			fail(r, -ENOMEM, "out of memory");
			return -EIO;
		}
		*p = (struct pending){ NULL, buf, m.start_lsn, m.data, m.len };
		*r->tail = p;
		r->tail = &p->next;
		r->pending_bytes += m.len;
		r->pending_end = m.start_lsn + m.len;
		if (r->pending_end > atomic_load(&wt->received_lsn))
			atomic_store(&wt->received_lsn, r->pending_end);
	}
	return 1;
}

static bool cancelled(void)
{
	return task_mgr_is_shutdown_requested();
}

/* Persist w.sync_lsn as the flush LSN in wal.state (and wt->persisted, the receiver's copy).
 * @return 0 or -errno, with r->errmsg set unless @p quiet (an earlier error is being reported). */
static int persist_flush(struct walrecv *r, bool quiet)
{
	struct wal_timeline *wt = r->wt;
	int e;
	if (wt->has_persisted && r->w.sync_lsn == wt->persisted.flush_lsn)
		return 0;
	r->newstate = wt->persisted;
	r->newstate.flush_lsn = r->w.sync_lsn;
	if ((e = walstate_save(wt->dirfd, &r->newstate)) < 0) {
		if (!quiet)
			fail(r, e, "writing wal.state: %s", strerror(-e));
		return e;
	}
	wt->persisted = r->newstate;
	return 0;
}

/* Publish the persisted flush LSN to the in-memory mirror and wake wait-lsn waiters (seed 002:
 * only after wal.state holds it). Called by the task after a job, and by a job right after its own
 * wal.state write (lock-free atomics, ex_seqwait_advance is thread-safe). */
static void publish_flush(struct walrecv *r)
{
	struct wal_timeline *wt = r->wt;
	if (wt->persisted.flush_lsn > atomic_load(&wt->flush_lsn)) {
		atomic_store(&wt->flush_lsn, wt->persisted.flush_lsn);
		ex_seqwait_advance(wt->flush_wait, wt->persisted.flush_lsn);
	}
}

/* A segment was opened: have its successor zero-filled ahead (walprep.c), once per segment;
 * while the previous preparation still runs (-EBUSY), on a later round. */
static void prepare_next(struct walrecv *r)
{
	if (r->w.segno == UINT64_MAX || r->w.segno == r->prep_for)
		return;
	int e = walprep_start(r->wt, r->w.tli, r->w.segno + 1);
	if (e == -EBUSY)
		return;
	r->prep_for = r->w.segno;
	if (e < 0 && e != -ESHUTDOWN) /* (a stopping timeline needs no next segment) */
		execd_log_ids(LOG_WARNING, &r->wt->tenant_id, &r->wt->timeline_id,
			      "cannot prepare the next WAL segment: %s", strerror(-e));
}

/*
 * Whether a job owning the stream writes wal.state now, @p since ns after its last write: when a
 * wait-lsn waiter would be woken by it (ex_seqwait_next_target), else every PERSIST_NS once the
 * socket is drained (2 * PERSIST_NS at the latest). Each write is an fdatasync of its own on the
 * thread that answers the server, so a busy stream pays it rarely; the server learns of synced
 * WAL without it (flush_to_report).
 */
static bool persist_due(const struct walrecv *r, uint64_t since)
{
	uint64_t synced = r->w.sync_lsn;
	if (synced <= r->wt->persisted.flush_lsn)
		return false;
	if (ex_seqwait_next_target(r->wt->flush_wait) <= synced)
		return true;
	return since >= PERSIST_NS && (r->drained == 0 || since >= 2 * PERSIST_NS);
}

/*
 * The flush job, on the blocking pool; the task awaits it and touches neither r nor the
 * connection meanwhile (so the job may use both). Each round writes the pending messages; once
 * everything the server sent is drained (r->drained != 1) it fdatasyncs the segment and at once
 * sends the status update with the new flush position (pg_receivewal --synchronous does the same;
 * wal.state comes after, off the server's commit path, see flush_to_report). Then it takes what
 * arrived meanwhile, straight from the socket (no wake of the task and back).
 *
 * While the stream is busy the job owns the connection (at most STREAM_MAX jobs at once, all
 * timelines): with the socket drained it waits in poll(2) itself, like pg_receivewal's loop, so a
 * message costs one wake (this thread's) instead of io_uring's completion thread, a worker for the
 * task and a pool thread for a new job. No io_uring poll is outstanding for the socket meanwhile
 * (the task is suspended on this job). It answers keepalive requests, sends the periodic status
 * update, and persists wal.state when persist_due() says so, each time advancing the in-memory
 * flush LSN and the seqwait itself. It returns after STREAM_IDLE_NS without a message, at
 * cancellation (the token's wake makes an eventfd in its poll set readable), at the end of the
 * copy, or on an error. A job that could not take a stream slot returns once the socket is empty
 * or after JOB_BUDGET_NS, as before.
 * Before returning it persists the last synced position in wal.state; the task then advances the
 * in-memory flush LSN (seed 002: after the write completed).
 * @return 0, or -errno with r->errmsg set (r->drained == -EIO: the connection failed).
 */
static int64_t job_flush(void *arg)
{
	struct walrecv *r = arg;
	uint64_t now = ex_now_ns(), until = now + JOB_BUDGET_NS;
	uint64_t last_persist = now, last_msg = now;
	bool stream = false, watching = false;
	int e = 0, out = 0; /* out: PQflush has more to send */
	for (;;) {
		/* The socket was empty at the last drain() and libpq has read nothing since (it
		 * reads only while a send would block): after this round go straight to the wait,
		 * which sees anything that arrived meanwhile (two syscalls fewer per message). */
		bool skip = r->drained == 0 && out == 0;
		if (r->head)
			last_msg = ex_now_ns();
		for (struct pending *p = r->head; p; p = p->next)
			if ((e = walseg_write(&r->w, p->lsn, p->data, p->len)) < 0) {
				fail(r, e, "storing WAL: %s", strerror(-e));
				break;
			}
		pending_free(r);
		if (e < 0)
			break;
		prepare_next(r);
		/* More is waiting in the socket (catching up): write only, as pg_receivewal
		 * --synchronous syncs when it has drained what the server sent (and at each
		 * segment's end, which walseg_write does). */
		if (r->drained != 1) {
			if ((e = walseg_sync(&r->w)) < 0) {
				fail(r, e, "storing WAL: %s", strerror(-e));
				break;
			}
			if (r->drained != -EIO && flush_to_report(r) > r->reported_flush) {
				if ((e = send_status(r, false)) < 0)
					break;
				r->reply_requested = false;
				/* push it out now; what does not go, the task's PQflush sends */
				if ((out = send_out(r)) < 0) {
					e = out;
					break;
				}
				skip &= out == 0;
			}
		}
		/* the task ends the copy (after a timeline's last message, or a failed connection) */
		if (r->drained < 0)
			break;
		if (r->token && ex_cancel_token_is_cancelled(r->token))
			break;
		now = ex_now_ns();
		if (!stream) {
			/* the task answers the server */
			if (r->reply_requested || now >= until)
				break;
		} else {
			/* what the task does between its waits: answer the server, the periodic
			 * status update, and (here) wal.state every JOB_BUDGET_NS */
			if (r->reply_requested || now >= r->next_status_ns) {
				if ((e = send_status(r, false)) < 0)
					break;
				r->reply_requested = false;
			}
			if (persist_due(r, now - last_persist)) {
				if ((e = persist_flush(r, false)) < 0)
					break;
				publish_flush(r);
				last_persist = now = ex_now_ns();
			}
			if ((out = send_out(r)) < 0) {
				e = out;
				break;
			}
			skip &= out == 0;
		}
		if (!skip) {
	receive:
			if (!PQconsumeInput(r->conn)) {
				fail(r, -EIO, "receiving: %s", PQerrorMessage(r->conn));
				r->drained = -EIO;
				break;
			}
			r->drained = drain(r);
			/* what was drained is written first (the next round), whatever drain() returned */
			if (r->head)
				continue;
			if (r->drained < 0)
				break;
			if (r->drained == 1 || r->reply_requested)
				continue; /* (the next round answers the server, or lets the task) */
		}
		/* the socket is empty: without a stream slot, the task waits for it */
		if (!stream) {
			if (atomic_fetch_add(&streaming, 1) >= STREAM_MAX) {
				atomic_fetch_sub(&streaming, 1);
				break;
			}
			stream = true;
			watching = cancel_watch(r);
			if (r->token && ex_cancel_token_is_cancelled(r->token))
				break;
		}
		/* wait for the socket: the next message, the next status update or wal.state write
		 * due, or STREAM_IDLE_NS without a message (then the task waits through io_uring) */
		now = ex_now_ns();
		if (now - last_msg >= STREAM_IDLE_NS)
			break;
		uint64_t wake = last_msg + STREAM_IDLE_NS;
		if (r->next_status_ns < wake)
			wake = r->next_status_ns;
		if (r->w.sync_lsn > r->wt->persisted.flush_lsn && last_persist + PERSIST_NS < wake)
			wake = last_persist + PERSIST_NS;
		int ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		struct pollfd pfd[2] = { { .fd = r->sock, .events = POLLIN | (out ? POLLOUT : 0) },
					 { .fd = watching ? r->cancel_fd : -1, .events = POLLIN } };
		int k = poll(pfd, 2, ms);
		if (k < 0 && errno != EINTR) {
			e = -errno;
			fail(r, e, "poll: %s", strerror(-e));
			break;
		}
		if (r->token && ex_cancel_token_is_cancelled(r->token))
			break;
		if (pfd[0].revents && !(pfd[0].revents & POLLOUT))
			goto receive; /* a message (or an error, which PQconsumeInput reports) */
		/* a timeout, or room to send: the next round sends what is due, then receives */
	}
	if (watching)
		r->cancel_wait.cs.release(&r->cancel_wait.cs); /* no wake reaches cancel_fd after this */
	if (stream)
		atomic_fetch_sub(&streaming, 1);
	/* (after an error too: what was synced is persisted; the first error is reported) */
	int e2 = persist_flush(r, e < 0);
	return e < 0 ? e : e2;
}

/* --- the task --------------------------------------------------------------------------- */

static ex_poll_t walrecv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct walrecv *r = ex_container_of(f, struct walrecv, fut);
	struct wal_timeline *wt = r->wt;
	PostgresPollingStatusType ps;
	char *cmd = r->cmd, l[20];
	int e;

	EX_BEGIN(&r->a);
	r->token = task_mgr_current_token();
	r->backoff_ns = BACKOFF_MIN_NS;
	while (!cancelled()) {
		r->err = 0;
		r->copy_ended = false;
		r->copy_done_seen = false;
		wal_set_state(wt, WAL_CONNECTING, NULL);
		EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_connect, r));
		if (r->resume_err < 0) {
			fail(r, r->resume_err, "finding where to resume in the WAL directory: %s",
			     strerror(-r->resume_err));
			goto disconnect;
		}
		if (EX_AWAITED(&r->a) < 0 || PQstatus(r->conn) == CONNECTION_BAD) {
			fail(r, -ECONNREFUSED, "connecting: %s", r->conn ? PQerrorMessage(r->conn) : "out of memory");
			goto disconnect;
		}
		r->sock = PQsocket(r->conn);
		ps = PGRES_POLLING_WRITING;
		for (;;) {
			if (ps == PGRES_POLLING_OK)
				break;
			if (ps == PGRES_POLLING_FAILED) {
				fail(r, -ECONNREFUSED, "connecting: %s", PQerrorMessage(r->conn));
				goto disconnect;
			}
			r->ev = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			r->sock = PQsocket(r->conn); /* may change between attempts (several hosts) */
			EX_AWAIT(&r->a, cx, wait_any(r, r->ev, UINT64_MAX));
			if (waited(r, r->ev) == 2)
				goto disconnect;
			ps = PQconnectPoll(r->conn);
		}
		if (PQsetnonblocking(r->conn, 1) != 0) {
			fail(r, -EIO, "PQsetnonblocking: %s", PQerrorMessage(r->conn));
			goto disconnect;
		}
		r->sock = PQsocket(r->conn);

		/* IDENTIFY_SYSTEM: systemid, timeline, xlogpos, dbname */
		r->i = 0; /* step: 0 identify, 1 create slot, 3 read slot, 4 persist start, 5 timeline
			   * history (timelines after the first), 2 start replication */
	query:
		if (r->i == 0)
			snprintf(cmd, sizeof r->cmd, "IDENTIFY_SYSTEM");
		else if (r->i == 1)
			snprintf(cmd, sizeof r->cmd, "CREATE_REPLICATION_SLOT \"%s\" PHYSICAL RESERVE_WAL", wt->slot);
		else if (r->i == 3)
			snprintf(cmd, sizeof r->cmd, "READ_REPLICATION_SLOT \"%s\"", wt->slot);
		else if (r->i == 5)
			snprintf(cmd, sizeof r->cmd, "TIMELINE_HISTORY %u", r->stream_tli);
		else {
			lsn_format(r->start_lsn, l);
			if (wt->slot)
				snprintf(cmd, sizeof r->cmd, "START_REPLICATION SLOT \"%s\" PHYSICAL %s TIMELINE %u",
					 wt->slot, l, r->stream_tli);
			else
				snprintf(cmd, sizeof r->cmd, "START_REPLICATION PHYSICAL %s TIMELINE %u", l, r->stream_tli);
		}
		if (!PQsendQuery(r->conn, cmd)) {
			fail(r, -EIO, "%s: %s", cmd, PQerrorMessage(r->conn));
			goto disconnect;
		}
		for (;;) {
			if ((e = send_out(r)) < 0)
				goto disconnect;
			if (e == 0 && !PQisBusy(r->conn))
				break;
			r->ev = e ? POLLIN | POLLOUT : POLLIN;
			EX_AWAIT(&r->a, cx, wait_any(r, r->ev, UINT64_MAX));
			if (waited(r, r->ev) == 2)
				goto disconnect;
			if (!PQconsumeInput(r->conn)) {
				fail(r, -EIO, "receiving: %s", PQerrorMessage(r->conn));
				goto disconnect;
			}
		}
		/* The first result; further results (none for these commands but COPY) are drained. */
		r->res = PQgetResult(r->conn);
		if (r->i == 0) {
			if (PQresultStatus(r->res) != PGRES_TUPLES_OK || PQntuples(r->res) != 1 || PQnfields(r->res) < 3) {
				fail(r, -EPROTO, "IDENTIFY_SYSTEM: %s", PQerrorMessage(r->conn));
				goto disconnect;
			}
			uint64_t sysid = strtoull(PQgetvalue(r->res, 0, 0), NULL, 10);
			uint32_t tli = (uint32_t)strtoul(PQgetvalue(r->res, 0, 1), NULL, 10);
			uint64_t pos;
			if (lsn_parse(PQgetvalue(r->res, 0, 2), &pos) < 0 || tli == 0) {
				fail(r, -EPROTO, "IDENTIFY_SYSTEM: unexpected answer");
				goto disconnect;
			}
			if (wt->has_persisted && wt->persisted.system_id && wt->persisted.system_id != sysid) {
				fail(r, -EXDEV, "the server's system identifier %llu is not the timeline's %llu",
				     (unsigned long long)sysid, (unsigned long long)wt->persisted.system_id);
				goto disconnect;
			}
			if (pos > atomic_load(&wt->server_lsn))
				atomic_store(&wt->server_lsn, pos);
			pthread_mutex_lock(&wt->lock);
			wt->system_id = sysid;
			if (!wt->pg_timeline)
				wt->pg_timeline = tli;
			pthread_mutex_unlock(&wt->lock);
			/* where to start: the persisted flush LSN, or past the complete segments after it
			 * (walseg_resume_lsn); else the requested or current position rounded down to its
			 * segment (as pg_receivewal starts a new directory) */
			if (wt->has_persisted && wt->persisted.flush_lsn) {
				r->start_lsn = r->resume_lsn;
				r->stream_tli = wt->persisted.pg_timeline ? wt->persisted.pg_timeline : tli;
			} else {
				r->start_lsn = wal_segno_lsn(wal_segno(wt->start_lsn ? wt->start_lsn : pos));
				r->stream_tli = tli;
			}
			PQclear(r->res);
			r->res = NULL;
			while ((r->res = PQgetResult(r->conn)) != NULL)
				PQclear(r->res);
			bool fresh = !wt->has_persisted || wt->persisted.system_id != sysid;
			r->need_persist = fresh || r->start_lsn != wt->persisted.flush_lsn;
			r->read_slot = wt->slot && fresh && !wt->start_lsn;
			r->i = wt->slot && wt->create_slot ? 1 : r->read_slot ? 3 : 4;
			if (r->i == 4)
				goto prestart;
			goto query;
		}
		if (r->i == 1) {
			const char *state = PQresultErrorField(r->res, PG_DIAG_SQLSTATE);
			if (PQresultStatus(r->res) != PGRES_TUPLES_OK && !(state && strcmp(state, "42710") == 0)) {
				fail(r, -EIO, "CREATE_REPLICATION_SLOT: %s", PQerrorMessage(r->conn));
				goto disconnect;
			}
			PQclear(r->res);
			r->res = NULL;
			while ((r->res = PQgetResult(r->conn)) != NULL)
				PQclear(r->res);
			r->i = r->read_slot ? 3 : 4;
			if (r->i == 4)
				goto prestart;
			goto query;
		}
		if (r->i == 3) {
			/* READ_REPLICATION_SLOT: slot_type, restart_lsn, restart_tli. A new timeline
			 * on an existing slot starts where the slot holds WAL (pg_receivewal does). */
			uint64_t at;
			if (PQresultStatus(r->res) != PGRES_TUPLES_OK || PQnfields(r->res) < 3) {
				fail(r, -EIO, "READ_REPLICATION_SLOT: %s", PQerrorMessage(r->conn));
				goto disconnect;
			}
			if (PQntuples(r->res) == 1 && !PQgetisnull(r->res, 0, 1) &&
			    lsn_parse(PQgetvalue(r->res, 0, 1), &at) == 0 && at) {
				r->start_lsn = wal_segno_lsn(wal_segno(at));
				if (!PQgetisnull(r->res, 0, 2))
					r->stream_tli = (uint32_t)strtoul(PQgetvalue(r->res, 0, 2), NULL, 10);
			}
			PQclear(r->res);
			r->res = NULL;
			while ((r->res = PQgetResult(r->conn)) != NULL)
				PQclear(r->res);
			r->i = 4;
		}
	prestart:
		if (r->i == 4) {
			if (r->need_persist) {
				r->newstate = (struct walstate){ wt->system_id, r->stream_tli, r->start_lsn, wt->persisted.seq };
				EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_save, r));
				if ((e = (int)EX_AWAITED(&r->a)) < 0) {
					fail(r, e, "writing wal.state: %s", strerror(-e));
					goto disconnect;
				}
				wt->persisted = r->newstate;
				wt->has_persisted = true;
				if (atomic_load(&wt->flush_lsn) < r->start_lsn) {
					atomic_store(&wt->flush_lsn, r->start_lsn);
					ex_seqwait_advance(wt->flush_wait, r->start_lsn);
				}
			}
			r->i = r->stream_tli > 1 ? 5 : 2;
			goto query;
		}
		if (r->i == 5) {
			/* TIMELINE_HISTORY: filename, content. The file goes next to the timeline's
			 * segments before the first of them, so that the directory says where each
			 * timeline branched off (what pg_receivewal keeps, and a restore needs). */
			char want[32];
			snprintf(want, sizeof want, "%08X.history", r->stream_tli);
			if (PQresultStatus(r->res) != PGRES_TUPLES_OK || PQntuples(r->res) != 1 || PQnfields(r->res) < 2) {
				fail(r, -EPROTO, "TIMELINE_HISTORY %u: %s", r->stream_tli, PQerrorMessage(r->conn));
				goto disconnect;
			}
			if (strcmp(PQgetvalue(r->res, 0, 0), want) != 0) {
				fail(r, -EPROTO, "TIMELINE_HISTORY %u: the server sent the file '%.64s'", r->stream_tli,
				     PQgetvalue(r->res, 0, 0));
				goto disconnect;
			}
			EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_history, r));
			if ((e = (int)EX_AWAITED(&r->a)) < 0) {
				fail(r, e, "writing %s: %s", want, strerror(-e));
				goto disconnect;
			}
			PQclear(r->res);
			r->res = NULL;
			while ((r->res = PQgetResult(r->conn)) != NULL)
				PQclear(r->res);
			r->i = 2;
			goto query;
		}
		if (PQresultStatus(r->res) != PGRES_COPY_BOTH) {
			fail(r, -EIO, "%s: %s", cmd, PQerrorMessage(r->conn));
			goto disconnect;
		}
		PQclear(r->res);
		r->res = NULL;

		/* Streaming. */
		walseg_writer_init(&r->w, wt->dirfd, r->stream_tli, r->start_lsn);
		r->writer_open = true;
		r->pending_end = r->start_lsn;
		r->next_status_ns = 0;
		r->reported_flush = 0;
		wal_set_state(wt, WAL_STREAMING, NULL);
		execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "streaming from %s timeline %u",
			      (lsn_format(r->start_lsn, l), l), r->stream_tli);
		for (;;) {
			if (!PQconsumeInput(r->conn)) {
				fail(r, -EIO, "receiving: %s", PQerrorMessage(r->conn));
				break;
			}
			r->drained = drain(r);
			if (r->drained == -EIO)
				break;
			/* asked to stop: what was drained is the last, so this flush syncs it */
			if (r->drained == 1 && cancelled())
				r->drained = 0;
			/* store what is pending; sync once drained (also what earlier jobs wrote) */
			if (r->head || (r->drained != 1 && r->w.write_lsn > wt->persisted.flush_lsn)) {
				EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_flush, r));
				pending_free(r);
				e = (int)EX_AWAITED(&r->a);
				/* persisted: now (and only now) the in-memory mirror advances */
				publish_flush(r);
				if (e < 0 || r->drained == -EIO)
					break;
				/* a synced position the job did not report (it ended before
				 * sending) is reported now */
				if (flush_to_report(r) > r->reported_flush)
					r->reply_requested = true;
			}
			if (r->drained == -1) {
				r->copy_ended = true;
				break;
			}
			if (r->reply_requested || ex_now_ns() >= r->next_status_ns) {
				if (send_status(r, false) < 0)
					break;
				r->reply_requested = false;
			}
			if (r->drained == 1)
				continue; /* more buffered: flush again before waiting */
			if (cancelled())
				break;
			if ((e = send_out(r)) < 0)
				break;
			/* Sending may have made libpq read from the socket (pqSendSome reads while it
			 * cannot write): wait only if nothing complete is buffered now. */
			r->drained = drain(r);
			if (r->drained == -EIO)
				break;
			if (r->drained != 0 || r->head || r->reply_requested)
				continue; /* (-1: the loop's next drain reports the end again) */
			r->ev = e ? POLLIN | POLLOUT : POLLIN;
			EX_AWAIT(&r->a, cx, wait_any(r, r->ev, r->next_status_ns));
		}

		if (r->copy_ended && !r->err) {
			/* The server ended the stream: a timeline switch (a result set with the next
			 * timeline and its start), or the server is stopping. */
			PQputCopyEnd(r->conn, NULL);
			PQflush(r->conn);
			r->deadline = ex_now_ns() + FINAL_FLUSH_NS;
			while (PQisBusy(r->conn)) {
				EX_AWAIT(&r->a, cx, wait_any(r, POLLIN, r->deadline));
				if (waited(r, POLLIN) != 0 || !PQconsumeInput(r->conn))
					break;
			}
			r->res = PQisBusy(r->conn) ? NULL : PQgetResult(r->conn);
			if (r->res && PQresultStatus(r->res) == PGRES_TUPLES_OK && PQntuples(r->res) == 1 &&
			    PQnfields(r->res) >= 2) {
				r->next_tli = (uint32_t)strtoul(PQgetvalue(r->res, 0, 0), NULL, 10);
				r->switch_lsn = 0;
				lsn_parse(PQgetvalue(r->res, 0, 1), &r->switch_lsn);
				execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id,
					      "server switched to timeline %u at %s; following it", r->next_tli,
					      (lsn_format(r->switch_lsn, l), l));
				EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_close, r));
				r->writer_open = false;
				r->newstate = wt->persisted;
				r->newstate.pg_timeline = r->next_tli;
				/* continue on the new timeline from the start of the switch segment, as
				 * pg_receivewal does; the flush LSN never goes back */
				r->newstate.flush_lsn = wal_segno_lsn(wal_segno(r->switch_lsn));
				EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_save, r));
				if ((e = (int)EX_AWAITED(&r->a)) < 0)
					fail(r, e, "writing wal.state: %s", strerror(-e));
				else {
					wt->persisted = r->newstate;
					pthread_mutex_lock(&wt->lock);
					wt->pg_timeline = r->next_tli;
					pthread_mutex_unlock(&wt->lock);
				}
			} else {
				fail(r, -ECONNRESET, "the server ended streaming%s%s",
				     r->res ? ": " : "", r->res ? PQresultErrorMessage(r->res) : "");
			}
			if (r->res)
				PQclear(r->res);
			r->res = NULL;
		} else if (cancelled() && r->conn) {
			/* Shutdown: everything received is flushed (above); send the final status
			 * update and end the stream, bounded in time. */
			if (send_status(r, false) == 0) {
				PQputCopyEnd(r->conn, NULL);
				r->deadline = ex_now_ns() + FINAL_FLUSH_NS;
				while ((e = PQflush(r->conn)) == 1) {
					EX_AWAIT(&r->a, cx, wait_any(r, POLLOUT, r->deadline));
					if (waited(r, POLLOUT) == 1)
						break;
				}
			}
		}

	disconnect:
		pending_free(r);
		if (r->res) {
			PQclear(r->res);
			r->res = NULL;
		}
		if (r->writer_open) {
			EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_close, r));
			r->writer_open = false;
		}
		if (r->conn)
			EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, job_finish, r));
		if (cancelled())
			break;
		if (r->err == 0 && r->copy_ended) {
			r->backoff_ns = BACKOFF_MIN_NS;
			continue; /* timeline switch: reconnect at once */
		}
		execd_log_ids(LOG_WARNING, &wt->tenant_id, &wt->timeline_id, "%s; retrying in %llu ms",
			      r->errmsg, (unsigned long long)(r->backoff_ns / 1000000));
		wal_set_state(wt, WAL_BACKOFF, "%s", r->errmsg);
		EX_AWAIT(&r->a, cx, wait_any(r, 0, ex_now_ns() + jitter(r->backoff_ns)));
		r->backoff_ns = r->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : r->backoff_ns * 2;
	}
	wal_set_state(wt, WAL_STOPPED, NULL);
	/* Waiters for an LSN that will not come now learn it (they complete with -ESHUTDOWN). */
	ex_seqwait_shutdown(wt->flush_wait);
	lsn_format(atomic_load(&wt->flush_lsn), l);
	execd_log_ids(LOG_INFO, &wt->tenant_id, &wt->timeline_id, "WAL receiver stopped at %s", l);
	EX_END(&r->a, f, 0);
}

struct ex_future *walrecv_new(struct wal_timeline *wt)
{
	struct walrecv *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->wt = wt;
	r->fut.poll = walrecv_poll;
	r->tail = &r->head;
	r->sock = -1;
	r->cancel_fd = -1;
	r->prep_for = UINT64_MAX;
	return &r->fut;
}

void walrecv_drop(struct ex_future *f)
{
	struct walrecv *r = ex_container_of(f, struct walrecv, fut);
	pending_free(r);
	if (r->conn)
		PQfinish(r->conn);
	if (r->cancel_fd >= 0)
		close(r->cancel_fd);
	free(r);
}
