/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/meta.c — the on-disk metadata of tenants (tenant.json) and timelines
 * (timeline.json): one small JSON object each, written crash-safely by persist_write_file().
 * The only file of daemon/registry/ that knows their format. Blocking: file I/O.
 *
 * timeline.json holds the source conninfo, which may hold a password: it is 0600 (the daemon's
 * user alone), tenant.json 0640 (group execd may read the state directory). One file, not the
 * secret split off into a second one: a timeline's metadata stays one atomic rename, and group
 * execd learns what it holds from timeline.show, which redacts the secrets (docs/daemon.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "persist.h"
#include "regint.h"
#include "wal/conninfo.h"
#include "wal/wal.h"

#define META_MAX (64 * 1024)
#define TENANT_META_MODE 0640
#define TIMELINE_META_MODE 0600 /* the conninfo: the daemon's user alone */

/* Serialises @p o (taken) into "dir/name", mode @p mode. */
static int write_json(const char *dir, const char *name, cJSON *o, mode_t mode)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	int r;
	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	r = persist_write_file_mode(dir, name, s, strlen(s), mode);
	cJSON_free(s);
	return r;
}

static bool add_id(cJSON *o, const char *key, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	return cJSON_AddStringToObject(o, key, execd_id_format(id, buf)) != NULL;
}

static bool add_str_or_null(cJSON *o, const char *key, const char *v)
{
	return (v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL;
}

int meta_write_tenant(const struct tenant *t)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !add_id(o, "id", &t->id) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)t->created_at_ms) ||
	    (t->remote &&
	     (remote_conf_to_json(t->remote, o, "remote") < 0 ||
	      !cJSON_AddNumberToObject(o, "remote_generation", (double)t->remote->generation)))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return write_json(t->dir, TENANT_META, o, TENANT_META_MODE);
}

int meta_write_timeline(const struct timeline *tl)
{
	return meta_write_timeline_paused(tl, __atomic_load_n(&tl->paused, __ATOMIC_ACQUIRE));
}

static int write_timeline(const struct timeline *tl, bool paused, bool detached);

int meta_write_timeline_paused(const struct timeline *tl, bool paused)
{
	return write_timeline(tl, paused, atomic_load(&tl->detached));
}

int meta_write_timeline_detached(const struct timeline *tl, bool detached)
{
	return write_timeline(tl, __atomic_load_n(&tl->paused, __ATOMIC_ACQUIRE), detached);
}

/* timeline.json of @p tl with "paused" and "detached" as given (the one writer of the file). */
static int write_timeline(const struct timeline *tl, bool paused, bool detached)
{
	char lsn[20];
	cJSON *o = cJSON_CreateObject();
	lsn_format(tl->start_lsn, lsn);
	if (!o || !add_id(o, "id", &tl->id) || !add_id(o, "tenant", &tl->tenant_id) ||
	    !add_str_or_null(o, "source", tl->source) || !add_str_or_null(o, "slot", tl->slot) ||
	    !cJSON_AddBoolToObject(o, "create_slot", tl->create_slot) ||
	    !cJSON_AddStringToObject(o, "start_lsn", lsn) ||
	    !cJSON_AddNumberToObject(o, "created_at_ms", (double)tl->created_at_ms) ||
	    !cJSON_AddBoolToObject(o, "paused", paused) ||
	    (detached && !cJSON_AddTrueToObject(o, "detached"))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return write_json(tl->dir, TIMELINE_META, o, TIMELINE_META_MODE);
}

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t json_ms(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Reads and parses "dir/name" into *out; checks that its "id" is @p id. -ENOENT is not logged
 * (the caller decides: an unfinished create); every other error is. */
static int read_json(const char *dir, const char *name, const struct execd_id *id, cJSON **out)
{
	struct execd_id check;
	char *data = NULL;
	const char *idstr;
	int r = persist_read_file(dir, name, META_MAX, &data, NULL);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		log_error("cannot read %s/%s: %s", dir, name, strerror(-r));
		return r;
	}
	*out = cJSON_Parse(data);
	free(data);
	idstr = *out ? json_str(*out, "id") : NULL;
	if (!idstr || execd_id_parse(idstr, &check) < 0 || !execd_id_eq(&check, id)) {
		log_error("corrupt metadata %s/%s", dir, name);
		cJSON_Delete(*out);
		*out = NULL;
		return -EBADMSG;
	}
	return 0;
}

/* tenant.json's "remote" (absent: none), checked as tenant.create checks it. */
static int read_remote(struct tenant *t, const cJSON *o_tenant)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(o_tenant, "remote");
	char why[256];
	int r;
	if (!o)
		return 0;
	if (!(t->remote = calloc(1, sizeof *t->remote)))
		return -ENOMEM;
	if ((r = remote_conf_from_json(o, t->remote, why, sizeof why)) < 0) {
		free(t->remote);
		t->remote = NULL;
		if (r == -EINVAL) {
			log_error("corrupt metadata %s/%s: %s", t->dir, TENANT_META, why);
			r = -EBADMSG;
		}
	} else {
		t->remote->generation = (uint64_t)json_ms(o_tenant, "remote_generation");
	}
	return r;
}

