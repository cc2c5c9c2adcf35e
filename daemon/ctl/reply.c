/* SPDX-License-Identifier: MIT */
/* daemon/ctl/reply.c — hands a request task's response line to its connection task. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl.h"

struct ctl_reply {
	pthread_mutex_t lock;
	int refs; /* the connection and the request task */
	bool done;
	char *line;
	int fd; /* passed with the line (SCM_RIGHTS), or -1 */
	struct ex_waker waker;
};

struct ctl_reply *ctl_reply_new(void)
{
	struct ctl_reply *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->refs = 2;
	r->fd = -1;
	return r;
}

static void unref(struct ctl_reply *r)
{
	pthread_mutex_lock(&r->lock);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (last) {
		ex_waker_drop(&r->waker);
		free(r->line);
		if (r->fd >= 0)
			close(r->fd);
		pthread_mutex_destroy(&r->lock);
		free(r);
	}
}

void ctl_reply_complete(struct ctl_reply *r, char *line)
{
	ctl_reply_complete_fd(r, line, -1);
}

void ctl_reply_complete_fd(struct ctl_reply *r, char *line, int fd)
{
	pthread_mutex_lock(&r->lock);
	r->line = line;
	r->fd = line ? fd : -1;
	if (!line && fd >= 0)
		close(fd); /* the line is an error now: no descriptor goes with it */
	r->done = true;
	ex_waker_wake(&r->waker);
	pthread_mutex_unlock(&r->lock);
	unref(r);
}

int ctl_reply_take_fd(struct ctl_reply *r)
{
	pthread_mutex_lock(&r->lock);
	int fd = r->fd;
	r->fd = -1;
	pthread_mutex_unlock(&r->lock);
	return fd;
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
