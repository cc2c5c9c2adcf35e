/* SPDX-License-Identifier: MIT */
/* daemon/wal/walseg.c — segment files as pg_receivewal writes them (see walseg.h). */
#include "config.h"

#include <dirent.h>
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

/* "<name><suffix>" of segment @p segno of timeline @p tli. */
static void seg_file(uint32_t tli, uint64_t segno, const char *suffix, char buf[static WAL_FNAME_LEN + 9])
{
	wal_seg_name(tli, segno, buf);
	snprintf(buf + WAL_FNAME_LEN, 9, "%s", suffix);
}

static bool exists_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, 0) == 0;
}

int walseg_prepare(int dirfd, uint32_t tli, uint64_t segno)
{
	char name[WAL_FNAME_LEN + 9], partial[WAL_FNAME_LEN + 9], prep[WAL_FNAME_LEN + 9], path[64];
	int fd, r;

	seg_file(tli, segno, "", name);
	seg_file(tli, segno, ".partial", partial);
	seg_file(tli, segno, ".prep", prep);
	if (exists_at(dirfd, name) || exists_at(dirfd, partial) || exists_at(dirfd, prep))
		return 0;
	/* An unnamed file until it is complete: a crash mid-way leaves nothing behind. */
	fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EISDIR ? -EOPNOTSUPP : -errno; /* EISDIR: no O_TMPFILE support */
	if ((r = pad_segment(fd, 0)) == 0) {
		/* linkat fails with EEXIST rather than replace a name (the writer's rename may have
		 * beaten us); through /proc, as AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, path, dirfd, prep, AT_SYMLINK_FOLLOW) < 0)
			r = errno == EEXIST ? 0 : -errno;
	}
	close(fd);
	if (r < 0)
		return r;
	/* The writer may have created the segment itself between our first look and the link (it
	 * pads it then): a .prep it will never use goes at once. */
	if ((exists_at(dirfd, name) || exists_at(dirfd, partial)) && unlinkat(dirfd, prep, 0) < 0 &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

int walseg_parse_prep(const char *name, uint32_t *tli, uint64_t *segno)
{
	char seg[WAL_FNAME_LEN + 1];
	int partial;
	if (strlen(name) != WAL_FNAME_LEN + 5 || strcmp(name + WAL_FNAME_LEN, ".prep") != 0)
		return -EINVAL;
	memcpy(seg, name, WAL_FNAME_LEN);
	seg[WAL_FNAME_LEN] = '\0';
	return wal_seg_parse(seg, tli, segno, &partial);
}

int walseg_remove_stale_preps(int dirfd, uint32_t tli, uint64_t segno)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), removed = 0, r = 0;
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint32_t t;
		uint64_t n;
		if (walseg_parse_prep(de->d_name, &t, &n) < 0 || (t == tli && n > segno))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0) {
			if (errno != ENOENT && r == 0)
				r = -errno;
			continue;
		}
		removed++;
	}
	closedir(d);
	return r < 0 ? r : removed;
}

static int open_segment(struct walseg_writer *w, uint64_t segno)
{
	char name[WAL_FNAME_LEN + 9], partial[WAL_FNAME_LEN + 9], prep[WAL_FNAME_LEN + 9];
	struct stat st;
	int fd, r;

	seg_file(w->tli, segno, "", name);
	seg_file(w->tli, segno, ".partial", partial);
	seg_file(w->tli, segno, ".prep", prep);

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
	/* A segment prepared ahead (walseg_prepare: 16 MiB of zeros, synced) becomes the .partial;
	 * never over an existing .partial, which may hold WAL. The rename is made durable before
	 * any WAL goes in, so a .prep never holds WAL and can always be removed (walgc.c); one
	 * directory sync, as pg_receivewal syncs the directory after padding a new segment. */
	if (renameat2(w->dirfd, prep, w->dirfd, partial, RENAME_NOREPLACE) == 0) {
		if ((r = walseg_sync_dir(w->dirfd)) < 0)
			return r;
	} else if (errno != ENOENT && errno != EEXIST) {
		return -errno;
	}
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
	/* (a preparation that lost the race to our create above leaves a .prep it may not have
	 * seen us create in time; it is never used now) */
	if (unlinkat(w->dirfd, prep, 0) < 0 && errno != ENOENT) {
		r = -errno;
		close(fd);
		return r;
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
	char name[WAL_FNAME_LEN + 9], partial[WAL_FNAME_LEN + 9];
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
		seg_file(w->tli, w->segno, "", name);
		seg_file(w->tli, w->segno, ".partial", partial);
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
