/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walrecv_persist.c — wal.state's slot write beside the stream
 * (walrecv_persist.h), alone, on a real runtime and a real wal.state: a start is refused while
 * the file is not known to have two slots or a write is in flight; the receiver's copy
 * (wt->persisted) and the in-memory flush LSN (wt->flush_lsn, wt->flush_wait) advance only once
 * the write completed and wal.state holds the position (seed 002), never while it is pending;
 * the drain future is ready at once when idle and otherwise only once the write finished; a
 * failed write (-errno) advances nothing, leaves wal.state as it was and ends the connection.
 * Why: the write runs beside the stream instead of being awaited, so nothing but these rules
 * keeps a flush LSN from being reported before it is durable in wal.state. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <executor/runtime.h>
#include <executor/seqwait.h>

#include "testdir.h"
#include "walrecv_conn.h"
#include "walrecv_persist.h"
#include "walrecv_stream.h"
#include "walstate.h"
#include "waltl.h"

#define OLD_LSN 0x3000000u
#define NEW_LSN 0x3005000u
#define START_NS 12345u

/*
 * The stream's world, reduced to what walrecv_persist.c and what it calls (walrecv_fail,
 * walrecv_publish_flush) touch: a real stream, connection and timeline would need a PostgreSQL
 * server and the task manager. Everything else stays zeroed:
 *   wt: dirfd, source (NULL: nothing to scrub), persisted, flush_lsn, flush_wait;
 *   c: wt, err, errmsg;  s: c, w.sync_lsn, walstate_two_slots, persist, last_persist_ns.
 */
struct fix {
	struct testdir td;
	struct wal_timeline wt;
	struct walrecv_conn c;
	struct walrecv_stream s;
	struct ex_runtime *rt;
	char before[2 * WALSTATE_SLOT]; /* wal.state as the fixture made it */
};

static void read_state_file(int dirfd, char buf[static 2 * WALSTATE_SLOT])
{
	int fd = openat(dirfd, WALSTATE_FILE, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, 2 * WALSTATE_SLOT, 0), (ssize_t)(2 * WALSTATE_SLOT));
	close(fd);
}

/* A timeline whose wal.state holds OLD_LSN (two slots, written by walstate_save as a
 * timeline's first save is) and a stream that synced up to NEW_LSN. */
static struct fix *fix_new(void)
{
	struct fix *fx = calloc(1, sizeof *fx);
	ck_assert_ptr_nonnull(fx);
	testdir_make(&fx->td, "test_walrecv_persist");
	struct walstate st = { .system_id = 7, .pg_timeline = 1, .flush_lsn = OLD_LSN };
	ck_assert_int_eq(walstate_save(fx->td.fd, &st), 0);
	read_state_file(fx->td.fd, fx->before);
	fx->wt.dirfd = fx->td.fd;
	fx->wt.persisted = st;
	fx->wt.has_persisted = true;
	atomic_store(&fx->wt.flush_lsn, OLD_LSN);
	ck_assert_int_eq(ex_seqwait_new(OLD_LSN, &fx->wt.flush_wait), 0);
	fx->c.wt = &fx->wt;
	fx->s.c = &fx->c;
	fx->s.w.sync_lsn = NEW_LSN;
	fx->s.walstate_two_slots = true;
	ck_assert_int_eq(ex_runtime_new(NULL, &fx->rt), 0);
	return fx;
}

static void fix_free(struct fix *fx)
{
	ex_runtime_free(fx->rt);
	ex_seqwait_free(fx->wt.flush_wait);
	testdir_remove(&fx->td);
	free(fx);
}

/* Every in-memory copy of the position still says @p lsn. */
static bool memory_at(const struct fix *fx, uint64_t lsn)
{
	return fx->wt.persisted.flush_lsn == lsn && atomic_load(&fx->wt.flush_lsn) == lsn &&
	       ex_seqwait_load(fx->wt.flush_wait) == lsn;
}

/* Nothing advanced: memory, the stream's last write time, and wal.state byte for byte. */
static void assert_unchanged(struct fix *fx, uint64_t seq)
{
	char now[2 * WALSTATE_SLOT];
	struct walstate got;
	ck_assert(memory_at(fx, OLD_LSN));
	ck_assert_uint_eq(fx->wt.persisted.seq, seq);
	ck_assert_uint_eq(fx->s.last_persist_ns, 0);
	read_state_file(fx->td.fd, now);
	ck_assert(memcmp(now, fx->before, sizeof now) == 0);
	ck_assert_int_eq(walstate_load(fx->td.fd, &got), 0);
	ck_assert_uint_eq(got.flush_lsn, OLD_LSN);
	ck_assert_uint_eq(got.seq, seq);
}

/* The write of @p lsn completed: wal.state holds it (read back from disk) and so do the
 * receiver's copy and the in-memory flush LSN; the stream's write time is the start's. */
