/* SPDX-License-Identifier: MIT */
/* tests/wal/test_walseg_aio.c — the segment writer and wal.state through io_uring (walseg_aio.h,
 * walstate_aio.h): for the same messages and syncs they store byte-identical segments and reach
 * the same sync_lsn as the synchronous calls, with and without direct I/O, across a segment
 * boundary; and wal.state's in-place write through io_uring matches walstate_save(). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/runtime.h>

#include "testdir.h"
#include "walfmt.h"
#include "walseg.h"
#include "walseg_aio.h"
#include "walstate.h"
#include "walstate_aio.h"

#define NMSG 400

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* One message of the input: len bytes at lsn, then a sync or not. */
struct msg {
	uint64_t lsn;
	size_t len;
	bool sync;
};

/* The receiver's way with the future-based writer: io_uring within the open segment, the
 * synchronous walseg_write on the blocking pool where a segment opens or completes. */
struct drive {
	struct ex_future fut;
	struct ex_async a;
	struct walseg_aio x;
	struct ex_blocking b;
	struct walseg_writer *w;
	const struct msg *m;
	const char *data; /* the stream, from m[0].lsn */
	size_t i, n;
	uint64_t sync_lsn[NMSG]; /* after each message */
	int via_uring;           /* messages written through io_uring */
};

static int64_t write_job(void *arg)
{
	struct drive *d = arg;
	const struct msg *m = &d->m[d->i];
	return walseg_write(d->w, m->lsn, d->data + (m->lsn - d->m[0].lsn), m->len);
}

static ex_poll_t drive_poll(struct ex_future *f, struct ex_context *cx)
{
	struct drive *d = ex_container_of(f, struct drive, fut);
	const struct msg *m;
	EX_BEGIN(&d->a);
	for (d->i = 0; d->i < d->n; d->i++) {
		m = &d->m[d->i];
		if (walseg_fits(d->w, m->lsn, m->len)) {
			d->via_uring++;
			EX_AWAIT(&d->a, cx,
				 walseg_aio_write(&d->x, d->w, m->lsn,
						  d->data + (m->lsn - d->m[0].lsn), m->len));
			if (EX_AWAITED(&d->a) < 0)
				EX_RETURN(&d->a, f, EX_AWAITED(&d->a));
		} else {
			EX_AWAIT(&d->a, cx, ex_spawn_blocking(&d->b, write_job, d));
			if (EX_AWAITED(&d->a) < 0)
				EX_RETURN(&d->a, f, EX_AWAITED(&d->a));
		}
		if (d->m[d->i].sync) {
			EX_AWAIT(&d->a, cx, walseg_aio_sync(&d->x, d->w));
			if (EX_AWAITED(&d->a) < 0)
				EX_RETURN(&d->a, f, EX_AWAITED(&d->a));
		}
		d->sync_lsn[d->i] = d->w->sync_lsn;
	}
	EX_END(&d->a, f, 0);
}

static void read_all(int dirfd, const char *name, char *buf, size_t n)
{
	int fd = openat(dirfd, name, O_RDONLY);
	ck_assert_msg(fd >= 0, "%s missing", name);
	ck_assert_int_eq(pread(fd, buf, n, 0), (ssize_t)n);
	close(fd);
}

/* Messages of random sizes (1 B to 300 KiB: beyond the staging buffer; mostly small) with syncs
 * at random from an unaligned start 1 MiB before a segment's end to 1 MiB past it. */
static size_t make_input(struct msg *m, char **data, uint32_t seed)
{
	uint64_t start = 3 * WAL_SEG_SIZE - 1024 * 1024 + 4321, end = start + 2 * 1024 * 1024;
	uint32_t s = seed;
	size_t n = 0;
	*data = malloc(end - start);
	ck_assert_ptr_nonnull(*data);
	for (uint64_t i = 0; i < end - start; i++)
		(*data)[i] = (char)(rnd(&s) | 1);
	for (uint64_t lsn = start; lsn < end && n < NMSG; n++) {
		size_t len = 1 + rnd(&s) % (300 * 1024);
		if (rnd(&s) % 4)
			len = 1 + len % 3000; /* streaming: mostly small messages */
		if (len > end - lsn)
			len = (size_t)(end - lsn);
		m[n] = (struct msg){ .lsn = lsn, .len = len, .sync = rnd(&s) % 3 == 0 };
		lsn += len;
	}
	m[n - 1].sync = true;
	return n;
}

static void same_segments(int d0, int d1)
{
	static const char *names[] = { "000000010000000000000002",
				       "000000010000000000000003.partial" };
	char *a = malloc(WAL_SEG_SIZE), *b = malloc(WAL_SEG_SIZE);
	ck_assert(a && b);
	for (int k = 0; k < 2; k++) {
		read_all(d0, names[k], a, WAL_SEG_SIZE);
		read_all(d1, names[k], b, WAL_SEG_SIZE);
		ck_assert_msg(memcmp(a, b, WAL_SEG_SIZE) == 0, "%s differs", names[k]);
	}
	free(a);
	free(b);
}

