/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walseg.c — segment files as pg_receivewal writes them (walmethods.c's directory
 * method: pad, write at the offset, sync, rename from .partial), with direct I/O and segments
 * prepared ahead as PostgreSQL's own WAL writer does (see walseg.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "walfmt.h"
#include "walseg.h"
#include "walseg_dio.h"

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

/* Sync the writer's directory; what it covers (a deferred rename, see walseg_write) is durable. */
static int sync_dir(struct walseg_writer *w)
{
	int r = walseg_sync_dir(w->dirfd);
	if (r == 0)
		w->dir_dirty = false;
	return r;
}

/*
 * Zero-fill a new segment to WAL_SEG_SIZE with real writes, as pg_receivewal pads it, then
 * fdatasync. Each MiB is written back before the next is written (sync_file_range, the way
 * PostgreSQL's *_flush_after settings pace writeback; durability still comes from the
 * fdatasync): 16 MiB of dirty pages written back at once queue ahead of every small WAL sync on
 * the same disk meanwhile, this stream's included (bench/walsync_bench: the longest such sync).
 */
static int pad_segment(int fd, off_t from)
{
	static const char zeros[65536];
	const off_t step = 1 << 20;
	for (off_t off = from; off < WAL_SEG_SIZE;) {
		size_t n = sizeof zeros - (size_t)(off % (off_t)sizeof zeros); /* (aligned after) */
		if ((off_t)n > WAL_SEG_SIZE - off)
			n = (size_t)(WAL_SEG_SIZE - off);
		int r = walseg_write_at(fd, zeros, n, off, 0);
		if (r < 0)
			return r;
		off += (off_t)n;
		if (off % step == 0 &&
		    sync_file_range(fd, off - step, step,
				    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					    SYNC_FILE_RANGE_WAIT_AFTER) < 0 &&
		    errno != ENOSYS && errno != EOPNOTSUPP &&
		    errno != EINVAL) /* (only a pacing hint there) */
			return -errno;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* "<name><suffix>" of segment @p segno of timeline @p tli. */
static void seg_file(uint32_t tli, uint64_t segno, const char *suffix,
		     char buf[static WAL_FNAME_LEN + 9])
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

int walseg_resume_lsn(int dirfd, uint32_t tli, uint64_t lsn, uint64_t *out)
{
	char name[WAL_FNAME_LEN + 9];
	struct stat st;
	for (uint64_t segno = wal_segno(lsn);; segno++) {
		bool zst = false;
		seg_file(tli, segno, "", name);
		if (fstatat(dirfd, name, &st, 0) < 0) {
			if (errno != ENOENT)
				return -errno;
			/* a compressed one (walzst.h) was complete before it was compressed */
			seg_file(tli, segno, ".zst", name);
			if (fstatat(dirfd, name, &st, 0) < 0) {
				if (errno != ENOENT)
					return -errno;
				break;
			}
			zst = true;
		}
		if (!zst && st.st_size != WAL_SEG_SIZE)
			return -EUCLEAN;
		lsn = wal_segno_lsn(segno + 1);
	}
	*out = lsn;
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

int walseg_opendir(int dirfd, DIR **out)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!(*out = fdopendir(fd))) {
		int r = -errno;
		close(fd);
		return r;
	}
	return 0;
}

int walseg_remove_stale_preps(int dirfd, uint32_t tli, uint64_t segno)
{
	int removed = 0, r;
	DIR *d;
	if ((r = walseg_opendir(dirfd, &d)) < 0)
		return r;
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

/* fdatasync, or direct I/O's sync, of the open segment. */
static int sync_segment(struct walseg_writer *w)
{
	if (w->blk)
		return walseg_dio_sync(w);
	return fdatasync(w->fd) < 0 ? -errno : 0;
}

/* A segment already complete (renamed, then we crashed before the flush LSN was persisted): the
 * same bytes are re-written in place. @return its fd; -ENOENT if there is none; -errno. */
static int open_final(struct walseg_writer *w, const char *name)
{
	struct stat st;
	int fd = openat(w->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_size != WAL_SEG_SIZE ? -EUCLEAN : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The segment's ".partial", from its ".prep" if one was prepared, else created and zero-filled
 * (or its padding finished after a crash). @return its fd, or -errno. */
static int open_partial(struct walseg_writer *w, const char *partial, const char *prep)
{
	struct stat st;
	int fd, r;
	/* A segment prepared ahead (walseg_prepare: 16 MiB of zeros, synced) becomes the .partial;
	 * never over an existing .partial, which may hold WAL. The rename is made durable before
	 * any WAL goes in, so a .prep never holds WAL and can always be removed (walgc.c); one
	 * directory sync, as pg_receivewal syncs the directory after padding a new segment. */
	if (renameat2(w->dirfd, prep, w->dirfd, partial, RENAME_NOREPLACE) == 0) {
		if ((r = sync_dir(w)) < 0)
			return r;
	} else if (errno != ENOENT && errno != EEXIST) {
		return -errno;
	}
	fd = openat(w->dirfd, partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
		if ((r = pad_segment(fd, st.st_size)) < 0 || (r = sync_dir(w)) < 0) {
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
	return fd;
}

static int open_segment(struct walseg_writer *w, uint64_t segno, uint32_t off)
{
	char name[WAL_FNAME_LEN + 9], partial[WAL_FNAME_LEN + 9], prep[WAL_FNAME_LEN + 9];
	int fd, r;

	seg_file(w->tli, segno, "", name);
	seg_file(w->tli, segno, ".partial", partial);
	seg_file(w->tli, segno, ".prep", prep);
	fd = open_final(w, name);
	w->final_name = fd >= 0;
	if (fd == -ENOENT)
		fd = open_partial(w, partial, prep);
	if (fd < 0)
		return fd;
	/* the previous segment's rename, if its sync was left to this open (walseg_write) */
	if (w->dir_dirty && (r = sync_dir(w)) < 0) {
		close(fd);
		return r;
	}
	/* (a segment under its final name keeps the page cache: dio_sync's zeros past the write
	 * position would hole a segment that reads as complete) */
	if (!w->final_name && !w->buffered && (r = walseg_dio_start(w, fd, off)) < 0) {
		close(fd);
		return r;
	}
	w->fd = fd;
	w->segno = segno;
	w->dirty = false;
	return 0;
}

/* The segment's last byte is written: sync, rename .partial to its final name. The directory
 * sync that makes the rename durable is the next one (dir_dirty until then; see walseg_write). */
static int complete_segment(struct walseg_writer *w)
{
	char name[WAL_FNAME_LEN + 9], partial[WAL_FNAME_LEN + 9];
	int r = 0;

	if (w->dirty)
		r = sync_segment(w);
	walseg_dio_end(w);
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
		w->dir_dirty = true;
	}
	w->segno = UINT64_MAX;
	w->segments_completed++;
	return 0;
}

int walseg_close(struct walseg_writer *w)
{
	int r = 0;
	if (w->dir_dirty && (r = sync_dir(w)) < 0)
		return r;
	if (w->fd < 0)
		return 0;
	if (w->dirty)
		r = sync_segment(w);
	walseg_dio_end(w);
	if (close(w->fd) < 0 && r == 0)
		r = -errno;
	w->fd = -1;
	w->segno = UINT64_MAX;
	w->dirty = false;
	if (r == 0)
		w->sync_lsn = w->write_lsn;
	return r;
}

bool walseg_fits(const struct walseg_writer *w, uint64_t lsn, size_t len)
{
	return w->fd >= 0 && lsn == w->write_lsn && wal_segno(lsn) == w->segno &&
	       (uint64_t)wal_seg_offset(lsn) + len < WAL_SEG_SIZE;
}

void walseg_sync_plan(struct walseg_writer *w, struct walseg_sync_plan *p)
{
	*p = (struct walseg_sync_plan){ .dir = w->dir_dirty, .fd = -1 };
	if (w->fd < 0 || !w->dirty)
		return;
	p->fd = w->fd;
	if (!w->blk) {
		p->fdatasync = true;
		return;
	}
	/* direct I/O (walseg_dio.c): the staged bytes as one RWF_DSYNC write; after full-buffer
	 * writes since the last sync, which RWF_DSYNC does not cover, with an fdatasync instead */
	p->buf = w->blk;
	p->buf_off = w->blk_off;
	p->buf_len = walseg_dio_sync_begin(w);
	p->dsync = p->buf_len > 0 && !w->unsynced;
	p->fdatasync = !p->dsync;
}

int walseg_sync_done(struct walseg_writer *w, const struct walseg_sync_plan *p)
{
	if (p->dir)
		w->dir_dirty = false;
	if (p->fd >= 0) {
		if (w->blk) {
			int r = walseg_dio_sync_end(w);
			if (r < 0)
				return r;
		}
		w->dirty = false;
	}
	w->sync_lsn = w->write_lsn;
	return 0;
}

int walseg_sync(struct walseg_writer *w)
{
	struct walseg_sync_plan p;
	int r;
	walseg_sync_plan(w, &p);
	if (p.dir && (r = walseg_sync_dir(w->dirfd)) < 0)
		return r;
	if (p.buf_len > 0 &&
	    (r = walseg_write_at(p.fd, p.buf, p.buf_len, p.buf_off, p.dsync ? RWF_DSYNC : 0)) < 0)
		return r;
	if (p.fdatasync && fdatasync(p.fd) < 0)
		return -errno;
	return walseg_sync_done(w, &p);
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
			if ((r = open_segment(w, segno, off)) < 0)
				return r;
			if (w->renamed_lsn > w->sync_lsn)
				w->sync_lsn = w->renamed_lsn; /* (its rename is durable now) */
		}
		if ((r = w->blk ? walseg_dio_append(w, p, n)
				: walseg_write_at(w->fd, p, n, off, 0)) < 0)
			return r;
		w->dirty = true;
		p += n;
		len -= n;
		lsn += n;
		w->write_lsn = lsn;
		if (wal_seg_offset(lsn) == 0) {
			/* The rename's directory sync is left to the next segment's open, which
			 * syncs the directory anyway (or to walseg_sync/walseg_close): one journal
			 * commit at a switch instead of two, on the server's commit path. sync_lsn
			 * passes the segment only once its name is durable. */
			if ((r = complete_segment(w)) < 0)
				return r;
			w->renamed_lsn = lsn;
		}
	}
	return 0;
}
