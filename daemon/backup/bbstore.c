/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbstore.c — the backups of a timeline on disk (bbint.h): backup.json, the scan
 * of complete backups, the rename that completes one, expiry by count, removal of leftovers.
 * A directory named by an id is complete by construction (it was renamed from `.tmp-<id>` after
 * everything in it was fsynced), so the scan trusts names and reads backup.json for the fields.
 * Blocking calls only: the callers run on the blocking pool.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bbint.h"
#include "persist.h"
#include "registry/timeline.h"
#include "wal/wal.h"

int bb_dir(const char *timeline_dir, char **out)
{
	return asprintf(out, "%s/" BB_DIR, timeline_dir) < 0 ? (*out = NULL, -ENOMEM) : 0;
}

int bb_ensure_dir(const char *bdir)
{
	return persist_mkdir(bdir);
}

static bool add_lsn(cJSON *o, const char *key, uint64_t lsn)
{
	char buf[20];
	lsn_format(lsn, buf);
	return cJSON_AddStringToObject(o, key, buf) != NULL;
}

int bb_write_info(int dfd, const struct backup_info *b)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int r = -ENOMEM;
	if (o && cJSON_AddStringToObject(o, "id", b->id) &&
	    cJSON_AddStringToObject(o, "state", "complete") &&
	    add_lsn(o, "start_lsn", b->start_lsn) && add_lsn(o, "end_lsn", b->end_lsn) &&
	    cJSON_AddNumberToObject(o, "pg_timeline", b->pg_timeline) &&
	    cJSON_AddNumberToObject(o, "start_time_ms", (double)b->start_ms) &&
	    cJSON_AddNumberToObject(o, "end_time_ms", (double)b->end_ms) &&
	    cJSON_AddNumberToObject(o, "bytes", (double)b->bytes) &&
	    cJSON_AddNumberToObject(o, "tar_bytes", (double)b->tar_bytes))
		text = cJSON_Print(o);
	cJSON_Delete(o);
	if (!text)
		return r;
	int fd = openat(dfd, BB_INFO, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	size_t len = strlen(text), off = 0;
	r = fd < 0 ? -errno : 0;
	while (!r && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	cJSON_free(text);
	return r;
}

static int parse_lsn_field(const cJSON *o, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? lsn_parse(v->valuestring, out) : -EINVAL;
}

static double num_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* backup.json of directory @p dir/@p name into *b. @return 0 or -errno (-EINVAL: malformed). */
static int read_info(const char *bdir, const char *name, struct backup_info *b)
{
	char *path, *text;
	size_t len;
	int r;
	if (asprintf(&path, "%s/%s", bdir, name) < 0)
		return -ENOMEM;
	r = persist_read_file(path, BB_INFO, 1 << 16, &text, &len);
	free(path);
	if (r < 0)
		return r;
	cJSON *o = cJSON_ParseWithLength(text, len);
	free(text);
	memset(b, 0, sizeof *b);
	size_t k = strlen(name);
	if (k >= sizeof b->id) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	memcpy(b->id, name, k + 1);
	b->complete = true;
	r = o && parse_lsn_field(o, "start_lsn", &b->start_lsn) == 0 &&
			    parse_lsn_field(o, "end_lsn", &b->end_lsn) == 0
		    ? 0
		    : -EINVAL;
	b->pg_timeline = (uint32_t)num_field(o, "pg_timeline");
	b->start_ms = (int64_t)num_field(o, "start_time_ms");
	b->end_ms = (int64_t)num_field(o, "end_time_ms");
	b->bytes = (uint64_t)num_field(o, "bytes");
	b->tar_bytes = (uint64_t)num_field(o, "tar_bytes");
	cJSON_Delete(o);
	return r;
}

static int by_start(const void *a, const void *b)
{
	const struct backup_info *x = a, *y = b;
	if (x->start_lsn != y->start_lsn)
		return x->start_lsn < y->start_lsn ? -1 : 1;
	return strcmp(x->id, y->id);
}

int bb_scan(const char *bdir, struct backup_info **out, size_t *n)
{
	DIR *d = opendir(bdir);
	size_t cap = 0;
	int r = 0;
	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		struct backup_info b;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= BACKUP_ID_MAX)
			continue;
		if (read_info(bdir, de->d_name, &b) < 0)
			continue; /* not a backup (nothing else is written here) */
		if (*n == cap) {
			struct backup_info *nv = realloc(*out,
							 (cap = cap ? 2 * cap : 8) * sizeof b);
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*out = nv;
		}
		(*out)[(*n)++] = b;
	}
	closedir(d);
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	} else if (*n > 1) {
		qsort(*out, *n, sizeof **out, by_start);
	}
	return r;
}