int meta_read_tenant(struct tenant *t)
{
	cJSON *o = NULL;
	int r = read_json(t->dir, TENANT_META, &t->id, &o);
	if (r < 0)
		return r;
	t->created_at_ms = json_ms(o, "created_at_ms");
	r = read_remote(t, o);
	cJSON_Delete(o);
	return r;
}

static int dup_opt(const char *s, char **out)
{
	return s && !(*out = strdup(s)) ? -ENOMEM : 0;
}

/* "dir/name" as an execd before 0600 metadata left it (0640): made TIMELINE_META_MODE now,
 * loudly, for its secret may have been read. A file that cannot be made private is refused.
 * @return 0 (also if there is no such file) or -errno. */
static int make_private(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	int fd, r = 0;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		if (fchmod(fd, TIMELINE_META_MODE) < 0 || fsync(fd) < 0) {
			r = -errno;
			log_error(
				"%s is readable by others (mode %04o) and cannot be made %04o: %s",
				path, (unsigned)(st.st_mode & 07777), TIMELINE_META_MODE,
				strerror(-r));
		} else {
			log_warning(
				"%s was readable by others (mode %04o), now %04o: a password in its "
				"source may have been read, change it (docs/daemon.md, Secrets)",
				path, (unsigned)(st.st_mode & 07777), TIMELINE_META_MODE);
		}
	}
	close(fd);
	return r;
}

/* The slot name of @p tl, checked again as timeline.create checks it: the file may have been
 * edited, and the name goes to the server. */
static int check_slot(const struct timeline *tl, const char *slot)
{
	if (!slot || slot_name_valid(slot))
		return 0;
	log_error("corrupt metadata %s/%s: the slot is not a valid replication slot name (1 to %d "
		  "lower-case letters, digits or underscores)",
		  tl->dir, TIMELINE_META, SLOT_NAME_MAX);
	return -EBADMSG;
}

int meta_read_timeline(struct timeline *tl)
{
	cJSON *o = NULL;
	const char *lsn;
	int r = make_private(tl->dir, TIMELINE_META);
	if (r == 0)
		r = make_private(tl->dir, "." TIMELINE_META ".tmp");
	if (r == 0)
		r = read_json(tl->dir, TIMELINE_META, &tl->id, &o);
	if (r < 0)
		return r;
	lsn = json_str(o, "start_lsn");
	if (lsn && lsn_parse(lsn, &tl->start_lsn) < 0) {
		log_error("corrupt metadata %s/%s: start_lsn", tl->dir, TIMELINE_META);
		cJSON_Delete(o);
		return -EBADMSG;
	}
	tl->created_at_ms = json_ms(o, "created_at_ms");
	tl->create_slot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "create_slot"));
	/* absent in files written before timeline.pause existed: not paused */
	tl->paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "paused"));
	atomic_store(&tl->detached, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "detached")));
	if ((r = check_slot(tl, json_str(o, "slot"))) == 0 &&
	    (r = dup_opt(json_str(o, "source"), &tl->source)) == 0)
		r = dup_opt(json_str(o, "slot"), &tl->slot);
	cJSON_Delete(o);
	return r;
}
