/* SPDX-License-Identifier: MIT */
/*
 * Bounded MPSC channel (executor/channel.h). One mutex protects the ring, the FIFO of waiting
 * senders and the receiver's waker. A freed slot is handed to the oldest waiting sender at once
 * (its message moves into the ring), so a waiting sender never competes with a newcomer and a
 * released sender can tell exactly whether its message went in.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <executor/channel.h>
#include <executor/park.h>

enum { S_NEW = 0, S_QUEUED = 1, S_DONE = 2 };

struct ex_channel {
	atomic_int refs;
	pthread_mutex_t lock;
	bool closed;
	size_t cap, head, len;
	void **ring;
	ex_channel_drop_fn drop_msg;
	struct ex_channel_send *wait_head, *wait_tail; /* waiting senders, oldest first */
	struct ex_waker recv_waker;                    /* the single receiver, when waiting */
};

int ex_channel_new(size_t capacity, ex_channel_drop_fn drop_msg, struct ex_channel **out)
{
	if (capacity == 0 || !out)
		return -EINVAL;
	struct ex_channel *ch = calloc(1, sizeof *ch);
	if (!ch)
		return -ENOMEM;
	ch->ring = calloc(capacity, sizeof *ch->ring);
	if (!ch->ring) {
		free(ch);
		return -ENOMEM;
	}
	atomic_init(&ch->refs, 1);
	pthread_mutex_init(&ch->lock, NULL);
	ch->cap = capacity;
	ch->drop_msg = drop_msg;
	*out = ch;
	return 0;
}

struct ex_channel *ex_channel_ref(struct ex_channel *ch)
{
	atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
	return ch;
}

void ex_channel_unref(struct ex_channel *ch)
{
	if (!ch || atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < ch->len; i++)
		if (ch->drop_msg)
			ch->drop_msg(ch->ring[(ch->head + i) % ch->cap]);
	ex_waker_drop(&ch->recv_waker);
	pthread_mutex_destroy(&ch->lock);
	free(ch->ring);
	free(ch);
}

static void push_locked(struct ex_channel *ch, void *msg)
{
	ch->ring[(ch->head + ch->len) % ch->cap] = msg;
	ch->len++;
	ex_waker_wake(&ch->recv_waker);
}

static void unlink_sender(struct ex_channel *ch, struct ex_channel_send *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		ch->wait_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		ch->wait_tail = s->prev;
	s->prev = s->next = NULL;
}

/* Complete a waiting sender; the caller holds the lock, so the sender cannot observe S_DONE (its
 * poll and release take the lock) before we stop touching it. */
static void finish_sender(struct ex_channel *ch, struct ex_channel_send *s, int64_t out)
{
	unlink_sender(ch, s);
	s->cs.base.output = out;
	s->state = S_DONE;
	ex_waker_wake(&s->waker);
}

/* Pop the oldest message; a slot is now free: hand it to the oldest waiting sender. */
static void *pop_locked(struct ex_channel *ch)
{
	void *msg = ch->ring[ch->head];
	ch->head = (ch->head + 1) % ch->cap;
	ch->len--;
	if (ch->wait_head) {
		struct ex_channel_send *s = ch->wait_head;
		ch->ring[(ch->head + ch->len) % ch->cap] = s->msg;
		ch->len++;
		s->sent = true;
		finish_sender(ch, s, 0);
	}
	return msg;
}

void ex_channel_close(struct ex_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	while (ch->wait_head)
		finish_sender(ch, ch->wait_head, -EPIPE); /* not sent: message handed back */
	ex_waker_wake(&ch->recv_waker);                   /* so that it sees -EPIPE once drained */
	pthread_mutex_unlock(&ch->lock);
}

size_t ex_channel_len(struct ex_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	size_t n = ch->len;
	pthread_mutex_unlock(&ch->lock);
	return n;
}

int ex_channel_try_send(struct ex_channel *ch, void *msg)
{
	int r = 0;
	pthread_mutex_lock(&ch->lock);
	if (ch->closed)
		r = -EPIPE;
	else if (ch->len == ch->cap || ch->wait_head)
		r = -EAGAIN;
	else
		push_locked(ch, msg);
	pthread_mutex_unlock(&ch->lock);
	return r;
}

