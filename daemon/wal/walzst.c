/* SPDX-License-Identifier: MIT */
/* daemon/wal/walzst.c — completed WAL segments compressed with zstd (walzst.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "walfmt.h"
#include "walseg.h"
#include "walzst.h"

#define CHUNK (1u << 20) /* bytes read or written per call */

int walzst_parse(const char *name, uint32_t *tli, uint64_t *segno)
{
	char seg[WAL_FNAME_LEN + 1];
	int partial;
	if (strlen(name) != WAL_FNAME_LEN + strlen(WALZST_SUFFIX) ||
	    strcmp(name + WAL_FNAME_LEN, WALZST_SUFFIX) != 0)
		return -EINVAL;
	memcpy(seg, name, WAL_FNAME_LEN);
	seg[WAL_FNAME_LEN] = '\0';
	return wal_seg_parse(seg, tli, segno, &partial);
}

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t k = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf = (const char *)buf + k;
		len -= (size_t)k;
	}
	return 0;
}

/* Stream the 16 MiB of @p in through zstd into @p out: one frame with the content size and a
 * checksum. @return 0, -EUCLEAN (short segment), -ENOMEM, -EIO (zstd), or -errno. */
static int compress_fd(int in, int out)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t outcap = ZSTD_CStreamOutSize();
	char *ibuf = malloc(CHUNK), *obuf = malloc(outcap);
	int r = 0;
	if (!cc || !ibuf || !obuf) {
		r = -ENOMEM;
		goto out;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, WALZST_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, WAL_SEG_SIZE))) {
		r = -EIO;
		goto out;
	}
	for (uint64_t off = 0; off < WAL_SEG_SIZE && r == 0; off += CHUNK) {
		ssize_t n = pread_full(in, ibuf, CHUNK, off);
		if (n < 0 || (size_t)n != CHUNK) {
			r = n < 0 ? (int)n : -EUCLEAN;
			break;
		}
		bool last = off + CHUNK >= WAL_SEG_SIZE;
		ZSTD_inBuffer ib = { ibuf, CHUNK, 0 };
		size_t left;
		do {
			ZSTD_outBuffer ob = { obuf, outcap, 0 };
			left = ZSTD_compressStream2(cc, &ob, &ib,
						    last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				r = -EIO;
				break;
			}
			r = write_full(out, obuf, ob.pos);
		} while (r == 0 && (last ? left != 0 : ib.pos < ib.size));
	}
out:
	ZSTD_freeCCtx(cc);
	free(ibuf);
	free(obuf);
	return r;
}

/* An unnamed file in @p dirfd (O_TMPFILE), else "<tmp>" created afresh (*named set). */
static int open_tmp(int dirfd, const char *tmp, bool *named)
{
	*named = false;
	int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EISDIR && errno != EOPNOTSUPP))
		return fd >= 0 ? fd : -errno;
	*named = true;
	fd = openat(dirfd, tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	return fd >= 0 ? fd : -errno;
}

/* Give the synced file @p fd the name @p zst: link the unnamed file (through /proc, as
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH), or rename the named one. An existing @p zst is a
 * complete one from an earlier pass: kept. */
static int publish(int dirfd, int fd, const char *tmp, const char *zst)
{
	char path[64];
	if (tmp)
		return renameat(dirfd, tmp, dirfd, zst) < 0 ? -errno : 0;
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, dirfd, zst, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Write "<name>.zst" from the open plain segment @p in, durably (file and directory synced). */
static int write_zst(int dirfd, int in, const char *name, const char *zst)
{
	char tmp[WAL_FNAME_LEN + 16];
	bool named;
	snprintf(tmp, sizeof tmp, "%s.zst.tmp", name);
	int out = open_tmp(dirfd, tmp, &named), r;
	if (out < 0)
		return out;
	r = compress_fd(in, out);
	if (r == 0 && fdatasync(out) < 0)
		r = -errno;
	if (r == 0)
		r = publish(dirfd, out, named ? tmp : NULL, zst);
	close(out);
	if (r < 0 && named)
		unlinkat(dirfd, tmp, 0);
	return r == 0 ? walseg_sync_dir(dirfd) : r;
}

int walzst_compress(int dirfd, uint32_t tli, uint64_t segno)
{
	char name[WAL_FNAME_LEN + 1], zst[WAL_FNAME_LEN + 8];
	struct stat st;
	int r = 0;
	wal_seg_name(tli, segno, name);
	snprintf(zst, sizeof zst, "%s%s", name, WALZST_SUFFIX);
	int in = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0)
		r = -errno;
	else if (st.st_size != WAL_SEG_SIZE)
		r = -EUCLEAN;
	else if (fstatat(dirfd, zst, &st, 0) < 0) /* none yet (else: kept, see publish) */
		r = errno == ENOENT ? write_zst(dirfd, in, name, zst) : -errno;
	close(in);
	if (r == 0 && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		r = -errno;
	return r == 0 ? walseg_sync_dir(dirfd) : r;
}

int64_t walzst_content_size(int fd)
{
	unsigned char b[18]; /* ZSTD_FRAMEHEADERSIZE_MAX (in zstd.h for static linking only) */
	ssize_t n = pread_full(fd, b, sizeof b, 0);
	if (n < 0)
		return n;
	unsigned long long sz = ZSTD_getFrameContentSize(b, (size_t)n);
	if (sz == ZSTD_CONTENTSIZE_UNKNOWN || sz == ZSTD_CONTENTSIZE_ERROR || sz > INT64_MAX)
		return -EBADMSG;
	return (int64_t)sz;
}

int64_t walzst_read_head(int fd, void *buf, size_t len)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t cap = ZSTD_DStreamInSize();
	char *ibuf = malloc(cap);
	ZSTD_outBuffer ob = { buf, len, 0 };
	uint64_t off = 0;
	int64_t r = 0;
	size_t left = 1;
	if (!dc || !ibuf) {
		r = -ENOMEM;
		goto out;
	}
	while (ob.pos < ob.size && left != 0) {
		ssize_t n = pread_full(fd, ibuf, cap, off);
		if (n <= 0) {
			r = n < 0 ? n : -EBADMSG; /* the frame ends early: truncated */
			break;
		}
		off += (uint64_t)n;
		ZSTD_inBuffer ib = { ibuf, (size_t)n, 0 };
		while (ib.pos < ib.size && ob.pos < ob.size && left != 0) {
			left = ZSTD_decompressStream(dc, &ob, &ib);
			if (ZSTD_isError(left)) {
				r = -EBADMSG;
				goto out;
			}
		}
	}
out:
	ZSTD_freeDCtx(dc);
	free(ibuf);
	return r < 0 ? r : (int64_t)ob.pos;
}
