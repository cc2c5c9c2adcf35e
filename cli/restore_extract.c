/* SPDX-License-Identifier: MIT */
/*
 * execctl restore's writing half (restore.h): the backup's tar stream (zstd), read from the
 * descriptor execd passed, extracted with libarchive into the target directory, its manifest
 * beside it, and the recovery settings that make `pg_ctl start` replay the timeline's WAL
 * (PostgreSQL's "Recovering Using a Continuous Archive Backup": recovery.signal and
 * restore_command in postgresql.auto.conf, which the server reads last).
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "restore.h"

static int copy_data(struct archive *in, struct archive *out, char *err, size_t errlen)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK) {
			snprintf(err, errlen, "%s", archive_error_string(out));
			return -EIO;
		}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s", archive_error_string(in));
		return -EIO;
	}
	return 0;
}

int restore_extract(int fd, const char *dir, uint64_t *files, char *err, size_t errlen)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	struct archive_entry *e;
	int r = 0, k = ARCHIVE_EOF, cwd = -1;
	*files = 0;
	if (!in || !out) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto done;
	}
	archive_read_support_filter_zstd(in);
	archive_read_support_format_tar(in);
	/* nothing may land outside the directory (the archive comes from a server) */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (archive_read_open_fd(in, fd, 1 << 17) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s", archive_error_string(in));
		r = -EIO;
		goto done;
	}
	/* entries are relative: extracted from inside @p dir, so that libarchive's checks (no
	 * "..", no absolute path, no symlink followed) keep everything in it */
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || chdir(dir) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		r = -errno;
		goto done;
	}
	while ((k = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			snprintf(err, errlen, "%s", archive_error_string(out));
			r = -EIO;
			break;
		}
		if (archive_entry_size(e) > 0 && (r = copy_data(in, out, err, errlen)) < 0)
			break;
		if (archive_write_finish_entry(out) != ARCHIVE_OK) {
			snprintf(err, errlen, "%s", archive_error_string(out));
			r = -EIO;
			break;
		}
		(*files)++;
	}
	if (r == 0 && k != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s", archive_error_string(in));
		r = -EIO;
	}
	if (r == 0 && archive_write_close(out) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s", archive_error_string(out));
		r = -EIO;
	}
done:
	if (cwd >= 0) {
		if (fchdir(cwd) < 0 && r == 0)
			r = -errno;
		close(cwd);
	}
	archive_read_free(in);
	archive_write_free(out);
	return r;
}

int restore_copy_file(int fd, const char *dir, const char *name)
{
	char buf[1 << 16];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), out, r = 0;
	if (dfd < 0)
		return -errno;
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	close(dfd);
	if (out < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf), w = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			w += k > 0 ? k : 0;
		}
		if (r < 0)
			break;
	}
	if (close(out) < 0 && !r)
		r = -errno;
	return r;
}

/* @p s as a string of postgresql.conf: single quotes, a quote doubled. */
static void put_conf_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

int restore_write_settings(const char *dir, const struct restore_settings *s)
{
	char *path;
	FILE *f;
	int r = 0;
	if (asprintf(&path, "%s/recovery.signal", dir) < 0)
		return -ENOMEM;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return -errno;
	close(fd);
	if (asprintf(&path, "%s/postgresql.auto.conf", dir) < 0)
		return -ENOMEM;
	f = fopen(path, "ae");
	free(path);
	if (!f)
		return -errno;
	fprintf(f, "\n# Added by execctl restore: backup %s of timeline %s\n", s->backup_id,
		s->timeline);
	fputs("restore_command = ", f);
	put_conf_string(f, s->restore_command);
	fputc('\n', f);
	if (s->target_lsn) {
		fputs("recovery_target_lsn = ", f);
		put_conf_string(f, s->target_lsn);
		fputc('\n', f);
	}
	if (s->target_time) {
		fputs("recovery_target_time = ", f);
		put_conf_string(f, s->target_time);
		fputc('\n', f);
	}
	if (s->target_lsn || s->target_time)
		fputs("recovery_target_action = 'promote'\n", f);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}
