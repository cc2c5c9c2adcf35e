/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/registry.c — tenants and timelines in memory, mirroring the state directory; see
 * timeline.h. Every change is written to disk first and applied in memory only once the write
 * completed (seed 002); the registry lock is held across both so that no one sees the one
 * without the other.
 */
#include "timeline.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <executor/async.h>
#include <executor/cancel.h>

#include "log.h"
#include "persist.h"
#include "task_mgr.h"
#include "wal/wal.h"

#define TENANT_META "tenant.json"
#define TIMELINE_META "timeline.json"
#define META_MAX (64 * 1024)

static struct {
	pthread_mutex_t lock;
	char *state_dir;
	char *tenants_dir;
	struct tenant *tenants;
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lookups (hold reg.lock) ---- */

static struct tenant *tenant_find_locked(const struct execd_id *id)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		if (execd_id_eq(&t->id, id))
			return t;
	return NULL;
}

static struct timeline *timeline_find_locked(const struct execd_id *id)
{
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (execd_id_eq(&tl->id, id))
				return tl;
	return NULL;
}

/* ---- the tenant manager task: per-tenant housekeeping; today it only lives as long as the
 * tenant (so that task.list shows it and delete has something real to shut down). ---- */

struct tenant_mgr_task {
	struct ex_future fut;
	struct ex_async a;
	struct task_mgr_watcher w;
};

static ex_poll_t tenant_mgr_poll(struct ex_future *f, struct ex_context *cx)
{
	struct tenant_mgr_task *t = ex_container_of(f, struct tenant_mgr_task, fut);
	EX_BEGIN(&t->a);
	log_debug("tenant manager started");
	EX_AWAIT(&t->a, cx, &task_mgr_shutdown_watcher(&t->w)->base);
	log_debug("tenant manager stopping (%s)", ex_cancel_reason_name((enum ex_cancel_reason)EX_AWAITED(&t->a)));
	EX_END(&t->a, f, 0);
}

static void tenant_mgr_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct tenant_mgr_task, fut));
}

static int spawn_tenant_mgr(const struct execd_id *id)
{
	struct tenant_mgr_task *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->fut.poll = tenant_mgr_poll;
	return task_mgr_spawn(TASK_KIND_TENANT_MANAGER, id, NULL, "tenant_manager", false, &t->fut,
			      tenant_mgr_drop, NULL);
}

/* ---- JSON ---- */

static cJSON *tenant_json_locked(const struct tenant *t)
{
	char id[EXECD_ID_STR_SIZE];
	size_t n = 0;
	cJSON *o = cJSON_CreateObject();
	for (struct timeline *tl = t->timelines; tl; tl = tl->next)
		n++;
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&t->id, id)) ||
	    !cJSON_AddStringToObject(o, "state", t->stopping ? "stopping" : "active") ||
	    !cJSON_AddNumberToObject(o, "timelines", (double)n) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)t->created_at_ms)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *timeline_json_locked(struct timeline *tl)
{
	char id[EXECD_ID_STR_SIZE], tid[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&tl->id, id)) ||
	    !cJSON_AddStringToObject(o, "tenant", execd_id_format(&tl->tenant_id, tid)) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)tl->created_at_ms))
		goto fail;
	if (tl->wal) {
		if (wal_timeline_show(tl, o) < 0)
			goto fail;
	} else {
		/* no WAL state (not started, or stopping): the protocol's fields, empty */
		if (!cJSON_AddStringToObject(o, "state", tl->stopping ? "stopped" : "idle") ||
		    !cJSON_AddNullToObject(o, "error") ||
		    !(tl->slot ? cJSON_AddStringToObject(o, "slot", tl->slot) : cJSON_AddNullToObject(o, "slot")))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* ---- metadata files ---- */

static int write_tenant_meta(const struct tenant *t)
{
	char id[EXECD_ID_STR_SIZE];
	cJSON *o = cJSON_CreateObject();
	char *s;
	int r;
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&t->id, id)) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)t->created_at_ms) ||
	    !(s = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_Delete(o);
	r = persist_write_file(t->dir, TENANT_META, s, strlen(s));
	cJSON_free(s);
	return r;
}

