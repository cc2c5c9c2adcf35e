/* SPDX-License-Identifier: MIT */
/* execctl wal get's copy: see walcopy.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "walcopy.h"

#define CHUNK (1u << 20)

static int write_full(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

/* The last resort: pread and write, CHUNK bytes at a time, from *off on. */
static int copy_rw(int src, int dst, uint64_t *off, uint64_t len)
{
	char *buf = malloc(CHUNK);
	int r = 0;
	if (!buf)
		return -ENOMEM;
	while (r == 0 && *off < len) {
		size_t want = len - *off < CHUNK ? (size_t)(len - *off) : CHUNK;
		ssize_t k = pread(src, buf, want, (off_t)*off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO; /* the file shrank under us */
			break;
		}
		if ((r = write_full(dst, buf, (size_t)k)) == 0)
			*off += (uint64_t)k;
	}
	free(buf);
	return r;
}

/* @p len bytes from offset 0: copy_file_range (a reflink or an in-kernel copy), else sendfile,
 * else read/write, each falling back when the kernel or file systems refuse it. */
static int copy_plain(int src, int dst, uint64_t len)
{
	uint64_t off = 0;
	int mode = 0; /* 0 copy_file_range, 1 sendfile */
	while (off < len && mode < 2) {
		size_t want = len - off < (1u << 30) ? (size_t)(len - off) : (1u << 30);
		off_t o = (off_t)off;
		ssize_t k = mode == 0 ? copy_file_range(src, &o, dst, NULL, want, 0)
				      : sendfile(dst, src, &o, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EBADF)) {
			mode++;
			continue;
		}
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO; /* the file ended before its size */
		off += (uint64_t)k;
	}
	return off < len ? copy_rw(src, dst, &off, len) : 0;
}

/* Decompress the one zstd frame of @p src into @p dst: exactly @p size bytes. */
static int copy_zstd(int src, int dst, uint64_t size)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t icap = ZSTD_DStreamInSize(), ocap = ZSTD_DStreamOutSize(), left = 1;
	char *ib = malloc(icap), *ob = malloc(ocap);
	uint64_t off = 0, out = 0;
	int r = 0;
	if (!dc || !ib || !ob) {
		r = -ENOMEM;
		goto done;
	}
	while (r == 0 && left != 0) {
		ssize_t n = pread(src, ib, icap, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EBADMSG; /* truncated frame */
			break;
		}
		off += (uint64_t)n;
		ZSTD_inBuffer in = { ib, (size_t)n, 0 };
		while (r == 0 && in.pos < in.size && left != 0) {
			ZSTD_outBuffer o = { ob, ocap, 0 };
			left = ZSTD_decompressStream(dc, &o, &in);
			if (ZSTD_isError(left))
				r = -EBADMSG;
			else if ((out += o.pos) > size)
				r = -EBADMSG;
			else
				r = write_full(dst, ob, o.pos);
		}
	}
	if (r == 0 && out != size)
		r = -EBADMSG;
done:
	ZSTD_freeDCtx(dc);
	free(ib);
	free(ob);
	return r;
}

/* Copy into the new file @p out, then make it durable if asked. */
static int fill(int src, bool zstd, uint64_t size, int out, bool durable, const char **step)
{
	struct stat st;
	int r;
	if (!zstd) {
		if (fstat(src, &st) < 0)
			return *step = "fstat", -errno;
		size = (uint64_t)st.st_size;
	}
	*step = zstd ? "decompress" : "copy";
	r = zstd ? copy_zstd(src, out, size) : copy_plain(src, out, size);
	if (r == 0 && durable && fsync(out) < 0) {
		*step = "fsync";
		r = -errno;
	}
	return r;
}

int walcopy(int src, bool zstd, uint64_t size, const char *dest, bool durable, const char **step)
{
	char *d1 = strdup(dest), *d2 = strdup(dest), tmp[4096];
	int dirfd = -1, out = -1, r = 0;
	*step = "open";
	if (!d1 || !d2) {
		r = -ENOMEM;
		goto done;
	}
	const char *dir = dirname(d1), *base = basename(d2);
	if (!*base || !strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, "..")) {
		r = -EINVAL;
		goto done;
	}
	snprintf(tmp, sizeof tmp, ".%s.execctl-%ld.tmp", base, (long)getpid());
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		goto done;
	}
	out = openat(dirfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (out < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0) /* a dead run's */
		out = openat(dirfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (out < 0) {
		r = -errno;
		goto done;
	}
	r = fill(src, zstd, size, out, durable, step);
	if (close(out) < 0 && r == 0) {
		*step = "close";
		r = -errno;
	}
	if (r == 0 && renameat(dirfd, tmp, dirfd, base) < 0) {
		*step = "rename";
		r = -errno;
	}
	if (r == 0 && durable && fsync(dirfd) < 0) {
		*step = "fsync of the directory";
		r = -errno;
	}
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
done:
	if (dirfd >= 0)
		close(dirfd);
	free(d1);
	free(d2);
	return r;
}
