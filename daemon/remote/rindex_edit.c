/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rindex_edit.c — finding and adding the entries of an index (rindex.h): what the
 * uploader does to its in-memory index before it PUTs it. Segments stay in name order (a
 * segment's name orders by LSN within one PostgreSQL timeline), so lookups are a binary search.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rindex.h"

static size_t segment_lower_bound(const struct remote_index *idx, const char *name)
{
	size_t lo = 0, hi = idx->n_segments;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(idx->segments[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct remote_segment *remote_index_find_segment(const struct remote_index *idx, const char *name)
{
	size_t i = segment_lower_bound(idx, name);
	return i < idx->n_segments && !strcmp(idx->segments[i].name, name) ? &idx->segments[i]
									   : NULL;
}

static int segment_copy(const struct remote_segment *src, struct remote_segment *dst)
{
	*dst = *src;
	dst->name = strdup(src->name);
	dst->object = strdup(src->object);
	if (!dst->name || !dst->object) {
		free(dst->name);
		free(dst->object);
		return -ENOMEM;
	}
	return 0;
}

int remote_index_put_segment(struct remote_index *idx, const struct remote_segment *seg)
{
	struct remote_segment copy, *old = remote_index_find_segment(idx, seg->name), *grown;
	size_t i;
	if (segment_copy(seg, &copy) < 0)
		return -ENOMEM;
	if (old) {
		free(old->name);
		free(old->object);
		*old = copy;
		return 0;
	}
	if (!(grown = realloc(idx->segments, (idx->n_segments + 1) * sizeof *grown))) {
		free(copy.name);
		free(copy.object);
		return -ENOMEM;
	}
	idx->segments = grown;
	i = segment_lower_bound(idx, seg->name);
	memmove(&grown[i + 1], &grown[i], (idx->n_segments - i) * sizeof *grown);
	grown[i] = copy;
	idx->n_segments++;
	return 0;
}

static int file_copy(const struct remote_file *src, struct remote_file *dst)
{
	*dst = *src;
	return (dst->name = strdup(src->name)) ? 0 : -ENOMEM;
}

struct remote_file *remote_index_find_history(const struct remote_index *idx, const char *name)
{
	for (size_t i = 0; i < idx->n_history; i++)
		if (!strcmp(idx->history[i].name, name))
			return &idx->history[i];
	return NULL;
}

int remote_index_put_history(struct remote_index *idx, const struct remote_file *f)
{
	struct remote_file copy, *old = remote_index_find_history(idx, f->name), *grown;
	if (file_copy(f, &copy) < 0)
		return -ENOMEM;
	if (old) {
		free(old->name);
		*old = copy;
		return 0;
	}
	if (!(grown = realloc(idx->history, (idx->n_history + 1) * sizeof *grown))) {
		free(copy.name);
		return -ENOMEM;
	}
	idx->history = grown;
	grown[idx->n_history++] = copy;
	return 0;
}

struct remote_backup *remote_index_find_backup(const struct remote_index *idx, const char *id)
{
	for (size_t i = 0; i < idx->n_backups; i++)
		if (!strcmp(idx->backups[i].id, id))
			return &idx->backups[i];
	return NULL;
}

static void backup_release(struct remote_backup *b)
{
	for (size_t i = 0; i < b->n_objects; i++)
		free(b->objects[i].name);
	free(b->objects);
	free(b->id);
}

static int backup_copy(const struct remote_backup *src, struct remote_backup *dst)
{
	*dst = *src;
	dst->n_objects = 0;
	dst->id = strdup(src->id);
	dst->objects = calloc(src->n_objects + 1, sizeof *dst->objects);
	if (!dst->id || !dst->objects) {
		backup_release(dst);
		return -ENOMEM;
	}
	for (size_t i = 0; i < src->n_objects; i++, dst->n_objects++)
		if (file_copy(&src->objects[i], &dst->objects[i]) < 0) {
			backup_release(dst);
			return -ENOMEM;
		}
	return 0;
}

int remote_index_put_backup(struct remote_index *idx, const struct remote_backup *b)
{
	struct remote_backup copy, *old = remote_index_find_backup(idx, b->id), *grown;
	if (backup_copy(b, &copy) < 0)
		return -ENOMEM;
	if (old) {
		backup_release(old);
		*old = copy;
		return 0;
	}
	if (!(grown = realloc(idx->backups, (idx->n_backups + 1) * sizeof *grown))) {
		backup_release(&copy);
		return -ENOMEM;
	}
	idx->backups = grown;
	grown[idx->n_backups++] = copy;
	return 0;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? -ENOMEM : 0;
}

int remote_index_dup(const struct remote_index *src, struct remote_index *dst)
{
	int r = 0;
	*dst = *src;
	dst->segments = NULL;
	dst->history = NULL;
	dst->backups = NULL;
	dst->n_segments = dst->n_history = dst->n_backups = 0;
	dst->source = dst->slot = NULL;
	if (dup_opt(src->source, &dst->source) < 0 || dup_opt(src->slot, &dst->slot) < 0)
		r = -ENOMEM;
	for (size_t i = 0; !r && i < src->n_segments; i++)
		r = remote_index_put_segment(dst, &src->segments[i]);
	for (size_t i = 0; !r && i < src->n_history; i++)
		r = remote_index_put_history(dst, &src->history[i]);
	for (size_t i = 0; !r && i < src->n_backups; i++)
		r = remote_index_put_backup(dst, &src->backups[i]);
	if (r < 0)
		remote_index_free(dst);
	return r;
}
