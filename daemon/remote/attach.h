/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/attach.h — a tenant moved between execd instances through its remote storage
 * (issue 21; docs/remote-storage.md, "Detach and attach" and "Generations"): tenant.attach
 * recreates a tenant and its timelines here from their newest remote indexes under a new
 * generation; tenant.detach's remote part uploads what is not remote yet and marks the tenant
 * detached. The control layer (daemon/ctl/cmd_tenant_remote.c) stops and removes the local copy.
 *
 * Design source: neon's pageserver attach/detach with generation numbers (a tenant's remote
 * objects are written by one generation only; a newer one fences the older), without a control
 * plane: the generation lives in the tenant's attachment.json beside its indexes.
 *
 * Blocking: network and file I/O; call from the blocking pool. Thread-safe (a client each).
 */
#ifndef EXECD_REMOTE_ATTACH_H
#define EXECD_REMOTE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "id.h"

struct remote_conf;
struct s3_client;
struct remote_attachment;

/** What tenant.attach asks for. */
struct remote_attach_args {
	struct execd_id tenant;
	const struct remote_conf *conf; /**< where the tenant's objects are */
	bool force; /**< take the tenant although attachment.json says attached elsewhere */
};

/**
 * tenant.attach: check and bump the tenant's generation (remote_generation_take), read the newest
 * index of each of its timelines, create the tenant (its remote configuration persisted) and the
 * timelines (timeline.json from the index, wal.state at the remote flush LSN: the WAL stays
 * remote until asked for), start them, and say where each resumes and any gap the source's slot
 * shows. @return 0 with *result ({"tenant", "generation", "timelines": [...]}, cJSON_Delete it);
 * -EEXIST (attached elsewhere without force, or the tenant exists here), -EACCES/-EINVAL (the
 * credentials file), -ENOENT (no bucket), -EAGAIN and other -errno (the object store); @p why
 * says what happened (never a secret).
 */
int remote_attach(const struct remote_attach_args *a, cJSON **result, char *why, size_t whylen);

/**
 * tenant.detach's remote part, the tenant's timeline tasks stopped: the final upload of each
 * timeline (complete segments, the open one as ".partial", backups; index with "detached"),
 * then attachment.json "attached": false. @return 0 with *result ({"tenant", "generation",
 * "timelines"}); -ENODATA (the tenant has no remote storage); -ENOENT (no such tenant);
 * -errno of an upload (nothing local may go then); @p why says which.
 */
int remote_detach_upload(const struct execd_id *tenant, cJSON **result, char *why, size_t whylen);

/**
 * Generations (generation.c): read tenant @p t's attachment.json; refuse (-EEXIST, @p why naming
 * the generation and node) if it says attached to another node and @p force is false; write
 * generation g+1 attached to this node, read it back and check it. @return 0 with *gen; -errno.
 */
int remote_generation_take(struct s3_client *cl, const struct remote_conf *c,
			   const struct execd_id *t, bool force, uint64_t *gen, char *why,
			   size_t whylen);

/**
 * Mark tenant @p t detached in attachment.json, if generation @p gen still holds it.
 * @return 0; -ESTALE (a newer generation took it: this node is fenced); -errno.
 */
int remote_generation_release(struct s3_client *cl, const struct remote_conf *c,
			      const struct execd_id *t, uint64_t gen, char *why, size_t whylen);

/**
 * Does the source of the timeline of @p idx still hold the WAL from idx->remote_flush_lsn's
 * segment on? Asks its slot (READ_REPLICATION_SLOT, a replication connection with a 10 s connect
 * timeout). Writes into @p gap ("" when there is none) the gap's range when the slot's restart
 * LSN is in a later segment (the first machine was lost before it uploaded that WAL: streaming
 * cannot fill it), or why it could not be checked; the gap is also logged. Blocking.
 */
struct remote_index;
void attach_gap_check(const struct remote_index *idx, char *gap, size_t gaplen);

#endif /* EXECD_REMOTE_ATTACH_H */
