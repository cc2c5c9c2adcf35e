/* SPDX-License-Identifier: MIT */
/* daemon/persist.c — crash-safe writes and removals (tmp + fsync + rename + fsync dir). */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

int persist_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int r;
	if (!copy)
		return -ENOMEM;
	r = persist_fsync_dir(dirname(copy));
	free(copy);
	return r;
}

int persist_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	return persist_write_file_mode(dir, name, data, len, 0640);
}

int persist_write_file_mode(const char *dir, const char *name, const void *data, size_t len,
			    mode_t mode)
{
	char tmp[512];
	const char *p = data;
	int dfd, fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof tmp, ".%s.tmp", name) >= sizeof tmp)
		return -ENAMETOOLONG;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* exactly @p mode, before any byte is written: a stale tmp keeps its mode through O_CREAT,
	 * and the umask could differ */
	if (fchmod(fd, mode) < 0)
		r = -errno;
	while (!r && len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!r)
		fault_hold_write(dir, name); /* tests only: a write held half done (fault.h) */
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) < 0) /* the rename is durable only once the directory is */
		r = -errno;
out:
	close(dfd);
	return r;
}

int persist_read_file(const char *dir, const char *name, size_t max, char **out, size_t *len)
{
	char path[4096];
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
	return 0;
}

int persist_mkdir(const char *path)
{
	if (mkdir(path, 0750) < 0) {
		if (errno == EEXIST)
			return 0;
		return -errno;
	}
	return fsync_parent(path);
}

int persist_mkdir_p(const char *path)
{
	char *copy = strdup(path);
	int r = 0;
	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p && !r; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(copy, 0750) < 0 && errno != EEXIST)
				r = -errno;
			*p = '/';
		}
	if (!r && mkdir(copy, 0750) < 0 && errno != EEXIST)
		r = -errno;
	free(copy);
	return r;
}

int persist_unlink(const char *dir, const char *name)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		r = -errno;
	if (!r && fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

static __thread int rm_err;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	int r = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT && !rm_err)
		rm_err = -errno;
	return 0;
}

int persist_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	rm_err = 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && !rm_err)
		rm_err = -errno;
	if (rm_err)
		return rm_err;
	return fsync_parent(path);
}
