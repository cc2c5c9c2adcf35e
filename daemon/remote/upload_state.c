/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_state.c — the upload state of each timeline with remote storage
 * (upload_int.h): a short list under a lock of its own, found by the timeline's address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <executor/cancel.h>

#include "log.h"
#include "s3.h"
#include "registry/timeline.h"
#include "registry/timeline.h"
#include "upload_int.h"

static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upload_state *states;

struct upload_state *upload_state_find(struct timeline *tl)
{
	struct upload_state *st;
	pthread_mutex_lock(&states_lock);
	for (st = states; st && st->tl != tl; st = st->next)
		;
	pthread_mutex_unlock(&states_lock);
	return st;
}

static void state_free(struct upload_state *st)
{
	if (!st)
		return;
	remote_conf_free(&st->conf);
	remote_index_free(&st->idx);
	for (size_t i = 0; i < st->n_orphans; i++)
		s3_multipart_free(st->orphans[i]); /* their parts stay: logged when kept */
	free(st->orphans);
	pthread_mutex_destroy(&st->run);
	pthread_mutex_destroy(&st->lock);
	free(st->tldir);
	free(st->waldir);
	free(st);
}

static struct upload_state *state_new(struct timeline *tl, const struct remote_conf *conf)
{
	struct upload_state *st = calloc(1, sizeof *st);
	if (!st)
		return NULL;
	pthread_mutex_init(&st->run, NULL);
	pthread_mutex_init(&st->lock, NULL);
	st->tl = tl;
	st->sweep = true;
	if (!(st->tldir = strdup(tl->dir)) || asprintf(&st->waldir, "%s/wal", tl->dir) < 0 ||
	    remote_conf_dup(conf, &st->conf) < 0) {
		st->waldir = NULL;
		state_free(st);
		return NULL;
	}
	return st;
}

struct upload_state *upload_state_get(struct timeline *tl, const struct remote_conf *conf)
{
	struct upload_state *st, *fresh = NULL;
	if (!(st = upload_state_find(tl)) && !(fresh = state_new(tl, conf)))
		return NULL;
	pthread_mutex_lock(&states_lock);
	for (st = states; st && st->tl != tl; st = st->next)
		;
	if (!st && fresh) {
		fresh->next = states;
		states = st = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&states_lock);
	state_free(fresh);
	return st;
}

/* wal.h's free hook: the timeline's tasks ended. */
void upload_state_forget(struct timeline *tl)
{
	struct upload_state *st = NULL;
	pthread_mutex_lock(&states_lock);
	for (struct upload_state **pp = &states; *pp; pp = &(*pp)->next)
		if ((*pp)->tl == tl) {
			st = *pp;
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&states_lock);
	state_free(st);
}

void upload_state_outcome(struct upload_state *st, int e, const char *what)
{
	pthread_mutex_lock(&st->lock);
	if (e == -ESTALE) {
		st->phase = UP_FENCED;
		snprintf(st->last_error, sizeof st->last_error, "%s", what);
	} else if (e < 0 && e != -ECANCELED) {
		st->phase = UP_BACKOFF;
		snprintf(st->last_error, sizeof st->last_error, "%s", what);
	} else if (e == 0) {
		st->phase = UP_OK;
		st->retry_at_ms = 0;
	}
	pthread_mutex_unlock(&st->lock);
}

bool upload_cancelled(struct upload_state *st)
{
	struct ex_cancel_token *t = atomic_load(&st->token);
	return t && ex_cancel_token_is_cancelled(t);
}

int64_t upload_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
