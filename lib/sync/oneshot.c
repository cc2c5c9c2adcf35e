/* SPDX-License-Identifier: MIT */
/* Oneshot channel (executor/oneshot.h): a mutex, a value, a receiver waker, two side references.
 * Sending is not releasing: each side is one reference, released only by its own drop call, so
 * that a second send (or a send after the receiver left) still finds the oneshot alive and gets a
 * defined error instead of touching freed memory. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <executor/oneshot.h>
#include <executor/park.h>

struct ex_oneshot {
	pthread_mutex_t lock;
	int sides; /* open sides (2, 1, 0): the last one frees */
	bool sender_open, receiver_open;
	bool sent;      /* a value was sent (stays true once the receiver took it) */
	bool has_value; /* sent and not yet taken by a recv */
	int64_t value;
	struct ex_waker waker; /* the receiver, when waiting */
};

int ex_oneshot_new(struct ex_oneshot **out)
{
	if (!out)
		return -EINVAL;
	struct ex_oneshot *os = calloc(1, sizeof *os);
	if (!os)
		return -ENOMEM;
	pthread_mutex_init(&os->lock, NULL);
	os->sides = 2;
	os->sender_open = os->receiver_open = true;
	*out = os;
	return 0;
}

/* Release one side; the caller holds the lock, which this drops. */
static void side_done_unlock(struct ex_oneshot *os)
{
	bool last = --os->sides == 0;
	pthread_mutex_unlock(&os->lock);
	if (last) {
		ex_waker_drop(&os->waker);
		pthread_mutex_destroy(&os->lock);
		free(os);
	}
}

int ex_oneshot_send(struct ex_oneshot *os, int64_t value)
{
	pthread_mutex_lock(&os->lock);
	int r = 0;
	if (os->sent || !os->sender_open) {
		/* A second send. After ex_oneshot_sender_drop() a send is a caller bug the header
		 * forbids (the oneshot may be freed); while the receiver keeps it alive, say so. */
		r = -EALREADY;
	} else if (!os->receiver_open) {
		r = -EPIPE; /* nobody will receive: the value stays the caller's */
	} else {
		os->value = value;
		os->has_value = os->sent = true;
		ex_waker_wake(&os->waker);
	}
	pthread_mutex_unlock(&os->lock);
	return r;
}

void ex_oneshot_sender_drop(struct ex_oneshot *os)
{
	pthread_mutex_lock(&os->lock);
	if (!os->sender_open) {
		pthread_mutex_unlock(&os->lock);
		return;
	}
	os->sender_open = false;
	ex_waker_wake(&os->waker);
	side_done_unlock(os);
}

void ex_oneshot_receiver_drop(struct ex_oneshot *os)
{
	pthread_mutex_lock(&os->lock);
	if (!os->receiver_open) {
		pthread_mutex_unlock(&os->lock);
		return;
	}
	os->receiver_open = false;
	ex_waker_drop(&os->waker);
	side_done_unlock(os);
}

bool ex_oneshot_is_closed(struct ex_oneshot *os)
{
	pthread_mutex_lock(&os->lock);
	bool closed = !os->receiver_open;
	pthread_mutex_unlock(&os->lock);
	return closed;
}

static ex_poll_t recv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_oneshot_recv *r = ex_container_of(f, struct ex_oneshot_recv, cs.base);
	struct ex_oneshot *os = r->os;
	pthread_mutex_lock(&os->lock);
	if (os->sent || !os->sender_open) {
		if (os->has_value) {
			r->value = os->value;
			os->has_value = false; /* taken: a later recv gets -EALREADY */
			f->output = 0;
		} else {
			/* -EALREADY: an earlier recv took the value; -EPIPE: none was sent and the
			 * sender side is gone. */
			f->output = os->sent ? -EALREADY : -EPIPE;
		}
		ex_waker_drop(&os->waker);
		r->registered = false;
		pthread_mutex_unlock(&os->lock);
		return EX_READY;
	}
	ex_waker_store(&os->waker, cx->waker);
	r->registered = true;
	pthread_mutex_unlock(&os->lock);
	ex_park_wait(cx, EX_WAIT_ONESHOT, 0);
	return EX_PENDING;
}

static void recv_release(struct ex_cancel_safe_future *cs)
{
	struct ex_oneshot_recv *r = ex_container_of(cs, struct ex_oneshot_recv, cs);
	if (!r->registered)
		return;
	pthread_mutex_lock(&r->os->lock);
	ex_waker_drop(
		&r->os->waker); /* the value, if it arrived meanwhile, stays for a later recv */
	r->registered = false;
	pthread_mutex_unlock(&r->os->lock);
}

struct ex_cancel_safe_future *ex_oneshot_recv(struct ex_oneshot_recv *r, struct ex_oneshot *os)
{
	r->cs.base.poll = recv_poll;
	r->cs.base.output = 0;
	r->cs.release = recv_release;
	r->value = 0;
	r->os = os;
	r->registered = false;
	return &r->cs;
}
