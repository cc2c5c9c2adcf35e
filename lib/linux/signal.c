/* SPDX-License-Identifier: MIT */
/*
 * The shutdown token's signal source (seed 003, "Shutdown Behaviors"): SIGINT and SIGTERM are
 * blocked in every runtime thread and read from a signalfd by an internal task, "ex:signals",
 * through io_uring (ex_read_signalfd), so a signal is an ordinary completion: no handler runs in
 * an arbitrary thread and no work happens in signal context. The first signal cancels the
 * shutdown token; a second SIGINT means the user insists: exit at once.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include <executor/async.h>
#include <executor/io.h>

#include "rt_internal.h"

struct sig_task {
	struct ex_future fut;
	struct ex_async a;
	struct ex_io io;
	struct signalfd_siginfo info;
	struct ex_runtime *rt;
	unsigned received;
};

static void on_signal(struct sig_task *s, int signo)
{
	struct ex_runtime *rt = s->rt;
	if (s->received++ > 0 && signo == SIGINT) {
		static const char msg[] = "second SIGINT: exiting at once\n";
		ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)w; /* nothing left to do about a failed write: we exit */
		_exit(130);
	}
	ex__log(rt, LOG_NOTICE, "received %s: shutting down (SIGINT again exits at once)",
		signo == SIGINT    ? "SIGINT"
		: signo == SIGTERM ? "SIGTERM"
				   : "a signal");
	ex_cancel_token_cancel(rt->shutdown_token, EX_CANCEL_SHUTDOWN);
}

static ex_poll_t sig_poll(struct ex_future *f, struct ex_context *cx)
{
	struct sig_task *s = ex_container_of(f, struct sig_task, fut);
	int64_t r;
	EX_BEGIN(&s->a);
	for (;;) {
		EX_AWAIT(&s->a, cx, ex_read_signalfd(&s->io, s->rt->sigfd, &s->info));
		r = EX_AWAITED(&s->a);
		if (r < 0) {
			/* -ECANCELED: the runtime is being freed. Anything else is a real failure. */
			if (r != -ECANCELED)
				ex__log(s->rt, LOG_ERR,
					"reading the signalfd failed: %s; signals ignored from now on",
					strerror((int)-r));
			EX_RETURN(&s->a, f, r);
		}
		on_signal(s, (int)r);
	}
	EX_END(&s->a, f, 0);
}

static void sig_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

/* Before any runtime thread starts: block the signals (the threads inherit the mask). */
int ex__signals_setup(struct ex_runtime *rt)
{
	sigset_t set;
	sig_set(&set);
	int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (r)
		return -r;
	/* Blocking fd on purpose: io_uring then waits for readiness instead of failing -EAGAIN. */
	rt->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (rt->sigfd < 0)
		return -errno;
	return 0;
}

int ex__signals_start(struct ex_runtime *rt)
{
	struct sig_task *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fut.poll = sig_poll;
	s->rt = rt;
	rt->sigstate = s;
	return ex__spawn(rt, &s->fut, NULL, "ex:signals", true, NULL);
}

/* After the workers and the reactor stopped: nothing touches the state any more. */
void ex__signals_free(struct ex_runtime *rt)
{
	struct sig_task *s = rt->sigstate;
	if (s) {
		/* ex_reactor_free completed its read with -ECANCELED: one last poll (no runtime thread
		 * is left, so nothing races it) takes that result and frees the operation record. */
		struct ex_context cx = { .waker = ex_noop_waker() };
		sig_poll(&s->fut, &cx);
	}
	free(rt->sigstate);
	rt->sigstate = NULL;
	if (rt->sigfd >= 0)
		close(rt->sigfd);
	rt->sigfd = -1;
}