static void assert_persisted(struct fix *fx, uint64_t lsn, uint64_t seq)
{
	struct walstate got;
	ck_assert_int_eq(walstate_load(fx->td.fd, &got), 0);
	ck_assert_uint_eq(got.flush_lsn, lsn);
	ck_assert_uint_eq(got.seq, seq);
	ck_assert_uint_eq(got.system_id, 7);
	ck_assert_uint_eq(got.pg_timeline, 1);
	ck_assert(memory_at(fx, lsn));
	ck_assert_uint_eq(fx->wt.persisted.seq, seq);
	ck_assert_uint_eq(fx->s.last_persist_ns, START_NS);
	ck_assert(!fx->s.persist.busy);
	ck_assert_int_eq(fx->s.persist.err, 0);
	ck_assert_int_eq(fx->c.err, 0);
}

/*
 * The stream's task, reduced to its persist duty: at each poll drive the write in flight
 * (walrecv_persist_poll, or by polling walrecv_persist_drain's future, as the stream's end
 * does) until none is. What it sees at each poll is counted and asserted afterwards, on the
 * test's thread (Check's asserts belong there, not on a runtime worker).
 */
struct run {
	struct ex_future fut;
	struct fix *fx;
	struct ex_future *drain; /* or NULL: walrecv_persist_poll */
	uint64_t old_lsn;        /* what memory must say while the write is pending */
	int pending;             /* polls that returned EX_PENDING */
	int pending_idle;        /* ... although no write was in flight (drain) */
	int advanced_early;      /* ... with the in-memory copies advanced already */
	int ready_busy;          /* the drain was ready with a write in flight */
};

static ex_poll_t run_poll(struct ex_future *f, struct ex_context *cx)
{
	struct run *r = ex_container_of(f, struct run, fut);
	struct walrecv_persist *p = &r->fx->s.persist;
	bool pending;
	if (r->drain) {
		pending = ex_poll(r->drain, cx) == EX_PENDING;
		r->ready_busy += !pending && p->busy;
		r->pending_idle += pending && !p->busy;
	} else {
		walrecv_persist_poll(p, cx);
		pending = p->busy;
	}
	if (!pending) {
		f->output = r->drain ? r->drain->output : p->err;
		return EX_READY;
	}
	r->pending++;
	r->advanced_early += !memory_at(r->fx, r->old_lsn);
	return EX_PENDING;
}

/* Run @p r (set up by the caller) to its end on @p fx's runtime, asserting nothing (write_fails
 * lifts a limit first); @return ex_runtime_block_on's result, the run's output in *@p out. */
static int run_block(struct fix *fx, struct run *r, bool via_drain, uint64_t old_lsn, int64_t *out)
{
	*r = (struct run){ .fut.poll = run_poll, .fx = fx, .old_lsn = old_lsn };
	if (via_drain)
		r->drain = walrecv_persist_drain(&fx->s.persist);
	*out = 1;
	return ex_runtime_block_on(fx->rt, &r->fut, out);
}

/* What every run must have seen: io.h says an operation's first poll only prepares its SQE, so a
 * write is pending at least once (the checks made at pending polls did run), and none of them
 * found memory advanced or the drain out of step with the write. */
static void assert_run(const struct fix *fx, const struct run *r)
{
	ck_assert_int_ge(r->pending, 1);
	ck_assert_int_eq(r->advanced_early, 0);
	ck_assert_int_eq(r->pending_idle, 0);
	ck_assert_int_eq(r->ready_busy, 0);
	ck_assert(!fx->s.persist.busy);
}

/* Drive the write started on @p fx to its end on the runtime; @return the drain's output
 * (@p via_drain) or p->err. */
static int drive(struct fix *fx, bool via_drain, uint64_t old_lsn)
{
	static struct run r;
	int64_t out;
	ck_assert_int_eq(run_block(fx, &r, via_drain, old_lsn, &out), 0);
	assert_run(fx, &r);
	return (int)out;
}

/* Not before wal.state is known to have two slots (walstate_aio_save writes one slot in place:
 * the file's creation is walstate_save's), nor over a write in flight, whose buffer io_uring
 * may be writing from: the first write goes on unchanged and is the one persisted. */