static int write_timeline_meta(const struct timeline *tl)
{
	char id[EXECD_ID_STR_SIZE], tid[EXECD_ID_STR_SIZE], lsn[20];
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;
	int r;
	lsn_format(tl->start_lsn, lsn);
	if (!o || !cJSON_AddStringToObject(o, "id", execd_id_format(&tl->id, id)) ||
	    !cJSON_AddStringToObject(o, "tenant", execd_id_format(&tl->tenant_id, tid)) ||
	    !(tl->source ? cJSON_AddStringToObject(o, "source", tl->source) : cJSON_AddNullToObject(o, "source")) ||
	    !(tl->slot ? cJSON_AddStringToObject(o, "slot", tl->slot) : cJSON_AddNullToObject(o, "slot")) ||
	    !cJSON_AddBoolToObject(o, "create_slot", tl->create_slot) ||
	    !cJSON_AddStringToObject(o, "start_lsn", lsn) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)tl->created_at_ms) ||
	    !(s = cJSON_PrintUnformatted(o))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_Delete(o);
	r = persist_write_file(tl->dir, TIMELINE_META, s, strlen(s));
	cJSON_free(s);
	return r;
}

static void timeline_free(struct timeline *tl)
{
	if (!tl)
		return;
	free(tl->dir);
	free(tl->source);
	free(tl->slot);
	free(tl);
}

static void tenant_free(struct tenant *t)
{
	if (!t)
		return;
	while (t->timelines) {
		struct timeline *tl = t->timelines;
		t->timelines = tl->next;
		timeline_free(tl);
	}
	free(t->dir);
	free(t);
}

static char *path_join3(const char *a, const char *b, const char *c)
{
	char *p;
	if (asprintf(&p, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "") < 0)
		return NULL;
	return p;
}

static struct timeline *timeline_alloc(const struct tenant *t, const struct execd_id *id)
{
	char idbuf[EXECD_ID_STR_SIZE];
	struct timeline *tl = calloc(1, sizeof *tl);
	char *tls;
	if (!tl)
		return NULL;
	tl->tenant_id = t->id;
	tl->id = *id;
	tl->tenant = (struct tenant *)t;
	tls = path_join3(t->dir, "timelines", NULL);
	tl->dir = tls ? path_join3(tls, execd_id_format(id, idbuf), NULL) : NULL;
	free(tls);
	if (!tl->dir) {
		free(tl);
		return NULL;
	}
	return tl;
}

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int load_timeline(struct tenant *t, const char *name)
{
	struct execd_id id;
	struct timeline *tl;
	char *data = NULL;
	cJSON *o;
	int r;

	if (execd_id_parse(name, &id) < 0)
		return 0; /* not ours: leave it alone */
	tl = timeline_alloc(t, &id);
	if (!tl)
		return -ENOMEM;
	r = persist_read_file(tl->dir, TIMELINE_META, META_MAX, &data, NULL);
	if (r == -ENOENT) {
		log_warning("removing unfinished timeline directory %s", tl->dir);
		r = persist_remove_tree(tl->dir);
		timeline_free(tl);
		return r;
	}
	if (r < 0) {
		log_error("cannot read %s/%s: %s", tl->dir, TIMELINE_META, strerror(-r));
		timeline_free(tl);
		return r;
	}
	o = cJSON_Parse(data);
	free(data);
	const cJSON *ca = o ? cJSON_GetObjectItemCaseSensitive(o, "created_at_ms") : NULL;
	const cJSON *cs = o ? cJSON_GetObjectItemCaseSensitive(o, "create_slot") : NULL;
	const char *idstr = o ? json_str(o, "id") : NULL, *lsn = o ? json_str(o, "start_lsn") : NULL;
	struct execd_id check;
	if (!o || !idstr || execd_id_parse(idstr, &check) < 0 || !execd_id_eq(&check, &id) ||
	    (lsn && lsn_parse(lsn, &tl->start_lsn) < 0)) {
		log_error("corrupt metadata %s/%s", tl->dir, TIMELINE_META);
		cJSON_Delete(o);
		timeline_free(tl);
		return -EBADMSG;
	}
	tl->created_at_ms = cJSON_IsNumber(ca) ? (int64_t)ca->valuedouble : 0;
	tl->create_slot = cJSON_IsTrue(cs);
	if ((json_str(o, "source") && !(tl->source = strdup(json_str(o, "source")))) ||
	    (json_str(o, "slot") && !(tl->slot = strdup(json_str(o, "slot"))))) {
		cJSON_Delete(o);
		timeline_free(tl);
		return -ENOMEM;
	}
	cJSON_Delete(o);
	tl->next = t->timelines;
	t->timelines = tl;
	return 0;
}

