/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walzst.h — internal: completed WAL segments stored compressed with zstd, as
 * "<name>.zst" next to the plain ones (docs/wal.md "Compressed segments").
 *
 * A ".zst" holds one zstd frame with the content size (16 MiB) and zstd's own checksum of the
 * content in its header and end, so a reader can tell a damaged or truncated file from a segment.
 * It replaces "<name>" only once it is durable: written unnamed (O_TMPFILE, else a ".zst.tmp"),
 * fdatasynced, linked under its name, the directory synced, and only then is the plain segment
 * removed (and the directory synced again). A crash at any point leaves the plain segment, or
 * both (then the plain one is preferred by every reader and removed by the next pass), never
 * neither. pgBackRest and WAL-G compress archived segments the same way; the open ".partial" is
 * never compressed (it is still being written).
 *
 * Blocking (read, write, fdatasync): run on the blocking pool. Thread-safe: no shared state.
 */
#ifndef EXECD_WAL_WALZST_H
#define EXECD_WAL_WALZST_H

#include <stddef.h>
#include <stdint.h>

/** The suffix of a compressed segment. */
#define WALZST_SUFFIX ".zst"
/** zstd's compression level for segments: its default, about 3-5x on WAL at >100 MB/s. */
#define WALZST_LEVEL 3

/** Parse "<24 hex digits>.zst". @return 0 and the fields, or -EINVAL for any other name. */
int walzst_parse(const char *name, uint32_t *tli, uint64_t *segno);

/**
 * Compress the complete segment @p segno of timeline @p tli in directory @p dirfd into
 * "<name>.zst" durably, then remove "<name>" (see above). A ".zst" that exists already (a pass
 * cut short after its link) is kept and only the plain segment removed.
 * @return 0; -ENOENT if the plain segment is gone (removed by retention meanwhile);
 *         -EUCLEAN if it is not 16 MiB; -ENOMEM; -EIO for a zstd error; -errno of the I/O.
 */
int walzst_compress(int dirfd, uint32_t tli, uint64_t segno);

/**
 * The content size a ".zst" file @p fd declares in its frame header (bytes).
 * @return the size (>= 0), or -EBADMSG if the file does not start with a zstd frame that
 *         declares it, or -errno of pread.
 */
int64_t walzst_content_size(int fd);

/**
 * Decompress the first @p len bytes of the ".zst" file @p fd into @p buf (reads the file from
 * its start with pread; the file offset is not used).
 * @return the bytes stored (less than @p len only if the content is shorter), -EBADMSG for a
 *         damaged frame, -ENOMEM, or -errno of pread.
 */
int64_t walzst_read_head(int fd, void *buf, size_t len);

#endif /* EXECD_WAL_WALZST_H */
