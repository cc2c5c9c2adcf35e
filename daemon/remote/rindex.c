/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rindex.c — the JSON codecs of the index object and the attachment object
 * (rindex.h), with cJSON. A parse is strict on types: an index that does not say what it means
 * is refused (-EBADMSG) rather than read as less than it lists.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rindex.h"
#include "rjson.h"

/* ---- freeing ---- */

static void file_free(struct remote_file *f)
{
	free(f->name);
}

static void backup_free(struct remote_backup *b)
{
	free(b->id);
	for (size_t i = 0; i < b->n_objects; i++)
		file_free(&b->objects[i]);
	free(b->objects);
}

static void segment_free(struct remote_segment *s)
{
	free(s->name);
	free(s->object);
}

void remote_index_free(struct remote_index *idx)
{
	if (!idx)
		return;
	free(idx->source);
	free(idx->slot);
	for (size_t i = 0; i < idx->n_segments; i++)
		segment_free(&idx->segments[i]);
	free(idx->segments);
	for (size_t i = 0; i < idx->n_history; i++)
		file_free(&idx->history[i]);
	free(idx->history);
	for (size_t i = 0; i < idx->n_backups; i++)
		backup_free(&idx->backups[i]);
	free(idx->backups);
	memset(idx, 0, sizeof *idx);
}

/* ---- formatting ---- */

