/* SPDX-License-Identifier: MIT */
/* daemon/ctl/reply.c — hands a request task's response line to its connection task. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

struct ctl_reply {
	pthread_mutex_t lock;
	int refs; /* the connection and the request task */
	bool done;
	char *line;
	struct ex_waker waker;
	int fds[CTL_MAX_FDS]; /* passed with the line (fdpass.c) */
	int nfds;
};

struct ctl_reply *ctl_reply_new(void)
{
	struct ctl_reply *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->refs = 2;
	return r;
}

static void unref(struct ctl_reply *r)
{
	pthread_mutex_lock(&r->lock);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (last) {
		ex_waker_drop(&r->waker);
		for (int i = 0; i < r->nfds; i++)
			close(r->fds[i]);
		free(r->line);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

void ctl_reply_complete(struct ctl_reply *r, char *line)
{
	pthread_mutex_lock(&r->lock);
	r->line = line;
	r->done = true;
	ex_waker_wake(&r->waker);
	pthread_mutex_unlock(&r->lock);
	unref(r);
}

void ctl_reply_complete_fds(struct ctl_reply *r, char *line, const int *fds, int nfds)
{
	pthread_mutex_lock(&r->lock);
	memcpy(r->fds, fds, sizeof(int) * (size_t)nfds);
	r->nfds = nfds;
	pthread_mutex_unlock(&r->lock);
	ctl_reply_complete(r, line);
}

int ctl_reply_take_fds(struct ctl_reply *r, int fds[CTL_MAX_FDS])
{
	pthread_mutex_lock(&r->lock);
	int n = r->nfds;
	memcpy(fds, r->fds, sizeof(int) * (size_t)n);
	r->nfds = 0;
	pthread_mutex_unlock(&r->lock);
	return n;
}

char *ctl_reply_take(struct ctl_reply *r)
{
	pthread_mutex_lock(&r->lock);
	char *line = r->line;
	r->line = NULL;
	pthread_mutex_unlock(&r->lock);
	unref(r);
	return line;
}

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ctl_reply_wait *w = ex_container_of(f, struct ctl_reply_wait, cs.base);
	ex_poll_t res = EX_PENDING;
	pthread_mutex_lock(&w->r->lock);
	if (w->r->done) {
		f->output = 0;
		res = EX_READY;
	} else {
		ex_waker_store(&w->r->waker, cx->waker);
		w->registered = true;
	}
	pthread_mutex_unlock(&w->r->lock);
	return res;
}

static void wait_release(struct ex_cancel_safe_future *f)
{
	struct ctl_reply_wait *w = ex_container_of(f, struct ctl_reply_wait, cs);
	pthread_mutex_lock(&w->r->lock);
	if (w->registered)
		ex_waker_drop(&w->r->waker);
	w->registered = false;
	pthread_mutex_unlock(&w->r->lock);
}

struct ex_cancel_safe_future *ctl_reply_wait(struct ctl_reply_wait *w, struct ctl_reply *r)
{
	w->cs.base.poll = wait_poll;
	w->cs.base.output = 0;
	w->cs.release = wait_release;
	w->r = r;
	w->registered = false;
	return &w->cs;
}
