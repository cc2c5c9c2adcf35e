/* SPDX-License-Identifier: MIT */
/*
 * Socket futures on loopback TCP and pipes: connect/accept/send/recv/poll, the cancel-safe
 * accept/recv/poll released mid-flight (no fd leaked, no connection or byte lost), and reading
 * a signalfd.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <executor/io.h>
#include "io_driver.h"

static struct drv D;

static void setup(void)
{
	drv_init(&D, 0, 0);
}

static void teardown(void)
{
	drv_fini(&D);
}

/* A listening loopback socket on an ephemeral port; *addr gets its address. */
static int listener(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(addr, 0, sizeof *addr);
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
	socklen_t len = sizeof *addr;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

START_TEST(connect_accept_send_recv)
{
	struct sockaddr_in a;
	int l = listener(&a);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ex_io ioc, ioa;
	struct drv_slot s[2];
	struct sockaddr_in peer;
	socklen_t peerlen = sizeof peer;
	/* accept first (pending: nobody connected yet), then connect: both complete */
	drv_slot_init(&D, &s[0],
		      &ex_accept(&ioa, l, (struct sockaddr *)&peer, &peerlen, SOCK_CLOEXEC)->base);
	drv_slot_init(&D, &s[1], ex_connect(&ioc, c, (struct sockaddr *)&a, sizeof a));
	drv_run(&D, s, 2);
	ck_assert_int_eq(ioc.cs.base.output, 0);
	int srv = (int)ioa.cs.base.output;
	ck_assert_int_ge(srv, 0);
	ck_assert_int_eq(peer.sin_family, AF_INET);
	ck_assert(fcntl(l, F_GETFL) & O_NONBLOCK); /* documented side effect */

	struct ex_io io;
	ck_assert_int_eq(drv_block_on(&D, ex_send(&io, c, "ping", 4, MSG_NOSIGNAL)), 4);
	char buf[8] = { 0 };
	ck_assert_int_eq(drv_block_on(&D, ex_recv(&io, srv, buf, sizeof buf, 0)), 4);
	ck_assert_str_eq(buf, "ping");
	/* POLLOUT is ready at once; POLLIN once data arrives */
	ck_assert_int_eq(drv_block_on(&D, &ex_poll_fd(&io, srv, POLLOUT)->base) & POLLOUT, POLLOUT);
	struct drv_slot ps;
	drv_slot_init(&D, &ps, &ex_poll_fd(&io, srv, POLLIN)->base);
	ck_assert_int_eq(drv_poll_once(&D, &ps), EX_PENDING);
	ck_assert_int_eq(drv_block_on(&D, ex_send(&ioc, c, "pong!", 5, MSG_NOSIGNAL)), 5);
	drv_run(&D, &ps, 1);
	ck_assert_int_eq(io.cs.base.output & POLLIN, POLLIN);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(drv_block_on(&D, &ex_recv_ready(&io, srv, buf, sizeof buf, 0)->base), 5);
	ck_assert_str_eq(buf, "pong!");
	/* peer closes: recv sees 0 */
	close(c);
	ck_assert_int_eq(drv_block_on(&D, &ex_recv_ready(&io, srv, buf, sizeof buf, 0)->base), 0);
	close(srv);
	close(l);
}
END_TEST

START_TEST(socket_errors)
{
	struct ex_io io;
	char buf[4];
	struct sockaddr_in a;
	int l = listener(&a);
	close(l); /* nobody listens there any more */
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(drv_block_on(&D, ex_connect(&io, c, (struct sockaddr *)&a, sizeof a)),
			 -ECONNREFUSED);
	close(c);
	ck_assert_int_eq(drv_block_on(&D, ex_recv(&io, 999, buf, sizeof buf, 0)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, ex_send(&io, 999, buf, sizeof buf, 0)), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, &ex_poll_fd(&io, 999, POLLIN)->base), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, &ex_accept(&io, 999, NULL, NULL, 0)->base), -EBADF);
	ck_assert_int_eq(drv_block_on(&D, &ex_recv_ready(&io, 999, buf, sizeof buf, 0)->base),
			 -EBADF);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(drv_block_on(&D, &ex_accept(&io, p[0], NULL, NULL, 0)->base), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A pending accept is released (as a losing select branch); a connection that arrives after
 * the release is not lost: the next accept returns it; no fd leaks. */
START_TEST(accept_released_loses_nothing)
{
	struct sockaddr_in a;
	int l = listener(&a);
	int fds = drv_count_fds();
	static struct drv_slot slots[50]; /* one per round: see recv_released_loses_nothing */
	for (int round = 0; round < 50; round++) {
		struct ex_io io;
		struct drv_slot *s = &slots[round];
		drv_slot_init(&D, s, &ex_accept(&io, l, NULL, NULL, SOCK_CLOEXEC)->base);
		ck_assert_int_eq(drv_poll_once(&D, s), EX_PENDING);
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
		if (round % 2)
			drv_wait_woken(&D, s); /* release after readiness was reported */
		io.cs.release(&io.cs);
		/* A completion that raced the release has taken the waker out already and drops it
		 * when it wakes: a clone still held means that wake is on its way. */
		if (__atomic_load_n(&s->clones, __ATOMIC_RELAXED))
			drv_wait_woken(&D, s);
		ck_assert_int_eq(__atomic_load_n(&s->clones, __ATOMIC_RELAXED), 0);
		/* the connection is still there for the next accept */
		int srv = (int)drv_block_on(&D, &ex_accept(&io, l, NULL, NULL, SOCK_CLOEXEC)->base);
		ck_assert_int_ge(srv, 0);
		ck_assert_int_eq(send(c, "k", 1, MSG_NOSIGNAL), 1);
		char ch = 0;
		ck_assert_int_eq(drv_block_on(&D, ex_recv(&io, srv, &ch, 1, 0)), 1);
		ck_assert_int_eq(ch, 'k');
		close(srv);
		close(c);
	}
	ck_assert_int_eq(drv_count_fds(), fds);
	close(l);
}
END_TEST

/* A pending cancel-safe recv is released; the bytes sent afterwards are all received by the
 * next one. */
START_TEST(recv_released_loses_nothing)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int fds = drv_count_fds();
	/* One slot per round, never reused: a completion that raced the release still wakes the
	 * released future's waker, and that wake may touch its slot after the next round began (a
	 * waker must stay valid until its last wake; the reactor joins its thread at teardown). */
	static struct drv_slot slots[50];
	for (int round = 0; round < 50; round++) {
		struct ex_io io;
		struct drv_slot *s = &slots[round];
		char buf[16] = { 0 };
		drv_slot_init(&D, s, &ex_recv_ready(&io, sv[0], buf, sizeof buf, 0)->base);
		ck_assert_int_eq(drv_poll_once(&D, s), EX_PENDING);
		char msg[16];
		int len = snprintf(msg, sizeof msg, "msg%d", round);
		ck_assert_int_eq(send(sv[1], msg, (size_t)len, MSG_NOSIGNAL), len);
		if (round % 2)
			drv_wait_woken(&D, s); /* release after readiness was reported */
		io.cs.release(&io.cs);
		ck_assert_str_eq(buf, ""); /* nothing consumed by the released future */
		ck_assert_int_eq(
			drv_block_on(&D, &ex_recv_ready(&io, sv[0], buf, sizeof buf, 0)->base),
			len);
		ck_assert_int_eq(memcmp(buf, msg, (size_t)len), 0);
	}
	ck_assert_int_eq(drv_count_fds(), fds);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(pipe_read_write)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	struct ex_io r, w;
	struct drv_slot s[2];
	char buf[8] = { 0 };
	drv_slot_init(&D, &s[0], ex_read(&r, p[0], buf, sizeof buf, -1));
	ck_assert_int_eq(drv_poll_once(&D, &s[0]), EX_PENDING); /* empty pipe */
	drv_slot_init(&D, &s[1], ex_write(&w, p[1], "data", 4, -1));
	drv_run(&D, s, 2);
	ck_assert_int_eq(w.cs.base.output, 4);
	ck_assert_int_eq(r.cs.base.output, 4);
	ck_assert_str_eq(buf, "data");
	close(p[1]);
	ck_assert_int_eq(drv_block_on(&D, ex_read(&r, p[0], buf, sizeof buf, -1)), 0); /* EOF */
	close(p[0]);
}
END_TEST