START_TEST(start_refused)
{
	struct fix *fx = fix_new();
	struct walrecv_persist *p = &fx->s.persist;
	uint64_t seq = fx->wt.persisted.seq;
	fx->s.walstate_two_slots = false;
	ck_assert(!walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert(!p->busy);
	ck_assert_ptr_null(p->s);
	assert_unchanged(fx, seq);

	fx->s.walstate_two_slots = true;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert(p->busy);
	struct ex_future *fut = p->fut;
	fx->s.w.sync_lsn = NEW_LSN + 0x1000;
	ck_assert(!walrecv_persist_start(p, &fx->s, START_NS + 1));
	ck_assert_ptr_eq(p->fut, fut);
	ck_assert_uint_eq(p->next.flush_lsn, NEW_LSN);
	ck_assert_uint_eq(p->started_ns, START_NS);
	ck_assert(p->busy);

	/* (not cancel-safe: drive the first write to its end before the fixture goes) */
	ck_assert_int_eq(drive(fx, false, OLD_LSN), 0);
	assert_persisted(fx, NEW_LSN, seq + 1);
	fix_free(fx);
}
END_TEST

/* Started, nothing advances (the write is not even submitted); driven by the task's polls,
 * nothing advances while it is pending; once it completed wal.state holds the new position and
 * only then, within the same poll, memory. A second write after it goes the same way. */
START_TEST(poll_persists_then_advances)
{
	struct fix *fx = fix_new();
	struct walrecv_persist *p = &fx->s.persist;
	uint64_t seq = fx->wt.persisted.seq;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	assert_unchanged(fx, seq);
	ck_assert_int_eq(drive(fx, false, OLD_LSN), 0);
	assert_persisted(fx, NEW_LSN, seq + 1);

	fx->s.w.sync_lsn = NEW_LSN + 0x2000;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert(memory_at(fx, NEW_LSN));
	ck_assert_int_eq(drive(fx, false, NEW_LSN), 0);
	assert_persisted(fx, NEW_LSN + 0x2000, seq + 2);
	fix_free(fx);
}
END_TEST

/* Idle: the drain is ready at its first poll (no runtime, no waker needed), output 0. */
START_TEST(drain_idle_ready)
{
	struct fix *fx = fix_new();
	struct ex_future *f = walrecv_persist_drain(&fx->s.persist);
	ck_assert_int_eq(f->poll(f, NULL), EX_READY);
	ck_assert_int_eq(f->output, 0);
	assert_unchanged(fx, fx->wt.persisted.seq);
	fix_free(fx);
}
END_TEST

/* Busy: the drain is pending as long as the write is (memory unchanged meanwhile), ready only
 * once it completed, busy false then; a drain after it is ready at once again. */
START_TEST(drain_waits_for_write)
{
	struct fix *fx = fix_new();
	uint64_t seq = fx->wt.persisted.seq;
	ck_assert(walrecv_persist_start(&fx->s.persist, &fx->s, START_NS));
	ck_assert_int_eq(drive(fx, true, OLD_LSN), 0);
	assert_persisted(fx, NEW_LSN, seq + 1);
	struct ex_future *f = walrecv_persist_drain(&fx->s.persist);
	ck_assert_int_eq(f->poll(f, NULL), EX_READY);
	ck_assert_int_eq(f->output, 0);
	fix_free(fx);
}
END_TEST

/* An invalid directory fd (wal.state cannot be opened: -EBADF): the error is kept as a negative
 * errno, nothing advances, wal.state is as it was, and the connection ends with it; an earlier
 * error of the connection is the one kept. */
START_TEST(open_fails)
{
	struct fix *fx = fix_new();
	struct walrecv_persist *p = &fx->s.persist;
	uint64_t seq = fx->wt.persisted.seq;
	fx->wt.dirfd = -1;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert_int_eq(drive(fx, false, OLD_LSN), -EBADF);
	ck_assert_int_eq(p->err, -EBADF);
	ck_assert_int_eq(fx->c.err, -EBADF);
	ck_assert_ptr_nonnull(strstr(fx->c.errmsg, "writing wal.state"));
	assert_unchanged(fx, seq);

	fx->c.err = -EPIPE;
	strcpy(fx->c.errmsg, "earlier");
	p->err = 0;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert_int_eq(drive(fx, true, OLD_LSN), 0); /* (the drain's output: 0 all the same) */
	ck_assert_int_eq(p->err, -EBADF);
	ck_assert_int_eq(fx->c.err, -EPIPE);
	ck_assert_str_eq(fx->c.errmsg, "earlier");
	assert_unchanged(fx, seq);
	fix_free(fx);
}
END_TEST

/*
 * The slot write itself fails after wal.state was opened: RLIMIT_FSIZE at the slot's offset
 * makes the kernel refuse it (-EFBIG; the io_uring workers are threads of this process and
 * share its limits). Nothing advances and the file's previous content is intact. The limit is
 * lifted before any assert: Check's forked child reports to its parent through a file.
 */
START_TEST(write_fails)
{
	struct fix *fx = fix_new();
	struct walrecv_persist *p = &fx->s.persist;
	uint64_t seq = fx->wt.persisted.seq;
	struct rlimit old, lim;
	ck_assert(walrecv_persist_start(p, &fx->s, START_NS));
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){ .rlim_cur = (rlim_t)p->st.off, .rlim_max = old.rlim_max };
	void (*sig)(int) = signal(SIGXFSZ, SIG_IGN); /* (the kernel sends it with the error) */
	int e = setrlimit(RLIMIT_FSIZE, &lim);
	int64_t out = 1;
	static struct run r;
	int b = e ? e : run_block(fx, &r, false, OLD_LSN, &out);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, sig);
	ck_assert_int_eq(e, 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(out, -EFBIG);
	ck_assert_int_eq(p->err, -EFBIG);
	ck_assert_int_eq(fx->c.err, -EFBIG);
	assert_run(fx, &r);
	assert_unchanged(fx, seq);
	fix_free(fx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walrecv_persist");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, start_refused);
	tcase_add_test(tc, poll_persists_then_advances);
	tcase_add_test(tc, drain_idle_ready);
	tcase_add_test(tc, drain_waits_for_write);
	tcase_add_test(tc, open_fails);
	tcase_add_test(tc, write_fails);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
