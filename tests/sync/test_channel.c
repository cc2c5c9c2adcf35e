/* SPDX-License-Identifier: MIT */
/* Channel, oneshot and mutex, polled by hand; seed 000's recv-then-send loop cancelled at every
 * pending point loses no message; select losers lose no message and leak no fd. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/cancel.h>
#include <executor/channel.h>
#include <executor/mutex.h>
#include <executor/oneshot.h>
#include <executor/select.h>
#include <executor/semaphore.h>
#include "test_waker.h"

#define MSG(i) ((void *)(uintptr_t)(i))
#define ID(p) ((int)(uintptr_t)(p))

static struct ex_channel *chan(size_t cap)
{
	struct ex_channel *ch;
	ck_assert_int_eq(ex_channel_new(cap, NULL, &ch), 0);
	return ch;
}

START_TEST(channel_basic_fifo_and_close)
{
	struct ex_channel *ch;
	ck_assert_int_eq(ex_channel_new(0, NULL, &ch), -EINVAL);
	ch = chan(2);
	struct test_waker tw;
	test_waker_init(&tw);
	void *m;
	ck_assert_int_eq(ex_channel_try_recv(ch, &m), -EAGAIN);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(1)), 0);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(2)), 0);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(3)), -EAGAIN);

	/* two senders wait (FIFO) */
	struct ex_channel_send s3, s4;
	ck_assert_int_eq(ex_poll(&ex_channel_send(&s3, ch, MSG(3))->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&ex_channel_send(&s4, ch, MSG(4))->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(9)), -EAGAIN); /* no overtaking */

	struct ex_channel_recv r;
	for (int want = 1; want <= 4; want++) {
		ck_assert_int_eq(ex_poll(&ex_channel_recv(&r, ch)->base, &tw.cx), EX_READY);
		ck_assert_int_eq(r.cs.base.output, 0);
		ck_assert_int_eq(ID(r.msg), want);
	}
	ck_assert(s3.sent && s4.sent);
	ck_assert_int_eq(ex_poll(&s3.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(s3.cs.base.output, 0);
	ck_assert_int_eq(ex_poll(&s4.cs.base, &tw.cx), EX_READY);

	/* recv waits, a send wakes it */
	ck_assert_int_eq(ex_poll(&ex_channel_recv(&r, ch)->base, &tw.cx), EX_PENDING);
	int wakes = test_waker_wakes(&tw);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(5)), 0);
	ck_assert_int_gt(test_waker_wakes(&tw), wakes);
	ck_assert_int_eq(ex_poll(&r.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(ID(r.msg), 5);

	/* close: pending senders get their message back, the receiver drains then -EPIPE */
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(6)), 0);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(7)), 0);
	struct ex_channel_send s8;
	ck_assert_int_eq(ex_poll(&ex_channel_send(&s8, ch, MSG(8))->base, &tw.cx), EX_PENDING);
	ex_channel_close(ch);
	ck_assert_int_eq(ex_poll(&s8.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(s8.cs.base.output, -EPIPE);
	ck_assert(!s8.sent);
	ck_assert_int_eq(ID(s8.msg), 8);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(9)), -EPIPE);
	ck_assert_int_eq(ex_channel_try_recv(ch, &m), 0);
	ck_assert_int_eq(ID(m), 6);
	ck_assert_int_eq(ex_poll(&ex_channel_recv(&r, ch)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(ID(r.msg), 7);
	ck_assert_int_eq(ex_poll(&ex_channel_recv(&r, ch)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -EPIPE);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ex_channel_unref(ch);
}
END_TEST

START_TEST(released_send_hands_message_back)
{
	struct ex_channel *ch = chan(1);
	struct test_waker tw;
	test_waker_init(&tw);
	ck_assert_int_eq(ex_channel_try_send(ch, MSG(1)), 0);
	struct ex_channel_send a, b;
	ck_assert_int_eq(ex_poll(&ex_channel_send(&a, ch, MSG(2))->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&ex_channel_send(&b, ch, MSG(3))->base, &tw.cx), EX_PENDING);
	a.cs.release(&a.cs); /* abandoned while waiting: not sent, message back */
	ck_assert(!a.sent);
	ck_assert_int_eq(ID(a.msg), 2);
	void *m;
	ck_assert_int_eq(ex_channel_try_recv(ch, &m), 0);
	ck_assert_int_eq(ID(m), 1);
	/* b got the slot at the moment it freed; releasing it now does not un-send it */
	ck_assert(b.sent);
	b.cs.release(&b.cs);
	ck_assert(b.sent);
	ck_assert_int_eq(ex_channel_try_recv(ch, &m), 0);
	ck_assert_int_eq(ID(m), 3);
	ck_assert_int_eq(ex_channel_try_recv(ch, &m), -EAGAIN); /* 2 was never delivered */
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ex_channel_unref(ch);
}
END_TEST

/* Losers of a select hold fds (the messages are pipe fds): nothing leaks, nothing is lost. */
static void close_fd_msg(void *msg)
{
	close(ID(msg));
}

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

START_TEST(select_loser_recv_loses_no_fd)
{
	int before = count_open_fds();
	struct ex_channel *a, *b;
	ck_assert_int_eq(ex_channel_new(4, close_fd_msg, &a), 0);
	ck_assert_int_eq(ex_channel_new(4, close_fd_msg, &b), 0);
	struct test_waker tw;
	test_waker_init(&tw);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	for (int round = 0; round < 20; round++) {
		struct ex_channel_recv ra, rb;
		struct ex_select s;
		struct ex_cancel_safe_future *sel = ex_select(&s, ex_channel_recv(&ra, a),
							      ex_channel_recv(&rb, b));
		if (round % 2)
			ck_assert_int_eq(ex_poll(&sel->base, &tw.cx), EX_PENDING);
		/* both become ready before the next poll: one wins, the other's fd stays queued */
		ck_assert_int_eq(ex_channel_try_send(a, MSG(dup(p[0]))), 0);
		ck_assert_int_eq(ex_channel_try_send(b, MSG(dup(p[1]))), 0);
		ck_assert_int_eq(ex_poll(&sel->base, &tw.cx), EX_READY);
		struct ex_channel_recv *won = sel->base.output == 0 ? &ra : &rb;
		ck_assert_int_eq(won->cs.base.output, 0);
		close(ID(won->msg));
		ck_assert_uint_eq(ex_channel_len(a) + ex_channel_len(b),
				  1); /* loser took nothing */
		void *m;
		struct ex_channel *other = sel->base.output == 0 ? b : a;
		ck_assert_int_eq(ex_channel_try_recv(other, &m), 0);
		close(ID(m));
	}
	/* what is left at free is closed by drop_msg */
	ck_assert_int_eq(ex_channel_try_send(a, MSG(dup(p[0]))), 0);
	close(p[0]);
	close(p[1]);
	ex_channel_unref(a);
	ex_channel_unref(b);
	ck_assert_int_eq(count_open_fds(), before);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

/* Seed 000's loop, written with this API:
 *     while ((msg = recv(inbox))) send(outbox, msg);
 * Each await races the token; a cancelled send hands its message back, and the loop returns it
 * in `held` (output 1) instead of dropping it. */
struct forward {
	struct ex_future fut;
	struct ex_async a;
	struct ex_channel *in, *out;
	struct ex_cancel_token *tok;
	struct ex_select sel;
	struct ex_cancelled c;
	struct ex_channel_recv recv;
	struct ex_channel_send send;
	void *held;
	bool holding;
};

static ex_poll_t forward_poll(struct ex_future *f, struct ex_context *cx)
{
	struct forward *w = ex_container_of(f, struct forward, fut);
	EX_BEGIN(&w->a);
	for (;;) {
		EX_AWAIT(&w->a, cx,
			 &ex_select(&w->sel, ex_channel_recv(&w->recv, w->in),
				    ex_cancelled(&w->c, w->tok))
				  ->base);
		if (EX_AWAITED(&w->a) != 0 || w->recv.cs.base.output < 0)
			break; /* cancelled (the recv took nothing) or inbox closed */
		w->held = w->recv.msg;
		w->holding = true;
		EX_AWAIT(&w->a, cx,
			 &ex_select(&w->sel, ex_channel_send(&w->send, w->out, w->held),
				    ex_cancelled(&w->c, w->tok))
				  ->base);
		/* Whoever won, `sent` says where the message is. */
		if (!w->send.sent)
			break; /* cancelled (or outbox closed): we still hold it */
		w->holding = false;
	}
	EX_END(&w->a, f, w->holding ? 1 : 0);
}

START_TEST(seed000_loop_cancelled_anywhere_loses_nothing)
{
	enum { N = 8 };
	int cancelled_holding = 0; /* runs cancelled at the send, holding a message */
	for (int cancel_at = 0; cancel_at < 3 * N; cancel_at++) {
		struct ex_channel *in = chan(N), *out = chan(2);
		for (int i = 1; i <= N; i++)
			ck_assert_int_eq(ex_channel_try_send(in, MSG(i)), 0);
		struct ex_cancel_token *tok;
		ck_assert_int_eq(ex_cancel_token_new(&tok), 0);
		struct forward w = { .fut.poll = forward_poll, .in = in, .out = out, .tok = tok };
		struct test_waker tw;
		test_waker_init(&tw);
		int seen[N + 1] = { 0 };
		int step = 0;
		while (ex_poll(&w.fut, &tw.cx) == EX_PENDING) {
			if (step++ == cancel_at) {
				ex_cancel_token_cancel(tok, EX_CANCEL_REQUESTED);
			} else if (step % 2) { /* a slow consumer of the outbox */
				void *m;
				if (ex_channel_try_recv(out, &m) == 0)
					seen[ID(m)]++;
			} else if (step > 4 * N) {
				ex_channel_close(in);
			}
		}
		/* account for every message: consumed, in the outbox, still in the inbox, or held */
		void *m;
		while (ex_channel_try_recv(out, &m) == 0)
			seen[ID(m)]++;
		while (ex_channel_try_recv(in, &m) == 0)
			seen[ID(m)]++;
		if (w.fut.output == 1) {
			seen[ID(w.held)]++;
			cancelled_holding++;
		}
		for (int i = 1; i <= N; i++)
			ck_assert_msg(seen[i] == 1, "cancel_at %d: message %d seen %d times",
				      cancel_at, i, seen[i]);
		ck_assert_int_eq(test_waker_refs(&tw), 0);
		ex_cancel_token_unref(tok);
		ex_channel_unref(in);
		ex_channel_unref(out);
	}
	ck_assert_int_gt(cancelled_holding, 0); /* the interesting case was reached */
}
END_TEST

START_TEST(oneshot_value_survives_released_recv)
{
	struct ex_oneshot *os;
	ck_assert_int_eq(ex_oneshot_new(&os), 0);
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_oneshot_recv r;
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_PENDING);
	r.cs.release(&r.cs);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ck_assert_int_eq(ex_oneshot_send(os, 42), 0);
	ck_assert_int_eq(ex_oneshot_send(os, 43), -EALREADY);
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, 0);
	ck_assert_int_eq(r.value, 42);
	ex_oneshot_sender_drop(os);
	ex_oneshot_receiver_drop(os);

	ck_assert_int_eq(ex_oneshot_new(&os), 0);
	ck_assert_int_eq(ex_poll(&ex_oneshot_recv(&r, os)->base, &tw.cx), EX_PENDING);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(test_waker_wakes(&tw), 1);
	ck_assert_int_eq(ex_poll(&r.cs.base, &tw.cx), EX_READY);
	ck_assert_int_eq(r.cs.base.output, -EPIPE);
	ex_oneshot_receiver_drop(os);

	ck_assert_int_eq(ex_oneshot_new(&os), 0);
	ex_oneshot_receiver_drop(os);
	ck_assert(ex_oneshot_is_closed(os));
	ck_assert_int_eq(ex_oneshot_send(os, 1), -EPIPE);
	ex_oneshot_sender_drop(os);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
}
END_TEST

START_TEST(mutex_fifo_and_cancel_safe_lock)
{
	struct ex_mutex m;
	ex_mutex_init(&m);
	struct test_waker tw;
	test_waker_init(&tw);
	ck_assert(ex_mutex_try_lock(&m));
	struct ex_mutex_lock l[4];
	struct ex_cancel_safe_future *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = ex_mutex_lock(&l[i], &m);
		ck_assert_int_eq(ex_poll(&f[i]->base, &tw.cx), EX_PENDING);
	}
	ck_assert(!ex_mutex_try_lock(&m));
	f[1]->release(f[1]); /* leaves the queue at once */
	ex_mutex_unlock(&m); /* -> l[0] */
	ck_assert_int_eq(ex_poll(&f[2]->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&f[0]->base, &tw.cx), EX_READY);
	ex_mutex_unlock(&m); /* -> l[2], which is released before it notices: passed on to l[3] */
	f[2]->release(f[2]);
	ck_assert_int_eq(ex_poll(&f[3]->base, &tw.cx), EX_READY);
	ck_assert_int_eq(ex_mutex_destroy(&m), -EBUSY);
	f[3]->release(f[3]); /* completed: no-op, still held */
	ck_assert(!ex_mutex_try_lock(&m));
	ex_mutex_unlock(&m);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ck_assert_int_eq(ex_mutex_destroy(&m), 0);
}
END_TEST