static int load_tenant(const char *name)
{
	struct execd_id id, check;
	struct tenant *t;
	char *data = NULL, *tls;
	cJSON *o;
	DIR *d;
	struct dirent *de;
	int r;

	if (execd_id_parse(name, &id) < 0)
		return 0;
	t = calloc(1, sizeof *t);
	if (!t || !(t->dir = path_join3(reg.tenants_dir, name, NULL))) {
		free(t);
		return -ENOMEM;
	}
	t->id = id;
	r = persist_read_file(t->dir, TENANT_META, META_MAX, &data, NULL);
	if (r == -ENOENT) {
		log_warning("removing unfinished tenant directory %s", t->dir);
		r = persist_remove_tree(t->dir);
		tenant_free(t);
		return r;
	}
	if (r < 0) {
		log_error("cannot read %s/%s: %s", t->dir, TENANT_META, strerror(-r));
		tenant_free(t);
		return r;
	}
	o = cJSON_Parse(data);
	free(data);
	const char *idstr = o ? json_str(o, "id") : NULL;
	const cJSON *ca = o ? cJSON_GetObjectItemCaseSensitive(o, "created_at_ms") : NULL;
	if (!idstr || execd_id_parse(idstr, &check) < 0 || !execd_id_eq(&check, &id)) {
		log_error("corrupt metadata %s/%s", t->dir, TENANT_META);
		cJSON_Delete(o);
		tenant_free(t);
		return -EBADMSG;
	}
	t->created_at_ms = cJSON_IsNumber(ca) ? (int64_t)ca->valuedouble : 0;
	cJSON_Delete(o);

	tls = path_join3(t->dir, "timelines", NULL);
	if (!tls) {
		tenant_free(t);
		return -ENOMEM;
	}
	r = persist_mkdir(tls);
	d = r < 0 ? NULL : opendir(tls);
	if (!d) {
		r = r < 0 ? r : -errno;
		log_error("cannot read %s: %s", tls, strerror(-r));
		free(tls);
		tenant_free(t);
		return r;
	}
	while ((de = readdir(d)) && r >= 0)
		if (de->d_name[0] != '.')
			r = load_timeline(t, de->d_name);
	closedir(d);
	free(tls);
	if (r < 0) {
		tenant_free(t);
		return r;
	}
	t->next = reg.tenants;
	reg.tenants = t;
	return 0;
}

int registry_init(const char *state_dir)
{
	DIR *d;
	struct dirent *de;
	int r;

	pthread_mutex_lock(&reg.lock);
	free(reg.state_dir);
	free(reg.tenants_dir);
	reg.state_dir = strdup(state_dir);
	reg.tenants_dir = path_join3(state_dir, "tenants", NULL);
	if (!reg.state_dir || !reg.tenants_dir) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = persist_mkdir_p(state_dir)) < 0 || (r = persist_mkdir(reg.tenants_dir)) < 0) {
		log_error("cannot create state directory %s: %s", reg.tenants_dir, strerror(-r));
		goto out;
	}
	d = opendir(reg.tenants_dir);
	if (!d) {
		r = -errno;
		log_error("cannot read %s: %s", reg.tenants_dir, strerror(-r));
		goto out;
	}
	r = 0;
	while ((de = readdir(d)) && r >= 0)
		if (de->d_name[0] != '.')
			r = load_tenant(de->d_name);
	closedir(d);
