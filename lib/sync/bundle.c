/* SPDX-License-Identifier: MIT */
/*
 * Result bundle (executor/bundle.h): a child token, a list of join handles, and a wait that polls
 * the pending joins. Joins are cancel-safe, so the wait is too. Entries are allocated one by one
 * (the join futures point at their handles, so the handles must not move).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <executor/bundle.h>

struct entry {
	struct ex_join_handle h;
	struct ex_join join;
	bool joining; /* join initialised on h and not yet finished */
	struct ex_bundle_result res;
};

struct ex_bundle {
	struct ex_cancel_token *token;
	struct entry **e;
	size_t n, cap;
	int first_failed;
};

int ex_bundle_new(struct ex_cancel_token *parent, struct ex_bundle **out)
{
	struct ex_bundle *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	int r = parent ? ex_cancel_token_child(parent, &b->token) : ex_cancel_token_new(&b->token);
	if (r < 0) {
		free(b);
		return r;
	}
	b->first_failed = -1;
	*out = b;
	return 0;
}

void ex_bundle_free(struct ex_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = b->e[i];
		if (e->joining)
			e->join.cs.release(&e->join.cs);
		ex_join_handle_detach(&e->h); /* no-op once joined; else it runs to completion */
		free(e);
	}
	free(b->e);
	ex_cancel_token_unref(b->token);
	free(b);
}

struct ex_cancel_token *ex_bundle_token(struct ex_bundle *b)
{
	return b->token;
}

bool ex_bundle_cancel(struct ex_bundle *b, enum ex_cancel_reason reason)
{
	return ex_cancel_token_cancel(b->token, reason);
}

int ex_bundle_spawn(struct ex_bundle *b, struct ex_future *fut, ex_future_drop_fn drop,
		    const char *name)
{
	if (!b || !fut)
		return -EINVAL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct entry **a = realloc(b->e, cap * sizeof *a);
		if (!a)
			return -ENOMEM;
		b->e = a;
		b->cap = cap;
	}
	struct entry *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	int r = ex_spawn(fut, drop, name, &e->h);
	if (r < 0) {
		free(e);
		return r;
	}
	e->res.task_id = ex_join_handle_id(&e->h);
	if (name) {
		strncpy(e->res.name, name, sizeof e->res.name - 1);
		e->res.name[sizeof e->res.name - 1] = '\0';
	}
	b->e[b->n++] = e;
	return 0;
}

size_t ex_bundle_size(struct ex_bundle *b)
{
	return b->n;
}

int ex_bundle_result(struct ex_bundle *b, size_t i, struct ex_bundle_result *out)
{
	if (i >= b->n)
		return -ERANGE;
	*out = b->e[i]->res;
	return 0;
}

int ex_bundle_first_failed(struct ex_bundle *b)
{
	return b->first_failed;
}

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct ex_bundle_wait *w = ex_container_of(f, struct ex_bundle_wait, cs.base);
	struct ex_bundle *b = w->b;
	bool pending = false;
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = b->e[i];
		if (e->res.finished)
			continue;
		if (!e->joining) {
			ex_join(&e->join, &e->h);
			e->joining = true;
		}
		if (ex_poll(&e->join.cs.base, cx) == EX_PENDING) {
			pending = true;
			continue;
		}
		e->joining = false;
		e->res.finished = true;
		e->res.result = e->join.cs.base.output;
		if (e->res.result < 0 && b->first_failed < 0) {
			b->first_failed = (int)i;
			/* Ask the others to stop; keep waiting for them (none is dropped). */
			ex_cancel_token_cancel(b->token, EX_CANCEL_FAILED);
		}
	}
	if (pending)
		return EX_PENDING;
	f->output = b->first_failed < 0 ? 0 : b->e[b->first_failed]->res.result;
	return EX_READY;
}

static void wait_release(struct ex_cancel_safe_future *cs)
{
	struct ex_bundle_wait *w = ex_container_of(cs, struct ex_bundle_wait, cs);
	struct ex_bundle *b = w->b;
	for (size_t i = 0; i < b->n; i++) {
		struct entry *e = b->e[i];
		if (e->joining) {
			e->join.cs.release(&e->join.cs); /* unregisters; the handle stays valid */
			e->joining = false;
		}
	}
}

struct ex_cancel_safe_future *ex_bundle_wait(struct ex_bundle_wait *w, struct ex_bundle *b)
{
	w->cs.base.poll = wait_poll;
	w->cs.base.output = 0;
	w->cs.release = wait_release;
	w->b = b;
	return &w->cs;
}