/* Two permits: both taken at once, the third waits; a release serves the oldest waiter, never
 * a newcomer; a waiter released with a permit handed to it passes the permit on. */
START_TEST(semaphore_permits_fifo_and_cancel_safe)
{
	struct ex_semaphore s;
	ck_assert_int_eq(ex_semaphore_init(&s, 0), -EINVAL);
	ck_assert_int_eq(ex_semaphore_init(&s, 2), 0);
	struct test_waker tw;
	test_waker_init(&tw);
	struct ex_semaphore_acquire a[5];
	struct ex_cancel_safe_future *f[5];
	for (int i = 0; i < 5; i++)
		f[i] = ex_semaphore_acquire(&a[i], &s);
	ck_assert_int_eq(ex_poll(&f[0]->base, &tw.cx), EX_READY);
	ck_assert(ex_semaphore_try_acquire(&s));
	ck_assert_uint_eq(ex_semaphore_available(&s), 0);
	for (int i = 1; i < 4; i++)
		ck_assert_int_eq(ex_poll(&f[i]->base, &tw.cx), EX_PENDING);
	ck_assert(!ex_semaphore_try_acquire(&s));
	ex_semaphore_release(&s); /* -> a[1], not the free count */
	ck_assert(!ex_semaphore_try_acquire(&s));
	ck_assert_int_eq(ex_poll(&f[4]->base, &tw.cx), EX_PENDING); /* a newcomer queues last */
	ck_assert_int_eq(ex_poll(&f[2]->base, &tw.cx), EX_PENDING);
	ck_assert_int_eq(ex_poll(&f[1]->base, &tw.cx), EX_READY);
	ex_semaphore_release(&s); /* -> a[2], released before it notices: on to a[3] */
	f[2]->release(f[2]);
	ck_assert_int_eq(ex_poll(&f[3]->base, &tw.cx), EX_READY);
	ck_assert_int_eq(ex_semaphore_destroy(&s), -EBUSY);
	f[4]->release(f[4]); /* a waiter leaves: nothing handed, nothing lost */
	ex_semaphore_release(&s);
	ex_semaphore_release(&s);
	ck_assert_uint_eq(ex_semaphore_available(&s), 2);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ck_assert_int_eq(ex_semaphore_destroy(&s), 0);
}
END_TEST