out:
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int registry_start(void)
{
	int first = 0, r;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next) {
		if ((r = spawn_tenant_mgr(&t->id)) < 0 && !first)
			first = r;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if ((r = wal_timeline_start(tl)) < 0) {
				execd_log_ids(LOG_ERR, &tl->tenant_id, &tl->id, "cannot start timeline: %s",
					      strerror(-r));
				if (!first)
					first = r;
			}
	}
	pthread_mutex_unlock(&reg.lock);
	return first;
}

void registry_fini(void)
{
	pthread_mutex_lock(&reg.lock);
	while (reg.tenants) {
		struct tenant *t = reg.tenants;
		reg.tenants = t->next;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			wal_timeline_free(tl);
		tenant_free(t);
	}
	free(reg.state_dir);
	free(reg.tenants_dir);
	reg.state_dir = reg.tenants_dir = NULL;
	pthread_mutex_unlock(&reg.lock);
}

size_t registry_tenant_count(void)
{
	size_t n = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		n++;
	pthread_mutex_unlock(&reg.lock);
	return n;
}

size_t registry_timeline_count(void)
{
	size_t n = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			n++;
	pthread_mutex_unlock(&reg.lock);
	return n;
}

/* ---- resolution ---- */

static int add_candidate(cJSON **cands, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	if (!cands)
		return 0;
	if (!*cands && !(*cands = cJSON_CreateArray()))
		return -ENOMEM;
	return cJSON_AddItemToArray(*cands, cJSON_CreateString(execd_id_format(id, buf))) ? 0 : -ENOMEM;
}

int tenant_resolve(const char *prefix, struct execd_id *out, cJSON **candidates)
{
	size_t n = 0;
	if (candidates)
		*candidates = NULL;
	if (!execd_id_prefix_valid(prefix))
		return -EINVAL;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next)
		if (execd_id_has_prefix(&t->id, prefix)) {
			if (n++ == 0)
				*out = t->id;
			add_candidate(candidates, &t->id);
		}
	pthread_mutex_unlock(&reg.lock);
	if (n == 1 && candidates) {
		cJSON_Delete(*candidates);
		*candidates = NULL;
	}
	return n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
}

int timeline_resolve(const struct execd_id *tenant, const char *prefix, struct execd_id *tenant_out,
		     struct execd_id *out, cJSON **candidates)
{
	size_t n = 0;
	if (candidates)
		*candidates = NULL;
	if (!execd_id_prefix_valid(prefix))
		return -EINVAL;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t; t = t->next) {
		if (tenant && !execd_id_eq(tenant, &t->id))
			continue;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			if (execd_id_has_prefix(&tl->id, prefix)) {
				if (n++ == 0) {
					*out = tl->id;
					*tenant_out = t->id;
				}
				add_candidate(candidates, &tl->id);
			}
	}
	pthread_mutex_unlock(&reg.lock);
	if (n == 1 && candidates) {
		cJSON_Delete(*candidates);
		*candidates = NULL;
	}
	return n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
}

/* ---- tenants ---- */

int tenant_create(const struct execd_id *id, cJSON **json)
{
	struct tenant *t;
	struct execd_id gen;
	char idbuf[EXECD_ID_STR_SIZE], *tls = NULL;
	int r;

	if (!id) {
		if ((r = execd_id_generate(&gen)) < 0)
			return r;
		id = &gen;
	}
	t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->id = *id;
	t->created_at_ms = unix_ms();

	pthread_mutex_lock(&reg.lock);
	if (!reg.tenants_dir) {
		r = -ESHUTDOWN;
		goto fail;
	}
	if (tenant_find_locked(id)) {
		r = -EEXIST;
		goto fail;
	}
	if (task_mgr_is_blocked(id, NULL)) {
		r = -ESHUTDOWN;
		goto fail;
	}
	if (!(t->dir = path_join3(reg.tenants_dir, execd_id_format(id, idbuf), NULL)) ||
	    !(tls = path_join3(t->dir, "timelines", NULL))) {
		r = -ENOMEM;
		goto fail;
	}
	/* a leftover of an unfinished create has no metadata: start from nothing */
	if ((r = persist_remove_tree(t->dir)) < 0 || (r = persist_mkdir(t->dir)) < 0 ||
	    (r = persist_mkdir(tls)) < 0 || (r = write_tenant_meta(t)) < 0) {
		log_error("cannot create tenant %s: %s", idbuf, strerror(-r));
		persist_remove_tree(t->dir);
		goto fail;
	}
	/* on disk: now, and only now, in memory */
	t->next = reg.tenants;
	reg.tenants = t;
	*json = tenant_json_locked(t);
	pthread_mutex_unlock(&reg.lock);
	free(tls);
	execd_log_ids(LOG_INFO, id, NULL, "tenant created");
	if ((r = spawn_tenant_mgr(id)) < 0)
		execd_log_ids(LOG_WARNING, id, NULL, "cannot start the tenant manager: %s", strerror(-r));
	return *json ? 0 : -ENOMEM;
fail:
	pthread_mutex_unlock(&reg.lock);
	free(tls);
	tenant_free(t);
	return r;
}