static cJSON *file_json(const struct remote_file *f)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", f->name) ||
	    !rjson_add_u64(o, "stored_bytes", f->stored_bytes) ||
	    !cJSON_AddStringToObject(o, "etag", f->etag)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *segment_json(const struct remote_segment *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", s->name) ||
	    !cJSON_AddStringToObject(o, "object", s->object) ||
	    !cJSON_AddStringToObject(o, "compression", s->compressed ? "zstd" : "none") ||
	    !cJSON_AddBoolToObject(o, "partial", s->partial) ||
	    !rjson_add_u64(o, "size", s->size) ||
	    !rjson_add_u64(o, "stored_bytes", s->stored_bytes) ||
	    !cJSON_AddStringToObject(o, "etag", s->etag)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *files_json(const struct remote_file *f, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++) {
		cJSON *o = file_json(&f[i]);
		if (!o || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static cJSON *backup_json(const struct remote_backup *b)
{
	cJSON *o = cJSON_CreateObject(), *objs = files_json(b->objects, b->n_objects);
	if (!o || !objs || !cJSON_AddStringToObject(o, "id", b->id) ||
	    !rjson_add_lsn(o, "start_lsn", b->start_lsn) ||
	    !rjson_add_lsn(o, "end_lsn", b->end_lsn) ||
	    !cJSON_AddNumberToObject(o, "end_time_ms", (double)b->end_time_ms) ||
	    !cJSON_AddItemToObject(o, "objects", objs)) {
		cJSON_Delete(objs);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *meta_json(const struct remote_index *idx)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !rjson_add_str_or_null(o, "source", idx->source) ||
	    !rjson_add_str_or_null(o, "slot", idx->slot) ||
	    !cJSON_AddBoolToObject(o, "create_slot", idx->create_slot) ||
	    !rjson_add_lsn(o, "start_lsn", idx->start_lsn)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Add array @p key of @p n items made by @p fn to @p o. */
#define ADD_ARRAY(o, key, arr, n, fn)                             \
	({                                                        \
		cJSON *a_ = cJSON_AddArrayToObject(o, key);       \
		bool ok_ = a_ != NULL;                            \
		for (size_t i_ = 0; ok_ && i_ < (n); i_++) {      \
			cJSON *e_ = fn(&(arr)[i_]);               \
			ok_ = e_ && cJSON_AddItemToArray(a_, e_); \
			if (!ok_)                                 \
				cJSON_Delete(e_);                 \
		}                                                 \
		ok_;                                              \
	})

static bool index_header(cJSON *o, const struct remote_index *idx)
{
	char sysid[24];
	cJSON *meta = meta_json(idx);
	snprintf(sysid, sizeof sysid, "%" PRIu64, idx->system_id);
	if (!meta || !cJSON_AddItemToObject(o, "timeline_meta", meta)) {
		cJSON_Delete(meta);
		return false;
	}
	return cJSON_AddNumberToObject(o, "version", REMOTE_INDEX_VERSION) &&
	       rjson_add_id(o, "tenant", &idx->tenant) &&
	       rjson_add_id(o, "timeline", &idx->timeline) &&
	       rjson_add_u64(o, "generation", idx->generation) &&
	       cJSON_AddNumberToObject(o, "uploaded_at_ms", (double)idx->uploaded_at_ms) &&
	       cJSON_AddStringToObject(o, "system_id", sysid) &&
	       cJSON_AddNumberToObject(o, "pg_timeline", idx->pg_timeline) &&
	       rjson_add_u64(o, "segment_bytes", idx->segment_bytes) &&
	       rjson_add_lsn(o, "remote_flush_lsn", idx->remote_flush_lsn) &&
	       cJSON_AddBoolToObject(o, "detached", idx->detached);
}

int remote_index_format(const struct remote_index *idx, char **json)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && index_header(o, idx) &&
		  ADD_ARRAY(o, "segments", idx->segments, idx->n_segments, segment_json) &&
		  ADD_ARRAY(o, "history", idx->history, idx->n_history, file_json) &&
		  ADD_ARRAY(o, "backups", idx->backups, idx->n_backups, backup_json);
	*json = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return *json ? 0 : -ENOMEM;
}

/* ---- parsing ---- */

static int parse_file(const cJSON *o, struct remote_file *f)
{
	if (!cJSON_IsObject(o) || rjson_dup_str(o, "name", &f->name) < 0 ||
	    rjson_get_u64(o, "stored_bytes", &f->stored_bytes) < 0 ||
	    rjson_copy_str(o, "etag", f->etag, sizeof f->etag) < 0)
		return -EBADMSG;
	return 0;
}

static int parse_segment(const cJSON *o, struct remote_segment *s)
{
	const char *comp;
	if (!cJSON_IsObject(o) || rjson_dup_str(o, "name", &s->name) < 0 ||
	    rjson_dup_str(o, "object", &s->object) < 0 || !(comp = rjson_str(o, "compression")) ||
	    rjson_get_u64(o, "size", &s->size) < 0 ||
	    rjson_get_u64(o, "stored_bytes", &s->stored_bytes) < 0 ||
	    rjson_copy_str(o, "etag", s->etag, sizeof s->etag) < 0)
		return -EBADMSG;
	if (strcmp(comp, "zstd") && strcmp(comp, "none"))
		return -EBADMSG;
	s->compressed = !strcmp(comp, "zstd");
	s->partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "partial"));
	return 0;
}

static int parse_backup(const cJSON *o, struct remote_backup *b)
{
	const cJSON *objs = cJSON_GetObjectItemCaseSensitive(o, "objects"), *e;
	if (!cJSON_IsObject(o) || !cJSON_IsArray(objs) || rjson_dup_str(o, "id", &b->id) < 0 ||
	    rjson_get_lsn(o, "start_lsn", &b->start_lsn) < 0 ||
	    rjson_get_lsn(o, "end_lsn", &b->end_lsn) < 0)
		return -EBADMSG;
	b->end_time_ms = rjson_ms(o, "end_time_ms");
	if (!(b->objects = calloc((size_t)cJSON_GetArraySize(objs) + 1, sizeof *b->objects)))
		return -ENOMEM;
	cJSON_ArrayForEach (e, objs) {
		if (parse_file(e, &b->objects[b->n_objects++]) < 0)
			return -EBADMSG;
	}
	return 0;
}

/* Parse array @p key of @p o into *arr (calloc'd) of *n items with @p fn. */
#define PARSE_ARRAY(o, key, arr, n, fn)                                                          \
	({                                                                                       \
		const cJSON *a_ = cJSON_GetObjectItemCaseSensitive(o, key), *e_;                 \
		int r_ = cJSON_IsArray(a_) ? 0 : -EBADMSG;                                       \
		if (!r_ && !((arr) = calloc((size_t)cJSON_GetArraySize(a_) + 1, sizeof *(arr)))) \
			r_ = -ENOMEM;                                                            \
		if (!r_)                                                                         \
			cJSON_ArrayForEach (e_, a_) {                                            \
				if (!r_)                                                         \
					r_ = fn(e_, &(arr)[(n)++]);                              \
			}                                                                        \
		r_;                                                                              \
	})

static int parse_meta(const cJSON *o, struct remote_index *idx)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "timeline_meta");
	if (!cJSON_IsObject(m) || rjson_dup_opt(m, "source", &idx->source) < 0 ||
	    rjson_dup_opt(m, "slot", &idx->slot) < 0 ||
	    rjson_get_lsn(m, "start_lsn", &idx->start_lsn) < 0)
		return -EBADMSG;
	idx->create_slot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "create_slot"));
	return 0;
}