static void aio_matches_sync(bool buffered, uint32_t seed)
{
	static struct msg m[NMSG];
	static struct drive d;
	struct testdir td[2];
	struct walseg_writer w[2];
	struct ex_runtime *rt;
	char *data;
	int64_t out = 1;
	size_t n = make_input(m, &data, seed);
	for (int k = 0; k < 2; k++) {
		testdir_make(&td[k], "test_walseg_aio");
		walseg_writer_init(&w[k], td[k].fd, 1, m[0].lsn);
		w[k].buffered = buffered;
	}
	/* the synchronous writer */
	uint64_t want[NMSG];
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(
			walseg_write(&w[0], m[i].lsn, data + (m[i].lsn - m[0].lsn), m[i].len), 0);
		if (m[i].sync)
			ck_assert_int_eq(walseg_sync(&w[0]), 0);
		want[i] = w[0].sync_lsn;
	}
	/* the future-based one, on a runtime */
	memset(&d, 0, sizeof d);
	d = (struct drive){ .fut.poll = drive_poll, .w = &w[1], .m = m, .data = data, .n = n };
	ck_assert_int_eq(ex_runtime_new(NULL, &rt), 0);
	ck_assert_int_eq(ex_runtime_block_on(rt, &d.fut, &out), 0);
	ex_runtime_free(rt);
	ck_assert_int_eq(out, 0);
	ck_assert_int_gt(d.via_uring, (int)n / 2); /* (the common path was the one tested) */
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(d.sync_lsn[i], want[i]);
	ck_assert_uint_eq(w[1].sync_lsn, m[n - 1].lsn + m[n - 1].len);
	ck_assert_int_eq(w[1].blk != NULL, w[0].blk != NULL);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(walseg_close(&w[k]), 0);
	same_segments(td[0].fd, td[1].fd);
	for (int k = 0; k < 2; k++)
		testdir_remove(&td[k]);
	free(data);
}

START_TEST(direct_io_matches_sync)
{
	aio_matches_sync(false, 11 + (uint32_t)_i);
}
END_TEST

START_TEST(buffered_matches_sync)
{
	aio_matches_sync(true, 101 + (uint32_t)_i);
}
END_TEST

/* A write that does not fit the open segment is refused, nothing written. */
START_TEST(write_must_fit)
{
	struct walseg_writer w;
	struct walseg_aio x;
	walseg_writer_init(&w, -1, 1, WAL_SEG_SIZE);
	struct ex_future *f = walseg_aio_write(&x, &w, WAL_SEG_SIZE, "x", 1); /* none open */
	ck_assert_int_eq(f->poll(f, NULL), EX_READY);
	ck_assert_int_eq(f->output, -EINVAL);
	ck_assert_uint_eq(w.write_lsn, WAL_SEG_SIZE);
}
END_TEST

struct save {
	struct ex_future fut;
	struct ex_async a;
	struct walstate_aio x;
	int dirfd;
	struct walstate *st;
	bool two_slots;
};

static ex_poll_t save_poll(struct ex_future *f, struct ex_context *cx)
{
	struct save *s = ex_container_of(f, struct save, fut);
	EX_BEGIN(&s->a);
	EX_AWAIT(&s->a, cx, walstate_aio_save(&s->x, s->dirfd, s->st, s->two_slots));
	EX_END(&s->a, f, EX_AWAITED(&s->a));
}

static int64_t aio_save(struct ex_runtime *rt, int dirfd, struct walstate *st, bool two_slots)
{
	static struct save s;
	int64_t out = 1;
	memset(&s, 0, sizeof s);
	s = (struct save){
		.fut.poll = save_poll, .dirfd = dirfd, .st = st, .two_slots = two_slots
	};
	ck_assert_int_eq(ex_runtime_block_on(rt, &s.fut, &out), 0);
	return out;
}

/* Missing: -ENODATA, nothing created (walstate_save creates it), whether or not the caller
 * believes it has two slots. Then saves through io_uring (the first with the size check, the
 * others without, as a stream makes them) and synchronous ones leave the same file and seq, and
 * load back. */
START_TEST(walstate_aio_matches_sync)
{
	struct testdir td[2];
	struct ex_runtime *rt;
	struct walstate st[2] = { { .system_id = 7, .pg_timeline = 1, .flush_lsn = 0x3000000 },
				  { .system_id = 7, .pg_timeline = 1, .flush_lsn = 0x3000000 } };
	ck_assert_int_eq(ex_runtime_new(NULL, &rt), 0);
	for (int k = 0; k < 2; k++)
		testdir_make(&td[k], "test_walstate_aio");
	ck_assert_int_eq(aio_save(rt, td[1].fd, &st[1], false), -ENODATA);
	ck_assert_int_eq(aio_save(rt, td[1].fd, &st[1], true), -ENODATA);
	ck_assert_int_eq(faccessat(td[1].fd, WALSTATE_FILE, F_OK, 0), -1);
	ck_assert_uint_eq(st[1].seq, 0);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(walstate_save(td[k].fd, &st[k]), 0);
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 2; k++)
			st[k].flush_lsn += 0x1000 * (uint64_t)(i + 1);
		ck_assert_int_eq(walstate_save(td[0].fd, &st[0]), 0);
		ck_assert_int_eq(aio_save(rt, td[1].fd, &st[1], i > 0), 0);
		ck_assert_uint_eq(st[1].seq, st[0].seq);
		char a[2 * WALSTATE_SLOT], b[2 * WALSTATE_SLOT];
		read_all(td[0].fd, WALSTATE_FILE, a, sizeof a);
		read_all(td[1].fd, WALSTATE_FILE, b, sizeof b);
		ck_assert(memcmp(a, b, sizeof a) == 0);
		struct walstate got;
		ck_assert_int_eq(walstate_load(td[1].fd, &got), 0);
		ck_assert_uint_eq(got.flush_lsn, st[1].flush_lsn);
		ck_assert_uint_eq(got.seq, st[1].seq);
	}
	ex_runtime_free(rt);
	for (int k = 0; k < 2; k++)
		testdir_remove(&td[k]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walseg_aio");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, direct_io_matches_sync, 0, 3);
	tcase_add_loop_test(tc, buffered_matches_sync, 0, 3);
	tcase_add_test(tc, write_must_fit);
	tcase_add_test(tc, walstate_aio_matches_sync);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
