/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rindex.h — what is remote and durable: the object keys of a tenant's timelines
 * (rkeys.c), the per-timeline index object and the tenant's attachment object (rindex.c: their
 * JSON codecs with cJSON; rindex_io.c: their GET/PUT through s3.h). docs/remote-storage.md.
 *
 * Keys, with P the configured prefix ("" = none, then no leading '/'), T/TL 32-hex ids:
 *   P/tenants/T/attachment.json                      the generations (attach/detach)
 *   P/tenants/T/timelines/TL/index-<gen %08x>.json   the index; the newest generation wins
 *   P/tenants/T/timelines/TL/wal/<file>              a segment (.zst or not, .partial), history
 *   P/tenants/T/timelines/TL/backups/<id>/<file>     base.tar.zst, backup_manifest, backup.json
 *
 * The index lists an object only after its upload was verified (ETag), and is uploaded after
 * the objects it lists (seed 002's rule applied to remote storage: the index never names an
 * object that is not durable). Generations follow neon's: the index is written by the
 * generation that owns the tenant (attachment.json), one object per generation, so two execd
 * instances never write the same index object.
 *
 * Thread-safety: plain data; the I/O functions take a client used by one thread at a time.
 * Blocking: remote_index_get/put and remote_attachment_get/put do network I/O (spawn_blocking).
 */
#ifndef EXECD_RINDEX_H
#define EXECD_RINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"

struct remote_conf;
struct s3_client;

/* ---- object keys (rkeys.c): each returns 0 with *out malloc'd, or -ENOMEM ---- */

/** "P/tenants/T/" (with the trailing '/'): what a LIST of the tenant uses. */
int remote_key_tenant_prefix(const struct remote_conf *c, const struct execd_id *t, char **out);
/** "P/tenants/T/attachment.json". */
int remote_key_attachment(const struct remote_conf *c, const struct execd_id *t, char **out);
/** "P/tenants/T/timelines/TL/" + @p rel (rel may be ""). */
int remote_key_timeline(const struct remote_conf *c, const struct execd_id *t,
			const struct execd_id *tl, const char *rel, char **out);
/** "P/tenants/T/timelines/TL/index-<gen %08x>.json". */
int remote_key_index(const struct remote_conf *c, const struct execd_id *t,
		     const struct execd_id *tl, uint64_t gen, char **out);
/** "P/tenants/T/timelines/TL/wal/<file>". */
int remote_key_wal(const struct remote_conf *c, const struct execd_id *t, const struct execd_id *tl,
		   const char *file, char **out);
/** "P/tenants/T/timelines/TL/backups/<id>/<file>". */
int remote_key_backup(const struct remote_conf *c, const struct execd_id *t,
		      const struct execd_id *tl, const char *id, const char *file, char **out);
/** Parse the generation of an index key's last component "index-XXXXXXXX.json".
 * @return 0 with *gen, or -EINVAL if @p key does not end so. */
int remote_key_index_gen(const char *key, uint64_t *gen);

/* ---- the index ---- */

/** An uploaded file: a history file, or one object of a backup. */
struct remote_file {
	char *name;            /**< file name ("00000002.history", "base.tar.zst") */
	uint64_t stored_bytes; /**< the object's size, bytes */
	char etag[80];         /**< the object's ETag, without quotes */
};

/** An uploaded WAL segment. */
struct remote_segment {
	char *name;            /**< the segment's 24-hex name */
	char *object;          /**< the object's file name: name, name.zst, name.partial(.zst) */
	bool compressed;       /**< "compression": "zstd" (else "none") */
	bool partial;          /**< the open segment at a detach */
	uint64_t size;         /**< bytes of WAL it holds (segment size; a partial's valid bytes) */
	uint64_t stored_bytes; /**< the object's size, bytes */
	char etag[80];
};

/** An uploaded base backup. */
struct remote_backup {
	char *id;
	uint64_t start_lsn, end_lsn; /**< LSN */
	int64_t end_time_ms;         /**< Unix ms */
	struct remote_file *objects;
	size_t n_objects;
};

/** The index of one timeline (remote_index_free frees it). */
struct remote_index {
	struct execd_id tenant, timeline;
	uint64_t generation;
	int64_t uploaded_at_ms; /**< Unix ms */
	/* timeline_meta: what tenant.attach needs to recreate timeline.json; source redacted */
	char *source, *slot; /**< may be NULL */
	bool create_slot;
	uint64_t start_lsn;
	uint64_t system_id;     /**< 0 = not known yet */
	uint32_t pg_timeline;   /**< 0 = not known yet */
	uint64_t segment_bytes; /**< bytes (16 MiB) */
	/** every WAL byte below this LSN is in remote objects listed here, durable */
	uint64_t remote_flush_lsn;
	struct remote_segment *segments; /**< in name order */
	size_t n_segments;
	struct remote_file *history;
	size_t n_history;
	struct remote_backup *backups;
	size_t n_backups;
	bool detached; /**< written by a tenant.detach's final upload */
};

#define REMOTE_INDEX_VERSION 1
#define REMOTE_INDEX_MAX (64u << 20) /* bytes: refused beyond, as a corrupt index */

/**
 * Parse @p len bytes of @p json into @p out (zeroed first; freed on error).
 * @return 0; -EBADMSG (not an index of version 1, a field of the wrong type, a bad LSN or id);
 * -ENOMEM.
 */
