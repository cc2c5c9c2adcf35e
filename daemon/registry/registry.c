/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/registry.c — the registry's lists under its lock: entries, lookups, counts,
 * resolution of id prefixes, lists and references, start and end. Nothing here does disk I/O
 * under the lock (registry.h); creating and deleting are in lifecycle.c, loading in load.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "regint.h"
#include "wal/wal.h"

static void tenant_remote_unpublish(struct tenant *t);

struct registry reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

int64_t unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *path_join(const char *a, const char *b)
{
	char *p;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

/* ---- entries ---- */

struct tenant *tenant_alloc(const struct execd_id *id)
{
	char idbuf[EXECD_ID_STR_SIZE];
	struct tenant *t = calloc(1, sizeof *t);
	if (!t || !(t->dir = path_join(reg.tenants_dir, execd_id_format(id, idbuf)))) {
		free(t);
		return NULL;
	}
	t->id = *id;
	t->state = REG_CREATING;
	return t;
}

struct timeline *timeline_alloc(const struct tenant *t, const struct execd_id *id)
{
	char idbuf[EXECD_ID_STR_SIZE];
	struct timeline *tl = calloc(1, sizeof *tl);
	if (!tl)
		return NULL;
	if (asprintf(&tl->dir, "%s/timelines/%s", t->dir, execd_id_format(id, idbuf)) < 0) {
		free(tl);
		return NULL;
	}
	tl->tenant_id = t->id;
	tl->id = *id;
	tl->state = REG_CREATING;
	tl->refs = 1; /* the registry's */
	return tl;
}

void timeline_free(struct timeline *tl)
{
	if (!tl)
		return;
	wal_timeline_free(tl);
	free(tl->dir);
	free(tl->source);
	free(tl->slot);
	free(tl);
}

void tenant_free(struct tenant *t)
{
	if (!t)
		return;
	while (t->timelines) {
		struct timeline *tl = t->timelines;
		t->timelines = tl->next;
		timeline_free(tl);
	}
	tenant_remote_unpublish(t);
	if (t->remote)
		remote_conf_free(t->remote);
	free(t->remote);
	free(t->dir);
	free(t);
}

void tenant_drop(struct tenant *t)
{
	while (t->timelines) {
		struct timeline *tl = t->timelines;
		t->timelines = tl->next;
		timeline_release(tl);
	}
	tenant_free(t);
}

/* The remote configurations of the loaded and created tenants, under a lock of their own:
 * daemon/wal's hooks read them from code that may hold reg.lock (timeline_resume_tasks). */
struct remote_entry {
	struct execd_id id;
	bool has_remote;
	struct remote_conf conf;
	struct remote_entry *next;
};
static pthread_mutex_t remote_lock = PTHREAD_MUTEX_INITIALIZER;
static struct remote_entry *remotes;

int tenant_remote_publish(struct tenant *t)
{
	struct remote_entry *e = calloc(1, sizeof *e);
	if (!e || (t->remote && remote_conf_dup(t->remote, &e->conf) < 0)) {
		free(e);
		return -ENOMEM;
	}
	e->id = t->id;
	e->has_remote = t->remote != NULL;
	pthread_mutex_lock(&remote_lock);
	e->next = remotes;
	remotes = e;
	pthread_mutex_unlock(&remote_lock);
	t->remote_listed = true;
	return 0;
}

static void tenant_remote_unpublish(struct tenant *t)
{
	struct remote_entry *e = NULL;
	if (!t->remote_listed)
		return;
	pthread_mutex_lock(&remote_lock);
	for (struct remote_entry **pp = &remotes; *pp; pp = &(*pp)->next)
		if (execd_id_eq(&(*pp)->id, &t->id)) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&remote_lock);
	if (e)
		remote_conf_free(&e->conf);
	free(e);
	t->remote_listed = false;
}

int registry_tenant_remote(const struct execd_id *tenant, struct remote_conf *out)
{
	int r = -ENOENT;
	memset(out, 0, sizeof *out); /* remote_conf_free() of it is safe whatever we return */
	pthread_mutex_lock(&remote_lock);
	for (struct remote_entry *e = remotes; e; e = e->next)
		if (execd_id_eq(&e->id, tenant)) {
			r = e->has_remote ? remote_conf_dup(&e->conf, out) : -ENODATA;
			break;
		}
	pthread_mutex_unlock(&remote_lock);
	return r;
}