START_TEST(signalfd_read)
{
	/* the signal was blocked in main() before any thread (the completion thread) started */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	ck_assert_int_ge(sfd, 0);
	struct ex_io io;
	struct signalfd_siginfo info;
	struct drv_slot s;
	drv_slot_init(&D, &s, ex_read_signalfd(&io, sfd, &info));
	ck_assert_int_eq(drv_poll_once(&D, &s), EX_PENDING);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	drv_run(&D, &s, 1);
	ck_assert_int_eq(io.cs.base.output, SIGUSR1);
	ck_assert_uint_eq(info.ssi_signo, SIGUSR1);
	ck_assert_int_eq(info.ssi_pid, getpid());
	close(sfd);
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	ck_assert_int_eq(drv_block_on(&D, ex_read_signalfd(&io, p[0], &info)),
			 -EIO); /* EOF: short */
	ck_assert_int_eq(drv_block_on(&D, ex_read_signalfd(&io, 999, &info)), -EBADF);
	close(p[0]);
}
END_TEST

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	Suite *s = suite_create("io_net");
	TCase *tc = tcase_create("net");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, connect_accept_send_recv);
	tcase_add_test(tc, socket_errors);
	tcase_add_test(tc, accept_released_loses_nothing);
	tcase_add_test(tc, recv_released_loses_nothing);
	tcase_add_test(tc, pipe_read_write);
	tcase_add_test(tc, signalfd_read);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