int remote_index_parse(const char *json, size_t len, struct remote_index *out);

/** Format @p idx as JSON into *json (malloc'd, free()). @return 0 or -ENOMEM. */
int remote_index_format(const struct remote_index *idx, char **json);

/** Free what @p idx holds and zero it (NULL is fine). */
void remote_index_free(struct remote_index *idx);

/** The entry of segment @p name (24 hex), or NULL. Segments are kept in name order. */
struct remote_segment *remote_index_find_segment(const struct remote_index *idx, const char *name);

/**
 * Add (or replace, by name) segment @p seg; its strings are copied. Keeps name order.
 * @return 0 or -ENOMEM.
 */
int remote_index_put_segment(struct remote_index *idx, const struct remote_segment *seg);

/** The history entry @p name, or NULL. */
struct remote_file *remote_index_find_history(const struct remote_index *idx, const char *name);
/** Add or replace history entry @p f (copied). @return 0 or -ENOMEM. */
int remote_index_put_history(struct remote_index *idx, const struct remote_file *f);

/** The backup entry @p id, or NULL. */
struct remote_backup *remote_index_find_backup(const struct remote_index *idx, const char *id);
/** Add or replace backup entry @p b (deep copy). @return 0 or -ENOMEM. */
int remote_index_put_backup(struct remote_index *idx, const struct remote_backup *b);

/** Deep copy @p src into @p dst. @return 0 or -ENOMEM (dst zeroed). */
int remote_index_dup(const struct remote_index *src, struct remote_index *dst);

/* ---- I/O (rindex_io.c); blocking ---- */

/**
 * The newest index of timeline @p tl of tenant @p t: LIST ".../index-" and GET the highest
 * generation. @return 0 with *out (free with remote_index_free); -ENOENT if there is none;
 * -EBADMSG if it does not parse or names another tenant/timeline; -errno of s3.h.
 */
int remote_index_get(struct s3_client *cl, const struct remote_conf *c, const struct execd_id *t,
		     const struct execd_id *tl, struct remote_index *out);

/**
 * PUT @p idx as the index of generation idx->generation (key from idx->tenant/timeline).
 * Verified by its ETag (s3_put_object). @return 0 or -errno of s3.h.
 */
int remote_index_put(struct s3_client *cl, const struct remote_conf *c,
		     const struct remote_index *idx);

/* ---- the attachment object (rindex.c codec, rindex_io.c I/O) ---- */

/** attachment.json: {"version":1, "generation", "attached", "node", "at_ms"}. */
struct remote_attachment {
	uint64_t generation;
	bool attached;
	char node[EXECD_ID_STR_SIZE]; /**< the attaching execd's node id (32 hex), "" if unknown */
	int64_t at_ms;                /**< Unix ms of the write */
};

/** Parse attachment.json. @return 0, -EBADMSG, -ENOMEM. */
int remote_attachment_parse(const char *json, size_t len, struct remote_attachment *out);
/** Format @p a as JSON into *json (malloc'd). @return 0 or -ENOMEM. */
int remote_attachment_format(const struct remote_attachment *a, char **json);

/**
 * GET tenant @p t's attachment.json. @return 0 with *out; -ENOENT if there is none (a tenant
 * never attached); -EBADMSG; -errno of s3.h.
 */
int remote_attachment_get(struct s3_client *cl, const struct remote_conf *c,
			  const struct execd_id *t, struct remote_attachment *out);

/** PUT tenant @p t's attachment.json as @p a. @return 0 or -errno of s3.h. */
int remote_attachment_put(struct s3_client *cl, const struct remote_conf *c,
			  const struct execd_id *t, const struct remote_attachment *a);

/**
 * tenant.create with a remote (rclaim.c): claim tenant @p t in @p c's bucket for node @p node
 * (32 hex, or "" if unknown). Reads attachment.json: none gives generation 1; one that says
 * "attached" is refused (-EEXIST, @p why naming its generation and node: the tenant lives on
 * another execd, tenant.attach --force takes it over); a detached one gives its generation + 1.
 * Writes it, reads it back and checks it (a concurrent claim loses with -EEXIST).
 * @return 0 with *gen; -EEXIST; -EACCES/-ENOENT/-EINVAL (credentials, bucket); -errno of s3.h,
 * with @p why. Blocking.
 */
int remote_claim_new_tenant(const struct remote_conf *c, const struct execd_id *t, const char *node,
			    uint64_t *gen, char *why, size_t whylen);

/**
 * The write of a claim, shared by tenant.create (above) and tenant.attach (attach.h,
 * remote_generation_take): write generation @p gen, attached, for node @p node (32 hex, or "")
 * into tenant @p t's attachment.json, read it back and check that it is still ours (S3 has no
 * compare-and-swap: a claim written after ours wins, and we must not go on). Blocking; @p cl
 * used by this thread alone. @return 0; -EEXIST (claimed concurrently, @p why naming the
 * winner's generation and node); -errno of s3.h with @p why.
 */
int remote_attachment_claim(struct s3_client *cl, const struct remote_conf *c,
			    const struct execd_id *t, const char *node, uint64_t gen, char *why,
			    size_t whylen);

#endif /* EXECD_RINDEX_H */