void tenant_fill_info(const struct tenant *t, struct tenant_info *out)
{
	out->id = t->id;
	out->stopping = t->state == REG_STOPPING;
	out->created_at_ms = t->created_at_ms;
	out->has_remote = t->remote != NULL;
	out->timelines = 0;
	for (struct timeline *tl = t->timelines; tl; tl = tl->next)
		out->timelines += reg_visible(tl->state);
}

/* ---- lookups (hold reg.lock) ---- */

struct tenant *tenant_find_any(const struct execd_id *id)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		if (execd_id_eq(&t->id, id))
			return t;
	return NULL;
}

struct tenant *tenant_find_visible(const struct execd_id *id)
{
	struct tenant *t = tenant_find_any(id);
	return t && reg_visible(t->state) ? t : NULL;
}

struct timeline *timeline_find_any(const struct execd_id *id)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (execd_id_eq(&tl->id, id))
				return tl;
	return NULL;
}

struct timeline *timeline_find_visible(const struct execd_id *id)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl && reg_visible(t->state); tl = tl->next)
			if (execd_id_eq(&tl->id, id))
				return reg_visible(tl->state) ? tl : NULL;
	return NULL;
}

struct tenant *timeline_tenant(const struct timeline *tl)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *x = t->timelines; x; x = x->next)
			if (x == tl)
				return t;
	return NULL;
}

bool tenant_unlink_timeline(struct tenant *t, const struct timeline *tl)
{
	for (struct timeline **pp = &t->timelines; *pp; pp = &(*pp)->next)
		if (*pp == tl) {
			*pp = tl->next;
			return true;
		}
	return false;
}

/* ---- start and end ---- */

int registry_start(void)
{
	int first = 0, r;
	/* nothing else runs yet and the lists do not change: walked without the lock, because
	 * wal_timeline_start() reads each timeline's WAL state from disk */
	for (struct tenant *t = reg.tenants; t; t = t->next) {
		if ((r = tenant_mgr_spawn(&t->id)) < 0 && !first)
			first = r;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if ((r = wal_timeline_start(tl)) < 0) {
				execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id,
					      "cannot start timeline: %s", strerror(-r));
				if (!first)
					first = r;
			}
	}
	return first;
}

void registry_fini(void)
{
	pthread_mutex_lock(&reg.lock);
	struct tenant *list = reg.tenants;
	reg.tenants = NULL;
	free(reg.state_dir);
	free(reg.tenants_dir);
	reg.state_dir = reg.tenants_dir = NULL;
	quarantine_fini();
	pthread_mutex_unlock(&reg.lock);
	while (list) {
		struct tenant *t = list;
		list = t->next;
		tenant_free(t);
	}
}

/* ---- counts, lists, references ---- */

size_t registry_tenant_count(void)
{
	size_t n = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		n += reg_visible(t->state);
	pthread_mutex_unlock(&reg.lock);
	return n;
}

size_t registry_timeline_count(void)
{
	size_t n = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl && reg_visible(t->state); tl = tl->next)
			n += reg_visible(tl->state);
	pthread_mutex_unlock(&reg.lock);
	return n;
}

int tenant_list(struct tenant_info **out, size_t *n)
{
	size_t cap = 0, i = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		cap++;
	*out = calloc(cap ? cap : 1, sizeof **out);
	for (struct tenant *t = reg.tenants; *out && t; t = t->next)
		if (reg_visible(t->state))
			tenant_fill_info(t, &(*out)[i++]);
	pthread_mutex_unlock(&reg.lock);
	*n = i;
	return *out ? 0 : -ENOMEM;
}

void timeline_take_ref(struct timeline *tl, struct timeline_ref *out)
{
	tl->refs++;
	out->tl = tl;
	out->stopping = tl->state == REG_STOPPING;
}

