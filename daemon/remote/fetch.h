/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/fetch.h — files of a timeline that are remote but not local, fetched for a
 * restore (docs/remote-storage.md, "Fetching"): wal.get's segments and history files,
 * backup.restore's base.tar.zst and backup_manifest, and wal.list's view of what is remote.
 *
 * A fetched file is downloaded (s3_get_object, checked against the index's stored_bytes and
 * ETag, and the body against the server's ETag) into an unnamed temporary file (O_TMPFILE, mode
 * 0600) in the timeline's directory; its descriptor is passed as a local file's is, so execctl
 * and restore_command work unchanged, and nothing is left behind whatever happens. Two requests
 * for the same file each download it: simple, and a restore asks for each file once.
 *
 * Design source: pgBackRest's archive-get and restore from a repo-type=s3 repository; neon's
 * on-demand download of layers that are remote only.
 *
 * Blocking (network): call on the blocking pool. Thread-safe (a client per call).
 */
#ifndef EXECD_REMOTE_FETCH_H
#define EXECD_REMOTE_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct timeline;
struct wal_file;
struct backup_info;
struct remote_index;

/**
 * WAL file @p name (wal.get's: a segment, "<segment>.partial" or a history file) of @p tl from
 * its remote index. @return 0 with *out as wal_timeline_open_file() fills it; -ENOENT (no remote
 * storage, or the index does not list it); -EBADMSG (size or ETag not the index's); -errno of the
 * object store.
 */
int remote_fetch_wal(struct timeline *tl, const char *name, struct wal_file *out);

/**
 * Add to the backups @p *v (@p *n of them, malloc'd, as backup_list() returns them) the complete
 * backups that @p tl's remote index lists and the disk does not; keeps them sorted by start LSN.
 * @return 0 (also without remote storage or when the object store cannot be read: logged);
 * -ENOMEM.
 */
int remote_backups_merge(struct timeline *tl, struct backup_info **v, size_t *n);

/**
 * File @p file ("base.tar.zst" or "backup_manifest") of backup @p id of @p tl, from remote.
 * @return 0 with *fd (read-only use); -ENOENT; -EBADMSG; -errno.
 */
int remote_fetch_backup(struct timeline *tl, const char *id, const char *file, int *fd);

/**
 * The newest index of @p tl: the local cache `<timeline dir>/remote_index.json` if it names
 * @p want (NULL: any), else the object store's. @return 0 with *idx (remote_index_free it);
 * -ENOENT (no remote storage or no index); -errno.
 */
int remote_fetch_index(struct timeline *tl, const char *want, struct remote_index *idx);

/**
 * Download object @p key into an unnamed file (O_TMPFILE, 0600) in directory @p dir, checked:
 * its size is @p stored bytes and its ETag @p etag ("" = not checked) by a HEAD first, then the
 * body against the server's ETag (s3_get_object). @return the descriptor (O_RDWR; its offset at
 * 0) or -errno (-EBADMSG: not the object the index names).
 */
struct remote_conf;
struct s3_client;
int remote_download(struct s3_client *cl, const struct remote_conf *conf, const char *dir,
		    const char *key, uint64_t stored, const char *etag);

/** Register wal.list's hook (wal_set_more_files_hook). Call once at start. */
void remote_fetch_init(void);

#endif /* EXECD_REMOTE_FETCH_H */
