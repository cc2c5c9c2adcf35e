/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_int.h — the parts of the S3 client (s3.h) shared by its files: the client,
 * one request (s3_request.c performs it through libcurl), digests (s3_digest.c) and the XML
 * helpers (s3_xml.c). Not for use outside daemon/remote.
 */
#ifndef EXECD_S3_INT_H
#define EXECD_S3_INT_H

#include <curl/curl.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "s3.h"

struct s3_client {
	CURL *curl; /* kept between requests: its connection is reused */
	char *endpoint;
	char *access_key;
	char *secret_key;
	char *ca_file;  /* NULL: the system's CAs */
	char sigv4[96]; /* "aws:amz:<region>:s3" for CURLOPT_AWS_SIGV4 */
	long connect_timeout_ms;
	long stall_timeout_s;
	long http_status; /* of the last request, 0 without a reply */
	char err_code[64];
	char err_msg[256];
};

/** A response body kept in memory (XML replies, error documents). */
struct s3_buf {
	char *data;
	size_t len;
	size_t cap;
};

/** One S3 request and what came back. Zero it, then fill in what applies. */
struct s3_req {
	const char *method; /* GET, PUT, POST, DELETE, HEAD */
	const char *bucket;
	const char *key;   /* NULL for a request on the bucket */
	const char *query; /* canonical: names sorted, values escaped; NULL for none */
	/* The body: @body/@body_len in memory, or @body_len bytes of @body_fd from @body_off. */
	const void *body;
	int body_fd; /* -1 (or 0 with @body set): the body is in memory */
	off_t body_off;
	uint64_t body_len;
	uint64_t body_pos;       /* how much of it curl has read */
	char sha256_hex[65];     /* of the body: x-amz-content-sha256 */
	const char *content_md5; /* base64 MD5 of the body for Content-MD5, or NULL */
	const char *content_type;
	/* The response body goes to @out_fd (>= 0) when the status is 2xx, else to @resp. */
	int out_fd;
	uint64_t out_bytes;
	EVP_MD_CTX *out_md5; /* MD5 of what went to @out_fd, if not NULL */
	int out_errno;       /* a failed write(2)'s errno, or EFBIG if @resp grew too large */
	struct s3_buf resp;
	char etag[80]; /* the response's ETag header, without quotes */
	uint64_t content_length;
	int have_content_length;
};

/**
 * Perform @p r on @p c: path-style URL, SigV4 by libcurl. On a non-2xx status, @p c's error code
 * and message are taken from the reply's XML. @return 0 (2xx) or -errno (s3.h). Free @p r's
 * response with s3_req_release() in either case.
 */
int s3_perform(struct s3_client *c, struct s3_req *r);

/** Free what s3_perform() allocated in @p r. */
void s3_req_release(struct s3_req *r);

/** Record a local error (code as S3 would name it) in @p c; @return @p err. */
int s3_set_error(struct s3_client *c, int err, const char *code, const char *msg);

/** The errno for HTTP @p status with S3 error @p code ("" if none). */
int s3_errno_of(long status, const char *code);

/** @p s escaped for a URL (RFC 3986 unreserved kept; '/' kept if @p keep_slash). malloc'd. */
char *s3_escape(struct s3_client *c, const char *s, int keep_slash);

/* s3_digest.c: SHA-256 (hex) and MD5 (raw) of a body in memory or in a file range. */
int s3_digest_mem(const void *data, size_t len, char sha256_hex[65], unsigned char md5[16]);
int s3_digest_fd(int fd, off_t off, uint64_t len, char sha256_hex[65], unsigned char md5[16]);
/** Base64 of an MD5 for Content-MD5 (24 characters and a NUL). */
void s3_md5_base64(const unsigned char md5[16], char out[25]);
/** Hex of an MD5 (32 characters and a NUL). */
void s3_md5_hex(const unsigned char md5[16], char out[33]);

/* s3_xml.c: libxml2 on a reply; elements matched by local name, namespaces ignored. */
xmlDocPtr s3_xml_parse(const struct s3_buf *b);
xmlNodePtr s3_xml_child(xmlNodePtr parent, const char *name);
/** The text of child @p name of @p parent, malloc'd (xmlFree), or NULL if absent. */
char *s3_xml_child_text(xmlNodePtr parent, const char *name);
/** Copy the text of child @p name into @p out. @return 0, -ENOENT, -E2BIG. */
int s3_xml_child_copy(xmlNodePtr parent, const char *name, char *out, size_t cap);
/** Read an <Error> document in @p b into @p c's code and message (if it is one). */
void s3_xml_error(struct s3_client *c, const struct s3_buf *b);

#endif /* EXECD_S3_INT_H */