int timeline_list(const struct execd_id *tenant, struct timeline_ref **out, size_t *n)
{
	size_t cap = 0, i = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			cap++;
	*out = calloc(cap ? cap : 1, sizeof **out);
	for (struct tenant *t = reg.tenants; *out && t; t = t->next) {
		if (!reg_visible(t->state) || (tenant && !execd_id_eq(tenant, &t->id)))
			continue;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (reg_visible(tl->state))
				timeline_take_ref(tl, &(*out)[i++]);
	}
	pthread_mutex_unlock(&reg.lock);
	*n = i;
	return *out ? 0 : -ENOMEM;
}

int timeline_acquire(const struct execd_id *id, struct timeline_ref *out)
{
	pthread_mutex_lock(&reg.lock);
	struct timeline *tl = timeline_find_visible(id);
	if (tl)
		timeline_take_ref(tl, out);
	pthread_mutex_unlock(&reg.lock);
	return tl ? 0 : -ENOENT;
}

void timeline_release(struct timeline *tl)
{
	pthread_mutex_lock(&reg.lock);
	bool last = --tl->refs == 0;
	pthread_mutex_unlock(&reg.lock);
	if (last) /* unlisted, and no one else holds it: no lock needed */
		timeline_free(tl);
}

void timeline_refs_release(struct timeline_ref *refs, size_t n)
{
	for (size_t i = 0; refs && i < n; i++)
		timeline_release(refs[i].tl);
	free(refs);
}

/* ---- marks ---- */

int tenant_mark_stopping(const struct execd_id *id)
{
	pthread_mutex_lock(&reg.lock);
	struct tenant *t = tenant_find_visible(id);
	if (t) {
		t->state = REG_STOPPING;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (tl->state == REG_ACTIVE)
				tl->state = REG_STOPPING;
	}
	pthread_mutex_unlock(&reg.lock);
	return t ? 0 : -ENOENT;
}

int timeline_mark_stopping(const struct execd_id *id)
{
	pthread_mutex_lock(&reg.lock);
	struct timeline *tl = timeline_find_visible(id);
	if (tl)
		tl->state = REG_STOPPING;
	pthread_mutex_unlock(&reg.lock);
	return tl ? 0 : -ENOENT;
}

/* ---- resolution of id prefixes ---- */

/* One more match of a prefix: the first is the answer, every one a candidate (best effort: an
 * allocation that fails leaves the list shorter, the answer -ENOTUNIQ all the same). */
static void add_match(size_t *n, struct execd_id *out, const struct execd_id *id,
		      struct id_list *cands)
{
	if ((*n)++ == 0)
		*out = *id;
	if (!cands)
		return;
	struct execd_id *ids = realloc(cands->ids, (cands->n + 1) * sizeof *ids);
	if (ids) {
		ids[cands->n++] = *id;
		cands->ids = ids;
	}
}

static int resolved(size_t n, struct id_list *cands)
{
	if (n <= 1 && cands) {
		free(cands->ids);
		cands->ids = NULL;
		cands->n = 0;
	}
	return n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
}

int tenant_resolve(const char *prefix, struct execd_id *out, struct id_list *candidates)
{
	size_t n = 0;
	if (candidates)
		*candidates = (struct id_list){ 0 };
	if (!execd_id_prefix_valid(prefix))
		return -EINVAL;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		if (reg_visible(t->state) && execd_id_has_prefix(&t->id, prefix))
			add_match(&n, out, &t->id, candidates);
	pthread_mutex_unlock(&reg.lock);
	return resolved(n, candidates);
}

int timeline_resolve(const struct execd_id *tenant, const char *prefix, struct execd_id *tenant_out,
		     struct execd_id *out, struct id_list *candidates)
{
	size_t n = 0;
	if (candidates)
		*candidates = (struct id_list){ 0 };
	if (!execd_id_prefix_valid(prefix))
		return -EINVAL;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next) {
		if (!reg_visible(t->state) || (tenant && !execd_id_eq(tenant, &t->id)))
			continue;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (reg_visible(tl->state) && execd_id_has_prefix(&tl->id, prefix)) {
				if (n == 0)
					*tenant_out = t->id;
				add_match(&n, out, &tl->id, candidates);
			}
	}
	pthread_mutex_unlock(&reg.lock);
	return resolved(n, candidates);
}