/* Threads: many contenders for a semaphore of climit permits (the mutex: 1), some abandoning
 * their wait: never more than climit holders, and every permit back at the end. */
static struct ex_semaphore *csem;
static int climit, holders, total;

static void *contender(void *arg)
{
	struct test_waker tw;
	test_waker_init(&tw);
	for (int i = 0; i < 3000; i++) {
		struct ex_semaphore_acquire a;
		struct ex_cancel_safe_future *f = ex_semaphore_acquire(&a, csem);
		if (ex_poll(&f->base, &tw.cx) == EX_PENDING) {
			if ((i + (int)(intptr_t)arg) % 3 == 0) {
				f->release(f);
				continue;
			}
			while (ex_poll(&f->base, &tw.cx) == EX_PENDING)
				sched_yield();
		}
		ck_assert_int_le(__atomic_add_fetch(&holders, 1, __ATOMIC_SEQ_CST), climit);
		if (climit == 1)
			total++; /* protected by the permit: TSan checks the hand-off orders it */
		__atomic_sub_fetch(&holders, 1, __ATOMIC_SEQ_CST);
		ex_semaphore_release(csem);
	}
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	return NULL;
}

static void contend(struct ex_semaphore *s, int limit)
{
	csem = s;
	climit = limit;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, contender, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_eq(ex_semaphore_available(s), (size_t)limit);
}

