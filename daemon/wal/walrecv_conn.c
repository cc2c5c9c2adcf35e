/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walrecv_conn.c — the receiver's connection helpers shared by every protocol phase
 * (walrecv_conn.h): waiting on the socket, sending, recording the error, draining results.
 * pg_receivewal's streamutil.c and receivelog.c do the same with blocking calls; here libpq is
 * non-blocking and the task waits through io_uring (ex_poll_fd), raced with a timer and its
 * cancellation token, all three cancel-safe.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conninfo.h"
#include "log.h"
#include "walrecv_conn.h"
#include "waltl.h"

struct ex_future *walrecv_wait(struct walrecv_conn *c, unsigned events, uint64_t deadline)
{
	struct ex_cancel_safe_future *tmr = ex_sleep_until(&c->sleep, deadline);
	struct ex_cancel_safe_future *cnc = task_mgr_shutdown_watcher(&c->watch);
	if (events) {
		struct ex_cancel_safe_future *fd = ex_poll_fd(&c->io, c->sock, events);
		return &ex_select(&c->sel, fd, tmr, cnc)->base;
	}
	/* without the socket, the select's index 0 is the timer: walrecv_woke() shifts it */
	struct ex_cancel_safe_future *b[2] = { tmr, cnc };
	return &ex_select_array(&c->sel, b, 2)->base;
}

enum walrecv_woke walrecv_woke(const struct walrecv_conn *c, unsigned events)
{
	int64_t o = c->sel.cs.base.output;
	return (enum walrecv_woke)(events ? o : o + 1);
}

uint64_t walrecv_random(void)
{
	static uint64_t state;
	uint64_t x = __atomic_add_fetch(&state, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED) ^
		     ex_now_ns();
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

bool walrecv_cancelled(void)
{
	return task_mgr_is_shutdown_requested();
}

int walrecv_fail(struct walrecv_conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
	va_end(ap);
	/* shown by timeline.show and logged: no secret, one line (libpq's messages have several) */
	conninfo_scrub(c->wt->source, c->errmsg, sizeof c->errmsg);
	execd_log_one_line(c->errmsg);
	c->err = err ? err : -EIO;
	return c->err;
}

int walrecv_send(struct walrecv_conn *c)
{
	int k = PQflush(c->conn);
	if (k < 0)
		return walrecv_fail(c, -EIO, "sending: %s", PQerrorMessage(c->conn));
	return k;
}

void walrecv_results_done(struct walrecv_conn *c, PGresult **res)
{
	if (*res)
		PQclear(*res);
	while ((*res = PQgetResult(c->conn)) != NULL)
		PQclear(*res);
}

static int64_t job_save(void *arg)
{
	struct walrecv_conn *c = arg;
	return walstate_save(c->wt->dirfd, &c->saving);
}

struct ex_future *walrecv_save_state(struct walrecv_conn *c, struct walstate st)
{
	c->saving = st;
	return task_mgr_spawn_blocking(&c->blk, job_save, c);
}

static int64_t job_disconnect(void *arg)
{
	struct walrecv_conn *c = arg;
	PQfinish(c->conn); /* sends Terminate; may touch the socket */
	c->conn = NULL;
	return 0;
}

struct ex_future *walrecv_disconnect(struct walrecv_conn *c)
{
	return task_mgr_spawn_blocking(&c->blk, job_disconnect, c);
}
