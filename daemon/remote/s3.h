/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3.h — a blocking client of S3-compatible object storage (AWS S3, Ceph radosgw,
 * MinIO) for remote storage of timelines (issue 21, docs/remote-storage.md).
 *
 * Design source: neon's remote_storage crate (one small client with put/get/list/delete, the
 * uploads driven by a task of their own) and pgBackRest's repo-type=s3 (path-style URLs for
 * radosgw/MinIO, ETag checked against the MD5 of what was sent, multipart for large files).
 * Requests go through libcurl; each is signed by libcurl's CURLOPT_AWS_SIGV4 with the payload's
 * SHA-256 in x-amz-content-sha256 (computed here with libcrypto; radosgw rejects SigV4 requests
 * without that header). No SigV4 and no HTTP is written by hand; XML replies are read by libxml2.
 *
 * Blocking: every call below performs network I/O and may take as long as the transfer (bounded
 * by the configured timeouts). Call it from a spawn_blocking job (the future `remote_upload`
 * task), never from a poll.
 *
 * Thread-safety: s3_global_init() once per process before any thread uses a client. A struct
 * s3_client is used by one thread at a time (it owns one curl easy handle, kept for connection
 * reuse, and the last error); different clients may be used concurrently.
 *
 * Cancel-safety: not futures, so not cancellable mid-call; a job is cancelled between calls. A
 * call that returns an error may have had an effect on the server (a PUT that was stored but
 * whose reply was lost): every operation here is idempotent when repeated with the same
 * arguments, except that an abandoned multipart upload must be aborted (s3_multipart_abort()).
 *
 * Errors: negative errno. -ENOENT (NoSuchKey, NoSuchBucket, NoSuchUpload, 404), -EACCES
 * (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, 401/403), -EEXIST (bucket exists),
 * -ENOTEMPTY (BucketNotEmpty), -EBADMSG (an ETag or digest that does not match what was sent or
 * received, BadDigest), -EINVAL (bad arguments, InvalidPart, 400 otherwise), -EAGAIN (503,
 * SlowDown, 500: retry with back-off), -ECONNREFUSED / -ETIMEDOUT / -EIO (transport), -ENOMEM.
 * The S3 error code and message of the last failed call are kept in the client
 * (s3_client_error()). Credentials never appear in errors or logs.
 */
#ifndef EXECD_S3_H
#define EXECD_S3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Where and as whom: copied by s3_client_new(); all strings NUL-terminated. */
struct s3_config {
	const char *endpoint;    /* "http://127.0.0.1:7480" or "https://s3.example", no path */
	const char *region;      /* the SigV4 region, e.g. "us-east-1" */
	const char *access_key;  /* never logged */
	const char *secret_key;  /* never logged */
	long connect_timeout_ms; /* 0: 10000 ms */
	/* A transfer slower than 1 KiB/s for this long fails with -ETIMEDOUT; 0: 60 s. */
	long stall_timeout_s;
};

struct s3_client;

/** What a HEAD or a LIST tells of an object. */
struct s3_object_info {
	uint64_t size; /* bytes */
	char etag[80]; /* without the quotes */
};

/** The S3 limits this client follows (bytes). */
#define S3_PART_MIN_BYTES (5u << 20) /* every part of a multipart upload but the last */
#define S3_PART_MAX_COUNT 10000u

/**
 * Process-wide initialisation of libcurl and libxml2. Call once at start, before threads use
 * clients. @return 0 or -EIO. Thread-safe (a pthread_once), idempotent.
 */
int s3_global_init(void);

/**
 * A client for @p cfg. @return the client, or NULL with errno set (EINVAL: a missing field or an
 * endpoint that is not http(s)://host[:port]; ENOMEM). Free it with s3_client_free().
 */
struct s3_client *s3_client_new(const struct s3_config *cfg);

/** Free @p c (NULL is fine); its secret is cleared from memory first. */
void s3_client_free(struct s3_client *c);

/**
 * The S3 error of the last failed call on @p c: its code ("NoSuchKey", "SignatureDoesNotMatch",
 * "ETagMismatch" for a local check, "" if the transport failed) and, through @p http_status when
 * not NULL, the HTTP status (0 without a reply). The string lives until the next call on @p c.
 */
const char *s3_client_error(const struct s3_client *c, long *http_status);

/** Create bucket @p bucket. @return 0, -EEXIST if it exists, or -errno as above. */
int s3_bucket_create(struct s3_client *c, const char *bucket);

/** Delete the empty bucket @p bucket. @return 0, -ENOENT, -ENOTEMPTY, or -errno. */
int s3_bucket_delete(struct s3_client *c, const char *bucket);

/**
 * Store @p len bytes at @p data as object @p key (any UTF-8, '/' allowed) in @p bucket,
 * replacing it. Sends Content-MD5 (the server refuses a corrupted body) and checks the returned
 * ETag against the MD5 of the body. @return 0, -EBADMSG on a mismatch, or -errno.
 */
