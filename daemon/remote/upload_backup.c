/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_backup.c — the base backups of a pass (upload_int.h): every complete
 * backup (backups/<id>/ exists only once complete: daemon/backup/backup.h) not in the index,
 * its three files each as an object (base.tar.zst in multipart when large), listed once all
 * three are verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "registry/timeline.h"
#include "upload_int.h"

static const char *const backup_files[] = { "backup_manifest", "backup.json", "base.tar.zst" };
#define N_BACKUP_FILES (sizeof backup_files / sizeof backup_files[0])

/* Upload backups/<id>/<file> into @p obj. */
static int upload_one(struct upload_state *st, struct s3_client *cl, const char *id,
		      const char *file, struct remote_file *obj)
{
	char *path = NULL, *key = NULL;
	struct stat sb;
	int r = 0, fd = -1;
	if (asprintf(&path, "%s/backups/%s/%s", st->tldir, id, file) < 0)
		return -ENOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0)
		r = -errno;
	if (r == 0)
		r = remote_key_backup(&st->conf, &st->tl->tenant_id, &st->tl->id, id, file, &key);
	if (r == 0) {
		obj->name = (char *)file;
		obj->stored_bytes = (uint64_t)sb.st_size;
		r = upload_fd(st, cl, key, fd, obj->stored_bytes, obj->etag);
	}
	if (fd >= 0)
		close(fd);
	free(key);
	free(path);
	return r;
}

static int upload_backup(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
			 const struct backup_info *b)
{
	struct remote_file objs[N_BACKUP_FILES];
	struct remote_backup e = { .id = (char *)b->id,
				   .start_lsn = b->start_lsn,
				   .end_lsn = b->end_lsn,
				   .end_time_ms = b->end_ms,
				   .objects = objs,
				   .n_objects = N_BACKUP_FILES };
	int r = 0;
	memset(objs, 0, sizeof objs);
	for (size_t i = 0; r == 0 && i < N_BACKUP_FILES; i++)
		r = upload_cancelled(st) ? -ECANCELED
					 : upload_one(st, cl, b->id, backup_files[i], &objs[i]);
	return r < 0 ? r : remote_index_put_backup(work, &e);
}

int upload_backups(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
		   bool *changed)
{
	struct backup_info *v = NULL;
	size_t n = 0;
	int r = backup_list(st->tl, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!v[i].complete || remote_index_find_backup(work, v[i].id))
			continue;
		if ((r = upload_backup(st, cl, work, &v[i])) == -ENOENT)
			r = 0; /* removed meanwhile (--keep-backups) */
		else if (r == 0)
			*changed = true;
	}
	free(v);
	return r;
}
