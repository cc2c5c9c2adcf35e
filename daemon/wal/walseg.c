/* SPDX-License-Identifier: MIT */
/* daemon/wal/walseg.c — segment files as pg_receivewal writes them (see walseg.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "walfmt.h"
#include "walseg.h"

void walseg_writer_init(struct walseg_writer *w, int dirfd, uint32_t tli, uint64_t lsn)
{
	memset(w, 0, sizeof *w);
	w->dirfd = dirfd;
	w->tli = tli;
	w->segno = UINT64_MAX;
	w->fd = -1;
	w->write_lsn = lsn;
	w->sync_lsn = lsn;
}

int walseg_sync_dir(int dirfd)
{
	return fsync(dirfd) < 0 ? -errno : 0;
}

/* Zero-fill a new segment to WAL_SEG_SIZE with real writes, as pg_receivewal pads it. */
static int pad_segment(int fd, off_t from)
{
	static const char zeros[65536];
	for (off_t off = from; off < WAL_SEG_SIZE;) {
		size_t n = sizeof zeros;
		if ((off_t)n > WAL_SEG_SIZE - off)
			n = (size_t)(WAL_SEG_SIZE - off);
		ssize_t r = pwrite(fd, zeros, n, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += r;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int open_segment(struct walseg_writer *w, uint64_t segno)
{
	char name[WAL_FNAME_LEN + 1], partial[WAL_FNAME_LEN + 9];
	struct stat st;
	int fd, r;

	wal_seg_name(w->tli, segno, name);
	snprintf(partial, sizeof partial, "%s.partial", name);

	/* Already complete (renamed, then we crashed before the flush LSN was persisted): re-write
	 * the same bytes in place. */
	fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || st.st_size != WAL_SEG_SIZE) {
			r = fstat(fd, &st) < 0 ? -errno : -EUCLEAN;
			close(fd);
			return r;
		}
		w->final_name = true;
		goto opened;
	}
	if (errno != ENOENT)
		return -errno;

	w->final_name = false;
	fd = openat(w->dirfd, partial, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st.st_size != WAL_SEG_SIZE) {
		/* New (size 0), or created but not yet fully padded when we crashed. */
		if (st.st_size > WAL_SEG_SIZE) {
			close(fd);
			return -EUCLEAN;
		}
		if ((r = pad_segment(fd, st.st_size)) < 0 || (r = walseg_sync_dir(w->dirfd)) < 0) {
			close(fd);
			return r;
		}
	}
opened:
	w->fd = fd;
	w->segno = segno;
	w->dirty = false;
	return 0;
}

/* The segment's last byte is written: sync, rename .partial to its final name, sync the dir. */
static int complete_segment(struct walseg_writer *w)
{
	char name[WAL_FNAME_LEN + 1], partial[WAL_FNAME_LEN + 9];
	int r = 0;

	if (w->dirty && fdatasync(w->fd) < 0)
		r = -errno;
	if (close(w->fd) < 0 && r == 0)
		r = -errno;
	w->fd = -1;
	if (r < 0)
		return r;
	w->dirty = false;
	if (!w->final_name) {
		wal_seg_name(w->tli, w->segno, name);
		snprintf(partial, sizeof partial, "%s.partial", name);
		if (renameat(w->dirfd, partial, w->dirfd, name) < 0)
			return -errno;
		if ((r = walseg_sync_dir(w->dirfd)) < 0)
			return r;
	}
	w->segno = UINT64_MAX;
	w->segments_completed++;
	return 0;
}

int walseg_close(struct walseg_writer *w)
{
	int r = 0;
	if (w->fd < 0)
		return 0;
	if (w->dirty && fdatasync(w->fd) < 0)
		r = -errno;
	if (close(w->fd) < 0 && r == 0)
		r = -errno;
	w->fd = -1;
	w->segno = UINT64_MAX;
	w->dirty = false;
	if (r == 0)
		w->sync_lsn = w->write_lsn;
	return r;
}

int walseg_sync(struct walseg_writer *w)
{
	if (w->fd >= 0 && w->dirty) {
		if (fdatasync(w->fd) < 0)
			return -errno;
		w->dirty = false;
	}
	w->sync_lsn = w->write_lsn;
	return 0;
}

int walseg_write(struct walseg_writer *w, uint64_t lsn, const void *data, size_t len)
{
	const char *p = data;
	int r;

	if (lsn != w->write_lsn && w->fd >= 0) {
		/* A gap or a rewind (restart of streaming): never leave the old fd mid-way. */
		if ((r = walseg_close(w)) < 0)
			return r;
	}
	w->write_lsn = lsn;
	while (len > 0) {
		uint64_t segno = wal_segno(lsn);
		uint32_t off = wal_seg_offset(lsn);
		size_t n = WAL_SEG_SIZE - off;
		if (n > len)
			n = len;
		if (w->segno != segno) {
			if (w->fd >= 0 && (r = walseg_close(w)) < 0)
				return r;
			if ((r = open_segment(w, segno)) < 0)
				return r;
		}
		size_t done = 0;
		while (done < n) {
			ssize_t k = pwrite(w->fd, p + done, n - done, (off_t)off + (off_t)done);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			if (k == 0)
				return -EIO;
			done += (size_t)k;
		}
		w->dirty = true;
		p += n;
		len -= n;
		lsn += n;
		w->write_lsn = lsn;
		if (wal_seg_offset(lsn) == 0) {
			if ((r = complete_segment(w)) < 0)
				return r;
			w->sync_lsn = lsn > w->sync_lsn ? lsn : w->sync_lsn;
		}
	}
	return 0;
}
