/* SPDX-License-Identifier: MIT */
/*
 * Hierarchical cancellation tokens (executor/cancel.h).
 *
 * Model: tokio-util's CancellationToken tree. Each token has its own mutex that protects its list
 * of children and its list of ex_cancelled() waiters. The cancelled state itself is one atomic
 * word (the reason) so that ex_cancel_token_is_cancelled() is lock-free.
 *
 * Lock order: a parent's lock is always taken before a child's lock (cancel walks down the tree
 * holding the parent's lock; child creation and the unlink of a dying child take only the
 * parent's lock). No code path takes a child's lock and then its parent's, so there is no cycle.
 *
 * A child holds a reference to its parent, so that its parent pointer stays valid until the child
 * is unlinked in its last unref.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <executor/cancel.h>
#include <executor/park.h>

struct ex_cancel_token {
	atomic_int refs;
	atomic_int reason; /* enum ex_cancel_reason; EX_CANCEL_NONE until cancelled */
	pthread_mutex_t lock;
	struct ex_cancel_token *parent; /* holds a reference; NULL for a root */
	/* Children (intrusive doubly linked list), protected by this token's lock. */
	struct ex_cancel_token *first_child;
	/* Siblings, protected by the PARENT's lock. */
	struct ex_cancel_token *prev_sibling, *next_sibling;
	/* ex_cancelled() waiters, protected by this token's lock. */
	struct ex_cancelled *waiters;
};

const char *ex_cancel_reason_name(enum ex_cancel_reason reason)
{
	switch (reason) {
	case EX_CANCEL_NONE:
		return "none";
	case EX_CANCEL_SHUTDOWN:
		return "shutdown";
	case EX_CANCEL_DELETED:
		return "deleted";
	case EX_CANCEL_TIMEOUT:
		return "timeout";
	case EX_CANCEL_REQUESTED:
		return "requested";
	case EX_CANCEL_FAILED:
		return "failed";
	case EX_CANCEL_SCOPE_END:
		return "scope-end";
	}
	return "unknown";
}