int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
		  size_t len);

/**
 * As s3_put_object(), the body being @p len bytes of file @p fd from offset @p off (bytes),
 * read with pread (the file offset is unchanged; the file must not change meanwhile).
 */
int s3_put_object_fd(struct s3_client *c, const char *bucket, const char *key, int fd, off_t off,
		     uint64_t len);

/**
 * Write object @p key to @p fd (with write(2), from fd's current offset). If the object's ETag
 * is a plain MD5 (not a multipart ETag), the bytes received are checked against it.
 * @return 0 with *size (if not NULL) the bytes written; -ENOENT; -EBADMSG if the body does not
 * match its ETag or its length; -errno (a failed write's). On error, @p fd may hold a prefix.
 */
int s3_get_object(struct s3_client *c, const char *bucket, const char *key, int fd, uint64_t *size);

/** Size and ETag of object @p key. @return 0, -ENOENT, or -errno. */
int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
		   struct s3_object_info *info);

/** Delete object @p key. @return 0 (also if it did not exist: S3 says 204 either way) or -errno. */
int s3_delete_object(struct s3_client *c, const char *bucket, const char *key);

/**
 * Called by s3_list_objects() for each object, in key order. @return 0 to go on, or a negative
 * errno to stop the listing with that value.
 */
typedef int (*s3_list_fn)(const char *key, const struct s3_object_info *info, void *arg);

/**
 * List the objects of @p bucket whose keys start with @p prefix ("" or NULL for all) with
 * ListObjectsV2, @p max_keys per request (1..1000; 0 for the server's 1000), following the
 * continuation tokens to the end. @return 0 with *pages (if not NULL) the number of requests,
 * the callback's negative value, or -errno.
 */
int s3_list_objects(struct s3_client *c, const char *bucket, const char *prefix, unsigned max_keys,
		    s3_list_fn fn, void *arg, unsigned *pages);

/** A multipart upload in progress: the parts' ETags, checked as they come. */
struct s3_multipart;

/**
 * Start a multipart upload of object @p key. @return 0 with *mp set, or -errno. @p *mp must end
 * with s3_multipart_complete() or s3_multipart_abort() (which free it when they succeed); an
 * upload that is neither keeps its parts on the server (billed, invisible) until aborted.
 */
int s3_multipart_create(struct s3_client *c, const char *bucket, const char *key,
			struct s3_multipart **mp);

/**
 * Upload part @p part_number (1..10000, in any order; a number sent again replaces the part) of
 * @p len bytes at @p data; every part but the last must be at least S3_PART_MIN_BYTES (the
 * server refuses the completion otherwise). Checks the part's ETag against its MD5.
 * @return 0, -EBADMSG, -ENOENT if the upload was aborted, -EINVAL, or -errno.
 */
int s3_multipart_upload_part(struct s3_client *c, struct s3_multipart *mp, unsigned part_number,
			     const void *data, size_t len);

/**
 * Complete @p mp from its parts in part-number order and check the object's ETag (the MD5 of the
 * parts' MD5s, "-N"). @return 0 (then @p mp is freed), or -errno: @p mp stays valid, to retry
 * the completion, or to abort.
 */
int s3_multipart_complete(struct s3_client *c, struct s3_multipart *mp);

/**
 * Abort @p mp: the server deletes its parts. @return 0 (then @p mp is freed), or -errno: @p mp
 * stays valid, to retry (the upload id can be kept with s3_multipart_id()).
 */
int s3_multipart_abort(struct s3_client *c, struct s3_multipart *mp);

/**
 * A handle of the multipart upload @p upload_id of @p key in @p bucket, found by
 * s3_multipart_list() (no request is made): to abort it. @return 0 with *mp, or -ENOMEM.
 */
int s3_multipart_resume(struct s3_client *c, const char *bucket, const char *key,
			const char *upload_id, struct s3_multipart **mp);

/** Called by s3_multipart_list() for each upload in progress. @return 0 or a negative errno. */
typedef int (*s3_upload_fn)(const char *key, const char *upload_id, void *arg);

/**
 * The multipart uploads in progress (neither completed nor aborted) of keys starting with
 * @p prefix (ListMultipartUploads; the first 1000 only). @return 0, the callback's negative
 * value, or -errno.
 */
int s3_multipart_list(struct s3_client *c, const char *bucket, const char *prefix, s3_upload_fn fn,
		      void *arg);

/** Free @p mp without a request (NULL is fine): its parts stay on the server. */
void s3_multipart_free(struct s3_multipart *mp);

/** The server's upload id of @p mp (lives as long as @p mp). */
const char *s3_multipart_id(const struct s3_multipart *mp);

/**
 * Is @p etag (without quotes) the ETag of a single-part body with MD5 @p md5 (16 bytes)?
 * Case-insensitive hex. Exposed for the tests. Thread-safe.
 */
int s3_etag_matches(const char *etag, const unsigned char md5[16]);

#endif /* EXECD_S3_H */