static int parse_header(const cJSON *o, struct remote_index *idx)
{
	const char *sysid = rjson_str(o, "system_id");
	uint64_t v = 0, tli = 0;
	char *end;
	if (rjson_get_u64(o, "version", &v) < 0 || v != REMOTE_INDEX_VERSION ||
	    rjson_get_id(o, "tenant", &idx->tenant) < 0 ||
	    rjson_get_id(o, "timeline", &idx->timeline) < 0 ||
	    rjson_get_u64(o, "generation", &idx->generation) < 0 || !sysid ||
	    rjson_get_u64(o, "pg_timeline", &tli) < 0 || tli > UINT32_MAX ||
	    rjson_get_u64(o, "segment_bytes", &idx->segment_bytes) < 0 ||
	    rjson_get_lsn(o, "remote_flush_lsn", &idx->remote_flush_lsn) < 0)
		return -EBADMSG;
	errno = 0;
	idx->system_id = strtoull(sysid, &end, 10);
	if (errno || *end || end == sysid)
		return -EBADMSG;
	idx->pg_timeline = (uint32_t)tli;
	idx->uploaded_at_ms = rjson_ms(o, "uploaded_at_ms");
	idx->detached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "detached"));
	return parse_meta(o, idx);
}

int remote_index_parse(const char *json, size_t len, struct remote_index *out)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	int r;
	memset(out, 0, sizeof *out);
	if (!o)
		return -EBADMSG;
	r = cJSON_IsObject(o) ? parse_header(o, out) : -EBADMSG;
	if (r == 0)
		r = PARSE_ARRAY(o, "segments", out->segments, out->n_segments, parse_segment);
	if (r == 0)
		r = PARSE_ARRAY(o, "history", out->history, out->n_history, parse_file);
	if (r == 0)
		r = PARSE_ARRAY(o, "backups", out->backups, out->n_backups, parse_backup);
	cJSON_Delete(o);
	if (r < 0)
		remote_index_free(out);
	return r;
}

/* ---- the attachment object ---- */

int remote_attachment_parse(const char *json, size_t len, struct remote_attachment *out)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	uint64_t v = 0;
	int r = -EBADMSG;
	memset(out, 0, sizeof *out);
	if (o && rjson_get_u64(o, "version", &v) == 0 && v == 1 &&
	    rjson_get_u64(o, "generation", &out->generation) == 0 &&
	    cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "attached")) &&
	    rjson_copy_str(o, "node", out->node, sizeof out->node) == 0) {
		out->attached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "attached"));
		out->at_ms = rjson_ms(o, "at_ms");
		r = 0;
	}
	cJSON_Delete(o);
	return r;
}

int remote_attachment_format(const struct remote_attachment *a, char **json)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddNumberToObject(o, "version", 1) &&
		  rjson_add_u64(o, "generation", a->generation) &&
		  cJSON_AddBoolToObject(o, "attached", a->attached) &&
		  cJSON_AddStringToObject(o, "node", a->node) &&
		  cJSON_AddNumberToObject(o, "at_ms", (double)a->at_ms);
	*json = ok ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return *json ? 0 : -ENOMEM;
}