int ex_channel_try_recv(struct ex_channel *ch, void **msg)
{
	int r = 0;
	pthread_mutex_lock(&ch->lock);
	if (ch->len)
		*msg = pop_locked(ch);
	else
		r = ch->closed ? -EPIPE : -EAGAIN;
	pthread_mutex_unlock(&ch->lock);
	return r;
}

/* --- send --- */

static ex_poll_t send_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_channel_send *s = ex_container_of(f, struct ex_channel_send, cs.base);
	struct ex_channel *ch = s->ch;
	pthread_mutex_lock(&ch->lock);
	if (s->state == S_DONE) { /* completed by a recv (sent) or a close (-EPIPE) */
		ex_waker_drop(&s->waker);
		pthread_mutex_unlock(&ch->lock);
		return EX_READY;
	}
	if (ch->closed) {
		if (s->state == S_QUEUED)
			unlink_sender(ch, s);
		f->output = -EPIPE;
	} else if (s->state == S_NEW && ch->len < ch->cap && !ch->wait_head) {
		push_locked(ch, s->msg);
		s->sent = true;
		f->output = 0;
	} else {
		ex_waker_store(&s->waker, cx->waker);
		if (s->state == S_NEW) { /* join the FIFO */
			s->prev = ch->wait_tail;
			s->next = NULL;
			if (ch->wait_tail)
				ch->wait_tail->next = s;
			else
				ch->wait_head = s;
			ch->wait_tail = s;
			s->state = S_QUEUED;
		}
		pthread_mutex_unlock(&ch->lock);
		ex_park_wait(cx, EX_WAIT_CHANNEL, 0);
		return EX_PENDING;
	}
	s->state = S_DONE;
	ex_waker_drop(&s->waker);
	pthread_mutex_unlock(&ch->lock);
	return EX_READY;
}

static void send_release(struct ex_cancel_safe_future *cs)
{
	struct ex_channel_send *s = ex_container_of(cs, struct ex_channel_send, cs);
	struct ex_channel *ch = s->ch;
	pthread_mutex_lock(&ch->lock);
	if (s->state == S_QUEUED)
		unlink_sender(ch, s); /* not sent: s->msg untouched, s->sent false */
	s->state = S_DONE;
	ex_waker_drop(&s->waker);
	pthread_mutex_unlock(&ch->lock);
}

struct ex_cancel_safe_future *ex_channel_send(struct ex_channel_send *s, struct ex_channel *ch,
					      void *msg)
{
	s->cs.base.poll = send_poll;
	s->cs.base.output = 0;
	s->cs.release = send_release;
	s->msg = msg;
	s->sent = false;
	s->ch = ch;
	s->waker.vtable = NULL;
	s->waker.data = NULL;
	s->prev = s->next = NULL;
	s->state = S_NEW;
	return &s->cs;
}

/* --- recv --- */

static ex_poll_t recv_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_channel_recv *r = ex_container_of(f, struct ex_channel_recv, cs.base);
	struct ex_channel *ch = r->ch;
	pthread_mutex_lock(&ch->lock);
	if (ch->len || ch->closed) {
		if (ch->len) {
			r->msg = pop_locked(ch);
			f->output = 0;
		} else {
			f->output = -EPIPE;
		}
		if (r->registered) {
			ex_waker_drop(&ch->recv_waker);
			r->registered = false;
		}
		pthread_mutex_unlock(&ch->lock);
		return EX_READY;
	}
	ex_waker_store(&ch->recv_waker, cx->waker);
	r->registered = true;
	pthread_mutex_unlock(&ch->lock);
	ex_park_wait(cx, EX_WAIT_CHANNEL, 0);
	return EX_PENDING;
}

static void recv_release(struct ex_cancel_safe_future *cs)
{
	struct ex_channel_recv *r = ex_container_of(cs, struct ex_channel_recv, cs);
	if (!r->registered)
		return; /* never waited, or completed: took nothing more */
	pthread_mutex_lock(&r->ch->lock);
	ex_waker_drop(&r->ch->recv_waker);
	r->registered = false;
	pthread_mutex_unlock(&r->ch->lock);
}

struct ex_cancel_safe_future *ex_channel_recv(struct ex_channel_recv *r, struct ex_channel *ch)
{
	r->cs.base.poll = recv_poll;
	r->cs.base.output = 0;
	r->cs.release = recv_release;
	r->msg = NULL;
	r->ch = ch;
	r->registered = false;
	return &r->cs;
}
