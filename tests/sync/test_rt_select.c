/* SPDX-License-Identifier: MIT */
/* select/timeout losers on the real runtime: an accept or a receive that loses (with its
 * io_uring poll in flight) leaks no fd and loses no connection or message; seqwait timeouts. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <executor/select.h>
#include <executor/seqwait.h>
#include "rt_sync.h"

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

enum { ROUNDS = 50 };

struct acc {
	struct ex_future fut;
	struct ex_async a;
	int lfd, round, accepted, timeouts;
	int clients[ROUNDS];
	struct ex_io io;
	struct ex_timeout t;
	struct ex_select sel;
	struct ex_cancelled c;
	struct ex_cancel_token *fired;
	struct sockaddr_un addr;
};

static ex_poll_t acc_poll(struct ex_future *f, struct ex_context *cx)
{
	struct acc *s = ex_container_of(f, struct acc, fut);
	EX_BEGIN(&s->a);
	for (s->round = 0; s->round < ROUNDS; s->round++) {
		/* no connection yet: the accept waits with a poll in flight, the timer wins */
		EX_AWAIT(&s->a, cx,
			 &ex_timeout(&s->t, 1000000,
				     ex_accept(&s->io, s->lfd, NULL, NULL, SOCK_CLOEXEC))
				  ->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), -ETIMEDOUT);
		s->timeouts++;
		/* a connection arrives; a ready branch listed first wins, the accept is released */
		s->clients[s->round] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(s->clients[s->round], 0);
		ck_assert_int_eq(
			connect(s->clients[s->round], (struct sockaddr *)&s->addr, sizeof s->addr),
			0);
		EX_AWAIT(&s->a, cx,
			 &ex_select(&s->sel, ex_cancelled(&s->c, s->fired),
				    ex_accept(&s->io, s->lfd, NULL, NULL, SOCK_CLOEXEC))
				  ->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 0);
		/* the connection was not taken by the loser: the next accept gets it */
		EX_AWAIT(&s->a, cx, &ex_accept(&s->io, s->lfd, NULL, NULL, SOCK_CLOEXEC)->base);
		ck_assert_int_ge(EX_AWAITED(&s->a), 0);
		close((int)EX_AWAITED(&s->a));
		s->accepted++;
	}
	EX_END(&s->a, f, 0);
}

START_TEST(accept_losers_leak_no_fd_lose_no_connection)
{
	int before = count_open_fds();
	struct acc s = { .fut.poll = acc_poll };
	s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s.lfd, 0);
	s.addr.sun_family = AF_UNIX;
	/* abstract socket: nothing on disk to clean up */
	snprintf(s.addr.sun_path + 1, sizeof s.addr.sun_path - 1, "execd-test-%d", getpid());
	ck_assert_int_eq(bind(s.lfd, (struct sockaddr *)&s.addr, sizeof s.addr), 0);
	ck_assert_int_eq(listen(s.lfd, ROUNDS), 0);
	ck_assert_int_eq(ex_cancel_token_new(&s.fired), 0);
	ex_cancel_token_cancel(s.fired, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	ck_assert_int_eq(s.accepted, ROUNDS);
	ck_assert_int_eq(s.timeouts, ROUNDS);
	for (int i = 0; i < ROUNDS; i++)
		close(s.clients[i]);
	close(s.lfd);
	ex_cancel_token_unref(s.fired);
	ck_assert_int_eq(count_open_fds(), before); /* nothing leaked, ring included */
}
END_TEST

struct rcv {
	struct ex_future fut;
	struct ex_async a;
	int fd[2], round;
	char buf[64];
	struct ex_io io;
	struct ex_timeout t;
	struct ex_select sel;
	struct ex_cancelled c;
	struct ex_cancel_token *fired;
};

