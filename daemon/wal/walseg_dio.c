/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg_dio.c — direct I/O of the open ".partial" segment (walseg_dio.h): WAL staged
 * in an aligned buffer, whole blocks written, a sync as one RWF_DSYNC write, as PostgreSQL writes
 * its own WAL with O_DIRECT and open_datasync. Split from walseg.c, which decides when to use it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "walseg.h"
#include "walseg_dio.h"

/* Staging buffer of a segment written with direct I/O: two of the server's largest messages
 * (MAX_SEND_SIZE, 128 KiB) per write while catching up; a streaming sync touches one block, so
 * after a catch-up the pages past the first DIO_KEEP bytes go back to the system (dio_sync):
 * 50 timelines catching up at once would otherwise keep 256 KiB each resident. */
#define DIO_BUF WALSEG_DIO_BUF
#define DIO_KEEP (16u * 1024)

/* Write all @p n bytes at @p off (retrying after EINTR and short writes); @p flags: pwritev2's
 * (RWF_DSYNC: durable with them, one syscall instead of a write and an fdatasync). */
int walseg_write_at(int fd, const char *p, size_t n, off_t off, int flags)
{
	for (size_t done = 0; done < n;) {
		struct iovec iov = { (void *)(p + done), n - done };
		ssize_t k = pwritev2(fd, &iov, 1, off + (off_t)done, flags);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		done += (size_t)k;
	}
	return 0;
}

void walseg_dio_end(struct walseg_writer *w)
{
	if (w->blk)
		munmap(w->blk, DIO_BUF);
	w->blk = NULL;
}

/*
 * Switch the segment just opened as @p fd to direct I/O, the next write at segment offset @p off:
 * the staging buffer starts at the block holding @p off, with the bytes before it read from the
 * file. @return 1 (direct), 0 (the file system has no direct I/O: buffered), or -errno.
 */
int walseg_dio_start(struct walseg_writer *w, int fd, uint32_t off)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) < 0)
		return errno == ENOSYS || errno == EINVAL ? 0 : -errno;
	uint32_t a = sx.stx_dio_offset_align, ma = sx.stx_dio_mem_align;
	if (!(sx.stx_mask & STATX_DIOALIGN) || a == 0 || (a & (a - 1)) || a > DIO_KEEP || ma > 4096)
		return 0;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fl | O_DIRECT) < 0)
		return errno == EINVAL ? 0 : -errno;
	/* its own mapping (page-aligned): the pages go back to the system when the segment closes,
	 * where malloc's per-thread arenas would keep them, and a streaming sync touches one */
	void *m = mmap(NULL, DIO_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	w->blk = m;
	w->align = a;
	w->blk_off = off & ~(a - 1);
	w->blk_len = off - w->blk_off;
	w->unsynced = false;
	w->blk_wide = false;
	if (w->blk_len > 0) {
		ssize_t k;
		while ((k = pread(fd, w->blk, a, w->blk_off)) < 0 && errno == EINTR)
			;
		if (k != (ssize_t)a) {
			int r = k < 0 ? -errno : -EIO;
			walseg_dio_end(w);
			return r;
		}
	}
	return 1;
}

/* Write the first @p n bytes of blk (a multiple of align) at blk_off; @p dsync: durable with them. */
static int dio_put(struct walseg_writer *w, size_t n, bool dsync)
{
	return walseg_write_at(w->fd, w->blk, n, w->blk_off, dsync ? RWF_DSYNC : 0);
}

size_t walseg_dio_stage(struct walseg_writer *w, const char *p, size_t n)
{
	size_t k = DIO_BUF - w->blk_len;
	if (k > n)
		k = n;
	memcpy(w->blk + w->blk_len, p, k);
	w->blk_len += (uint32_t)k;
	w->blk_wide |= w->blk_len > DIO_KEEP;
	return k;
}

bool walseg_dio_full(const struct walseg_writer *w)
{
	return w->blk_len == DIO_BUF;
}

void walseg_dio_full_written(struct walseg_writer *w)
{
	w->blk_off += DIO_BUF;
	w->blk_len = 0;
	w->unsynced = true;
}

int walseg_dio_append(struct walseg_writer *w, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = walseg_dio_stage(w, p, n);
		p += k;
		n -= k;
		if (walseg_dio_full(w)) {
			int r = dio_put(w, DIO_BUF, false);
			if (r < 0)
				return r;
			walseg_dio_full_written(w);
		}
	}
	return 0;
}

uint32_t walseg_dio_sync_begin(struct walseg_writer *w)
{
	uint32_t a = w->align, n = (w->blk_len + a - 1) & ~(a - 1);
	memset(w->blk + w->blk_len, 0, n - w->blk_len);
	return n;
}

int walseg_dio_sync_end(struct walseg_writer *w)
{
	uint32_t a = w->align, keep = w->blk_len & (a - 1);
	w->unsynced = false;
	if (w->blk_len >= a) {
		memmove(w->blk, w->blk + (w->blk_len - keep), keep);
		w->blk_off += w->blk_len - keep;
		w->blk_len = keep;
	}
	if (w->blk_wide) {
		if (madvise(w->blk + DIO_KEEP, DIO_BUF - DIO_KEEP, MADV_DONTNEED) < 0)
			return -errno;
		w->blk_wide = false;
	}
	return 0;
}

bool walseg_dio_fits(const struct walseg_writer *w, size_t n)
{
	return w->blk && w->blk_len + n < DIO_BUF;
}

/*
 * Direct I/O's sync: the staged bytes, their last block padded with zeros (bytes beyond the write
 * position, not WAL yet), written with RWF_DSYNC; after earlier full-buffer writes, which
 * RWF_DSYNC does not cover (POSIX: it applies to its own write), an fdatasync instead. The last
 * partial block stays staged: the next sync writes it again with what follows.
 */
int walseg_dio_sync(struct walseg_writer *w)
{
	uint32_t n = walseg_dio_sync_begin(w);
	int r;
	if (n > 0 && (r = dio_put(w, n, !w->unsynced)) < 0)
		return r;
	if ((n == 0 || w->unsynced) && fdatasync(w->fd) < 0)
		return -errno;
	return walseg_dio_sync_end(w);
}