static struct ex_cancel_token *token_alloc(void)
{
	struct ex_cancel_token *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	atomic_init(&t->reason, EX_CANCEL_NONE);
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

int ex_cancel_token_new(struct ex_cancel_token **out)
{
	if (!out)
		return -EINVAL;
	struct ex_cancel_token *t = token_alloc();
	if (!t)
		return -ENOMEM;
	*out = t;
	return 0;
}

int ex_cancel_token_child(struct ex_cancel_token *parent, struct ex_cancel_token **out)
{
	if (!parent || !out)
		return -EINVAL;
	struct ex_cancel_token *c = token_alloc();
	if (!c)
		return -ENOMEM;
	c->parent = ex_cancel_token_ref(parent);

	/* Under the parent's lock, either the parent's cancel already ran (we copy its reason) or it
	 * has not yet started (it will find the child in the list). Nothing falls in between. */
	pthread_mutex_lock(&parent->lock);
	int r = atomic_load_explicit(&parent->reason, memory_order_acquire);
	if (r != EX_CANCEL_NONE)
		atomic_store_explicit(&c->reason, r, memory_order_release);
	c->next_sibling = parent->first_child;
	if (parent->first_child)
		parent->first_child->prev_sibling = c;
	parent->first_child = c;
	pthread_mutex_unlock(&parent->lock);

	*out = c;
	return 0;
}

struct ex_cancel_token *ex_cancel_token_ref(struct ex_cancel_token *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void ex_cancel_token_unref(struct ex_cancel_token *t)
{
	while (t) {
		if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
			return;
		/* Last reference: no waiter can exist (each holds a reference). Children hold a
		 * reference to us, so there are none either. Unlink from the parent, under the
		 * parent's lock, because a concurrent cancel of the parent may be walking the list. */
		struct ex_cancel_token *p = t->parent;
		if (p) {
			pthread_mutex_lock(&p->lock);
			if (t->prev_sibling)
				t->prev_sibling->next_sibling = t->next_sibling;
			else
				p->first_child = t->next_sibling;
			if (t->next_sibling)
				t->next_sibling->prev_sibling = t->prev_sibling;
			pthread_mutex_unlock(&p->lock);
		}
		pthread_mutex_destroy(&t->lock);
		free(t);
		t = p; /* drop the child's reference to its parent (iteratively, no recursion) */
	}
}

static void waiter_unlink(struct ex_cancel_token *t, struct ex_cancelled *w)
{
	struct ex_cancelled *prev = w->link_prev, *next = w->link_next;
	if (prev)
		prev->link_next = next;
	else
		t->waiters = next;
	if (next)
		next->link_prev = prev;
	w->link_prev = w->link_next = NULL;
	w->registered = 0;
}

/* Cancel @t and its subtree; the caller holds @t's lock. Returns whether @t changed. */
static bool cancel_locked(struct ex_cancel_token *t, int reason)
{
	int expected = EX_CANCEL_NONE;
	if (!atomic_compare_exchange_strong_explicit(&t->reason, &expected, reason,
						     memory_order_acq_rel, memory_order_acquire))
		return false; /* already cancelled: so is its whole subtree */

	/* Wake waiters under the lock: a waiter's poll and release take this lock before they look
	 * at `registered`, so the waiter's memory cannot be reused while we touch it. A waker never
	 * calls back into the token (it only schedules a task). */
	while (t->waiters) {
		struct ex_cancelled *w = t->waiters;
		waiter_unlink(t, w);
		ex_waker_wake(&w->waker);
	}
	for (struct ex_cancel_token *c = t->first_child; c; c = c->next_sibling) {
		pthread_mutex_lock(&c->lock);
		cancel_locked(c, reason);
		pthread_mutex_unlock(&c->lock);
	}
	return true;
}

bool ex_cancel_token_cancel(struct ex_cancel_token *t, enum ex_cancel_reason reason)
{
	if (!t)
		return false;
	if (reason == EX_CANCEL_NONE)
		reason = EX_CANCEL_REQUESTED; /* NONE would read as "not cancelled" */
	if (atomic_load_explicit(&t->reason, memory_order_acquire) != EX_CANCEL_NONE)
		return false;
	pthread_mutex_lock(&t->lock);
	bool changed = cancel_locked(t, (int)reason);
	pthread_mutex_unlock(&t->lock);
	return changed;
}

bool ex_cancel_token_is_cancelled(const struct ex_cancel_token *t)
{
	return atomic_load_explicit(&((struct ex_cancel_token *)t)->reason, memory_order_acquire) !=
	       EX_CANCEL_NONE;
}

enum ex_cancel_reason ex_cancel_token_reason(const struct ex_cancel_token *t)
{
	return (enum ex_cancel_reason)atomic_load_explicit(&((struct ex_cancel_token *)t)->reason,
							   memory_order_acquire);
}

/* --- the cancel-safe "cancelled" future --- */

static void cancelled_finish(struct ex_cancelled *f)
{
	struct ex_cancel_token *t = f->token;
	pthread_mutex_lock(&t->lock);
	if (f->registered)
		waiter_unlink(t, f);
	pthread_mutex_unlock(&t->lock);
	ex_waker_drop(&f->waker);
	f->token = NULL;
	ex_cancel_token_unref(t);
}

static ex_poll_t cancelled_poll(struct ex_future *fut, struct ex_context *cx)
{
	struct ex_cancelled *f = ex_container_of(fut, struct ex_cancelled, cs.base);
	struct ex_cancel_token *t = f->token;
	if (!t)
		return EX_READY; /* polled after completion: keep the result */

	int r = atomic_load_explicit(&t->reason, memory_order_acquire);
	if (r == EX_CANCEL_NONE) {
		pthread_mutex_lock(&t->lock);
		r = atomic_load_explicit(&t->reason, memory_order_acquire);
		if (r == EX_CANCEL_NONE) {
			ex_waker_store(&f->waker, cx->waker);
			if (!f->registered) {
				f->link_prev = NULL;
				f->link_next = t->waiters;
				if (t->waiters)
					((struct ex_cancelled *)t->waiters)->link_prev = f;
				t->waiters = f;
				f->registered = 1;
			}
			pthread_mutex_unlock(&t->lock);
			ex_park_wait_weak(cx, EX_WAIT_CANCEL, 0);
			return EX_PENDING;
		}
		pthread_mutex_unlock(&t->lock);
	}
	fut->output = r;
	cancelled_finish(f);
	return EX_READY;
}

static void cancelled_release(struct ex_cancel_safe_future *cs)
{
	struct ex_cancelled *f = ex_container_of(cs, struct ex_cancelled, cs);
	if (f->token)
		cancelled_finish(f);
}

struct ex_cancel_safe_future *ex_cancelled(struct ex_cancelled *f, struct ex_cancel_token *t)
{
	f->cs.base.poll = cancelled_poll;
	f->cs.base.output = 0;
	f->cs.release = cancelled_release;
	f->token = ex_cancel_token_ref(t);
	f->waker.vtable = NULL;
	f->waker.data = NULL;
	f->link_prev = f->link_next = NULL;
	f->registered = 0;
	return &f->cs;
}

/* --- scopes --- */

int ex_cancel_scope_enter(struct ex_cancel_scope *s, struct ex_cancel_token *parent)
{
	s->token = NULL;
	s->err = parent ? ex_cancel_token_child(parent, &s->token) : ex_cancel_token_new(&s->token);
	return s->err;
}

struct ex_cancel_scope ex_cancel_scope_make(struct ex_cancel_token *parent)
{
	struct ex_cancel_scope s;
	ex_cancel_scope_enter(&s, parent);
	return s;
}

void ex_cancel_scope_exit(struct ex_cancel_scope *s)
{
	if (!s->token)
		return;
	ex_cancel_token_cancel(s->token, EX_CANCEL_SCOPE_END);
	ex_cancel_token_unref(s->token);
	s->token = NULL;
}