int bb_commit(const char *bdir, const char *id)
{
	char from[BACKUP_ID_MAX + 8];
	int dfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	if (dfd < 0)
		return -errno;
	snprintf(from, sizeof from, BB_TMP_PREFIX "%s", id);
	int tfd = openat(dfd, from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 || fsync(tfd) < 0) /* the entries of the backup's own directory first */
		r = -errno;
	if (tfd >= 0)
		close(tfd);
	if (!r && renameat(dfd, from, dfd, id) < 0)
		r = -errno;
	if (!r && fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int bb_expire(const char *bdir, unsigned keep)
{
	struct backup_info *v;
	size_t n;
	int r = bb_scan(bdir, &v, &n), removed = 0;
	if (r < 0)
		return r;
	/* oldest first: what goes is renamed to a leftover first, so that a crash halfway through
	 * the removal never leaves a backup directory that looks complete but is not */
	for (size_t i = 0; keep && n > keep && i < n - keep; i++) {
		char *from, *to;
		if (asprintf(&from, "%s/%s", bdir, v[i].id) < 0)
			break;
		if (asprintf(&to, "%s/" BB_TMP_PREFIX "%s", bdir, v[i].id) < 0) {
			free(from);
			break;
		}
		r = rename(from, to) < 0 ? -errno : persist_remove_tree(to);
		free(from);
		free(to);
		if (r < 0)
			break;
		removed++;
	}
	free(v);
	return r < 0 ? r : removed;
}

int bb_clean_tmp(const char *bdir, const struct execd_id *timeline)
{
	DIR *d = opendir(bdir);
	int r = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		const char *name = de->d_name;
		char *path;
		if (strncmp(name, BB_TMP_PREFIX, strlen(BB_TMP_PREFIX)) != 0)
			continue;
		if (bb_running_has(timeline, name + strlen(BB_TMP_PREFIX)))
			continue;
		if (asprintf(&path, "%s/%s", bdir, name) < 0)
			return -ENOMEM;
		int e = persist_remove_tree(path);
		free(path);
		if (e < 0 && !r)
			r = e;
	}
	closedir(d);
	return r;
}

int backup_disk_usage(struct timeline *tl, uint64_t *count, uint64_t *bytes)
{
	static const char *const files[] = { BB_TAR, BB_MANIFEST, BB_INFO };
	char *bdir;
	*count = *bytes = 0;
	if (bb_dir(tl->dir, &bdir) < 0)
		return -ENOMEM;
	DIR *d = opendir(bdir);
	free(bdir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	for (struct dirent *de; (de = readdir(d));) {
		struct stat st;
		/* sized for any name: no truncation to reason about */
		char path[sizeof de->d_name + 32];
		if (de->d_name[0] == '.' || strlen(de->d_name) >= BACKUP_ID_MAX)
			continue; /* `.tmp-*`: not a backup (yet) */
		(*count)++;
		for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
			snprintf(path, sizeof path, "%s/%s", de->d_name, files[i]);
			if (fstatat(dirfd(d), path, &st, 0) == 0)
				*bytes += (uint64_t)st.st_blocks * 512;
		}
	}
	closedir(d);
	return 0;
}