static ex_poll_t rcv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct rcv *s = ex_container_of(f, struct rcv, fut);
	EX_BEGIN(&s->a);
	for (s->round = 0; s->round < ROUNDS; s->round++) {
		EX_AWAIT(&s->a, cx,
			 &ex_timeout(&s->t, 1000000,
				     ex_recv_ready(&s->io, s->fd[0], s->buf, sizeof s->buf, 0))
				  ->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), -ETIMEDOUT);
		ck_assert_int_eq(send(s->fd[1], "message", 7, 0), 7);
		EX_AWAIT(&s->a, cx,
			 &ex_select(&s->sel, ex_cancelled(&s->c, s->fired),
				    ex_recv_ready(&s->io, s->fd[0], s->buf, sizeof s->buf, 0))
				  ->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 0);
		memset(s->buf, 0, sizeof s->buf);
		EX_AWAIT(&s->a, cx,
			 &ex_recv_ready(&s->io, s->fd[0], s->buf, sizeof s->buf, 0)->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 7); /* the whole message, nothing consumed */
		ck_assert_str_eq(s->buf, "message");
	}
	EX_END(&s->a, f, 0);
}

START_TEST(recv_losers_lose_no_message)
{
	int before = count_open_fds();
	struct rcv s = { .fut.poll = rcv_poll };
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s.fd), 0);
	ck_assert_int_eq(ex_cancel_token_new(&s.fired), 0);
	ex_cancel_token_cancel(s.fired, EX_CANCEL_REQUESTED);
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	close(s.fd[0]);
	close(s.fd[1]);
	ex_cancel_token_unref(s.fired);
	ck_assert_int_eq(count_open_fds(), before);
}
END_TEST

/* seqwait on the runtime: a timed-out waiter leaves at once; an advance from another task wakes. */
struct adv {
	struct ex_future fut;
	struct ex_seqwait *sw;
};

static ex_poll_t adv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct adv *a = ex_container_of(f, struct adv, fut);
	(void)cx;
	f->output = ex_seqwait_advance(a->sw, ex_seqwait_load(a->sw) + 10);
	return EX_READY;
}

struct sq {
	struct ex_future fut;
	struct ex_async a;
	struct ex_seqwait *sw;
	struct ex_seqwait_wait_timeout wt;
	struct ex_seqwait_wait w;
	struct adv adv;
	struct ex_join_handle h;
	int round;
};

static ex_poll_t sq_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sq *s = ex_container_of(f, struct sq, fut);
	EX_BEGIN(&s->a);
	for (s->round = 1; s->round <= 20; s->round++) {
		EX_AWAIT(&s->a, cx,
			 &ex_seqwait_wait_timeout(&s->wt, s->sw, 10ull * s->round, 1000000)->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), -ETIMEDOUT);
		ck_assert_uint_eq(ex_seqwait_waiters(s->sw), 0);
		s->adv = (struct adv){ .fut.poll = adv_poll, .sw = s->sw };
		ck_assert_int_eq(ex_spawn(&s->adv.fut, NULL, "advance", &s->h), 0);
		ex_join_handle_detach(&s->h);
		/* a long timeout that does not fire: the advance wakes us */
		EX_AWAIT(&s->a, cx,
			 &ex_seqwait_wait_timeout(&s->wt, s->sw, 10ull * s->round,
						  120ull * 1000000000ull)
				  ->base);
		ck_assert_int_eq(EX_AWAITED(&s->a), 0);
	}
	EX_END(&s->a, f, 0);
}

START_TEST(seqwait_timeouts_on_runtime)
{
	struct sq s = { .fut.poll = sq_poll };
	ck_assert_int_eq(ex_seqwait_new(0, &s.sw), 0);
	ck_assert_int_eq(rt_run(2, &s.fut), 0);
	ck_assert_uint_eq(ex_seqwait_load(s.sw), 200);
	ck_assert_int_eq(ex_seqwait_free(s.sw), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rt_select");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, accept_losers_leak_no_fd_lose_no_connection);
	tcase_add_test(tc, recv_losers_lose_no_message);
	tcase_add_test(tc, seqwait_timeouts_on_runtime);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