int tenant_list_json(cJSON *arr)
{
	int r = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t && !r; t = t->next) {
		cJSON *o = tenant_json_locked(t);
		if (!o || !cJSON_AddItemToArray(arr, o))
			r = -ENOMEM;
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int tenant_mark_stopping(const struct execd_id *id)
{
	int r = -ENOENT;
	pthread_mutex_lock(&reg.lock);
	struct tenant *t = tenant_find_locked(id);
	if (t) {
		t->stopping = true;
		for (struct timeline *tl = t->timelines; tl; tl = tl->next)
			tl->stopping = true;
		r = 0;
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int tenant_remove(const struct execd_id *id, uint64_t exclude_task)
{
	struct task_mgr_filter f = { .tenant = id, .exclude_id = exclude_task };
	struct tenant *t, **pp;
	size_t running;
	int r;

	pthread_mutex_lock(&reg.lock);
	for (pp = &reg.tenants; *pp && !execd_id_eq(&(*pp)->id, id); pp = &(*pp)->next)
		;
	t = *pp;
	if (!t) {
		pthread_mutex_unlock(&reg.lock);
		return -ENOENT;
	}
	/* checked, not assumed: no data goes while a task of the tenant runs */
	if ((running = task_mgr_count(&f)) > 0) {
		pthread_mutex_unlock(&reg.lock);
		execd_log_ids(LOG_ERR, id, NULL, "not removing the tenant: %zu of its tasks still run", running);
		return -EBUSY;
	}
	for (struct timeline *tl = t->timelines; tl; tl = tl->next) {
		wal_timeline_free(tl);
		tl->wal = NULL;
	}
	/* the metadata goes first: a crash after this leaves a directory that start-up removes */
	r = persist_unlink(t->dir, TENANT_META);
	if (!r)
		r = persist_remove_tree(t->dir);
	if (r < 0) {
		pthread_mutex_unlock(&reg.lock);
		execd_log_ids(LOG_ERR, id, NULL, "cannot remove %s: %s", t->dir, strerror(-r));
		return r;
	}
	*pp = t->next;
	pthread_mutex_unlock(&reg.lock);
	tenant_free(t);
	execd_log_ids(LOG_INFO, id, NULL, "tenant deleted");
	return 0;
}

/* ---- timelines ---- */

int timeline_create(const struct timeline_spec *spec, cJSON **json)
{
	struct tenant *t;
	struct timeline *tl = NULL;
	struct execd_id gen;
	const struct execd_id *id = spec->id;
	int r;

	if (!id) {
		if ((r = execd_id_generate(&gen)) < 0)
			return r;
		id = &gen;
	}
	pthread_mutex_lock(&reg.lock);
	t = tenant_find_locked(&spec->tenant);
	if (!t) {
		r = -ENOENT;
		goto fail;
	}
	if (timeline_find_locked(id)) {
		r = -EEXIST;
		goto fail;
	}
	if (t->stopping || task_mgr_is_blocked(&spec->tenant, id)) {
		r = -ESHUTDOWN;
		goto fail;
	}
	if (!(tl = timeline_alloc(t, id)) || (spec->source && !(tl->source = strdup(spec->source))) ||
	    (spec->slot && !(tl->slot = strdup(spec->slot)))) {
		r = -ENOMEM;
		goto fail;
	}
	tl->create_slot = spec->create_slot;
	tl->start_lsn = spec->start_lsn;
	tl->created_at_ms = unix_ms();
	if ((r = persist_remove_tree(tl->dir)) < 0 || (r = persist_mkdir(tl->dir)) < 0 ||
	    (r = write_timeline_meta(tl)) < 0) {
		execd_log_ids(LOG_ERR, &spec->tenant, id, "cannot create the timeline: %s", strerror(-r));
		persist_remove_tree(tl->dir);
		goto fail;
	}
	if ((r = wal_timeline_start(tl)) < 0) {
		/* nothing was spawned (wal.h): undo the files */
		execd_log_ids(LOG_ERR, &spec->tenant, id, "cannot start the timeline: %s", strerror(-r));
		persist_unlink(tl->dir, TIMELINE_META);
		persist_remove_tree(tl->dir);
		goto fail;
	}
	tl->next = t->timelines;
	t->timelines = tl;
	*json = timeline_json_locked(tl);
	pthread_mutex_unlock(&reg.lock);
	execd_log_ids(LOG_INFO, &spec->tenant, id, "timeline created");
	return *json ? 0 : -ENOMEM;
fail:
	pthread_mutex_unlock(&reg.lock);
	timeline_free(tl);
	return r;
}

int timeline_list_json(const struct execd_id *tenant, cJSON *arr)
{
	int r = 0;
	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t && !r; t = t->next) {
		if (tenant && !execd_id_eq(tenant, &t->id))
			continue;
		for (struct timeline *tl = t->timelines; tl && !r; tl = tl->next) {
			cJSON *o = timeline_json_locked(tl);
			if (!o || !cJSON_AddItemToArray(arr, o))
				r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int timeline_show_json(const struct execd_id *id, cJSON **json)
{
	int r = -ENOENT;
	pthread_mutex_lock(&reg.lock);
	struct timeline *tl = timeline_find_locked(id);
	if (tl)
		r = (*json = timeline_json_locked(tl)) ? 0 : -ENOMEM;
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int timeline_mark_stopping(const struct execd_id *id)
{
	int r = -ENOENT;
	pthread_mutex_lock(&reg.lock);
	struct timeline *tl = timeline_find_locked(id);
	if (tl) {
		tl->stopping = true;
		r = 0;
	}
	pthread_mutex_unlock(&reg.lock);
	return r;
}

int timeline_remove(const struct execd_id *id, uint64_t exclude_task)
{
	struct task_mgr_filter f = { .timeline = id, .exclude_id = exclude_task };
	struct timeline *tl = NULL, **pp = NULL;
	struct execd_id tenant;
	size_t running;
	int r;

	pthread_mutex_lock(&reg.lock);
	for (struct tenant *t = reg.tenants; t && !tl; t = t->next)
		for (pp = &t->timelines; *pp; pp = &(*pp)->next)
			if (execd_id_eq(&(*pp)->id, id)) {
				tl = *pp;
				break;
			}
	if (!tl) {
		pthread_mutex_unlock(&reg.lock);
		return -ENOENT;
	}
	tenant = tl->tenant_id;
	if ((running = task_mgr_count(&f)) > 0) {
		pthread_mutex_unlock(&reg.lock);
		execd_log_ids(LOG_ERR, &tenant, id, "not removing the timeline: %zu of its tasks still run", running);
		return -EBUSY;
	}
	wal_timeline_free(tl);
	tl->wal = NULL;
	r = persist_unlink(tl->dir, TIMELINE_META);
	if (!r)
		r = persist_remove_tree(tl->dir);
	if (r < 0) {
		pthread_mutex_unlock(&reg.lock);
		execd_log_ids(LOG_ERR, &tenant, id, "cannot remove %s: %s", tl->dir, strerror(-r));
		return r;
	}
	*pp = tl->next;
	pthread_mutex_unlock(&reg.lock);
	timeline_free(tl);
	execd_log_ids(LOG_INFO, &tenant, id, "timeline deleted");
	return 0;
}

struct timeline *timeline_get(const struct execd_id *id)
{
	pthread_mutex_lock(&reg.lock);
	struct timeline *tl = timeline_find_locked(id);
	pthread_mutex_unlock(&reg.lock);
	return tl;
}