START_TEST(mutex_threads)
{
	struct ex_mutex m;
	ex_mutex_init(&m);
	contend(&m.sem, 1);
	ck_assert_int_gt(total, 0);
	ck_assert_int_eq(ex_mutex_destroy(&m), 0);
}
END_TEST

START_TEST(semaphore_threads)
{
	struct ex_semaphore s;
	ex_semaphore_init(&s, 2);
	contend(&s, 2);
	ck_assert_int_eq(ex_semaphore_destroy(&s), 0);
}
END_TEST

/* Threads: producers with cancel-safe sends, some abandoned; every message counted once. */
static struct ex_channel *tch;
static atomic_int produced_ok, producers_done;

static void *producer(void *arg)
{
	int base = (int)(intptr_t)arg * 100000;
	struct test_waker tw;
	test_waker_init(&tw);
	for (int i = 1; i <= 5000; i++) {
		struct ex_channel_send s;
		struct ex_cancel_safe_future *f = ex_channel_send(&s, tch, MSG(base + i));
		if (ex_poll(&f->base, &tw.cx) == EX_PENDING) {
			if (i % 4 == 0) {
				f->release(f);
				if (!s.sent)
					continue; /* handed back: not counted */
			} else {
				while (ex_poll(&f->base, &tw.cx) == EX_PENDING)
					sched_yield();
			}
		}
		atomic_fetch_add(&produced_ok, 1);
	}
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	atomic_fetch_add(&producers_done, 1);
	return NULL;
}

