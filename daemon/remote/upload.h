/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload.h — the remote_upload task of a timeline whose tenant has remote storage
 * (issue 21, docs/remote-storage.md): every completed (compressed) WAL segment, history file
 * and complete base backup is uploaded (large objects in multipart), verified by its ETag, then
 * listed in the timeline's index object, which is PUT after the objects it lists (seed 002 for
 * remote storage) and only while this execd's generation is the newest (fencing); a copy goes
 * to <timeline dir>/remote_index.json. Retention removes a local segment only once it is listed
 * and a HEAD confirms it (size and ETag): the hooks of wal.h.
 *
 * Design source: neon's RemoteTimelineClient (an upload queue per timeline, the index uploaded
 * after the layers it names, generations), pgBackRest's archive-push (compressed segments,
 * multipart), WAL-G's back-off on object store errors.
 */
#ifndef EXECD_REMOTE_UPLOAD_H
#define EXECD_REMOTE_UPLOAD_H

struct timeline;

/** Register remote storage's hooks with daemon/wal (once, at start, before timelines start). */
void remote_upload_init(void);

/**
 * The final upload of @p tl before a tenant.detach: waits for the remote_upload task's pass in
 * progress, then uploads every complete segment (also those not compressed yet), history file
 * and complete backup, the open segment as "<seg>.partial" (its bytes up to the flush LSN), and
 * PUTs the index with "detached": true and remote_flush_lsn = the flush LSN. Call it after the
 * timeline's WAL receiver stopped (so the flush LSN stays), from a spawn_blocking job.
 * Blocking (network I/O, as long as the transfers take). Thread-safe (serialised with the task).
 * @return 0; -ENODATA (the tenant has no remote storage or the timeline no WAL state); -ESTALE
 * (a newer generation holds the tenant: fenced); -errno of the object store or the files (then
 * the index may list part of it, never an object that is not durable).
 */
int remote_upload_final(struct timeline *tl);

#endif /* EXECD_REMOTE_UPLOAD_H */