START_TEST(channel_threads)
{
	tch = chan(8);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, producer, (void *)(intptr_t)(i + 1));
	int got = 0;
	struct test_waker tw;
	test_waker_init(&tw);
	int closed = 0;
	for (;;) {
		struct ex_channel_recv r;
		if (ex_poll(&ex_channel_recv(&r, tch)->base, &tw.cx) == EX_READY) {
			if (r.cs.base.output < 0)
				break;
			got++;
			continue;
		}
		r.cs.release(&r.cs);
		/* once every producer finished, close so that the drain ends with -EPIPE */
		if (!closed && atomic_load(&producers_done) == 3) {
			ex_channel_close(tch);
			closed = 1;
		}
		sched_yield();
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(got, atomic_load(&produced_ok));
	ck_assert_int_gt(got, 3 * 5000 / 2);
	ck_assert_int_eq(test_waker_refs(&tw), 0);
	ex_channel_unref(tch);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, channel_basic_fifo_and_close);
	tcase_add_test(tc, released_send_hands_message_back);
	tcase_add_test(tc, select_loser_recv_loses_no_fd);
	tcase_add_test(tc, seed000_loop_cancelled_anywhere_loses_nothing);
	tcase_add_test(tc, oneshot_value_survives_released_recv);
	tcase_add_test(tc, mutex_fifo_and_cancel_safe_lock);
	tcase_add_test(tc, mutex_threads);
	tcase_add_test(tc, semaphore_permits_fifo_and_cancel_safe);
	tcase_add_test(tc, semaphore_threads);
	tcase_add_test(tc, channel_threads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
