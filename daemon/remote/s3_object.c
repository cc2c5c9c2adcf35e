/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_object.c — buckets and single objects: create and delete a bucket; PUT,
 * GET, HEAD and DELETE an object. A PUT sends Content-MD5 and checks the ETag it gets back; a
 * GET checks what it received against the ETag when that is a plain MD5.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3_int.h"

/* A request without a body: its payload hash is that of the empty string. */
static int empty_request(struct s3_client *c, struct s3_req *r)
{
	unsigned char md5[16];

	r->body_fd = -1;
	r->out_fd = -1;
	return s3_digest_mem(NULL, 0, r->sha256_hex, md5);
}

/* A request with no body whose reply matters only by its status: the bucket calls, DELETE. */
static int status_request(struct s3_client *c, const char *method, const char *bucket,
			  const char *key)
{
	struct s3_req r = { .method = method, .bucket = bucket, .key = key };
	int err = empty_request(c, &r);

	if (!err)
		err = s3_perform(c, &r);
	s3_req_release(&r);
	return err;
}

int s3_bucket_create(struct s3_client *c, const char *bucket)
{
	return status_request(c, "PUT", bucket, NULL);
}

int s3_bucket_delete(struct s3_client *c, const char *bucket)
{
	return status_request(c, "DELETE", bucket, NULL);
}

/* PUT the body described by @r, digested already into @md5, and check the ETag. */
static int put_checked(struct s3_client *c, struct s3_req *r, const unsigned char md5[16])
{
	char md5_b64[25];
	int err;

	s3_md5_base64(md5, md5_b64);
	r->content_md5 = md5_b64;
	r->out_fd = -1;
	err = s3_perform(c, r);
	if (!err && !s3_etag_matches(r->etag, md5))
		err = s3_set_error(c, -EBADMSG, "ETagMismatch",
				   "the ETag returned is not the MD5 of the body sent");
	s3_req_release(r);
	return err;
}

int s3_put_object(struct s3_client *c, const char *bucket, const char *key, const void *data,
		  size_t len)
{
	struct s3_req r = { .method = "PUT", .bucket = bucket, .key = key, .body_fd = -1 };
	unsigned char md5[16];
	int err;

	if (!key || (!data && len))
		return s3_set_error(c, -EINVAL, "", "no key or no data");
	r.body = data ? data : "";
	r.body_len = len;
	err = s3_digest_mem(data, len, r.sha256_hex, md5);
	return err ? err : put_checked(c, &r, md5);
}

int s3_put_object_fd(struct s3_client *c, const char *bucket, const char *key, int fd, off_t off,
		     uint64_t len)
{
	struct s3_req r = { .method = "PUT", .bucket = bucket, .key = key, .body_fd = fd };
	unsigned char md5[16];
	int err;

	if (!key || fd < 0 || off < 0)
		return s3_set_error(c, -EINVAL, "", "no key or bad file range");
	r.body_off = off;
	r.body_len = len;
	err = s3_digest_fd(fd, off, len, r.sha256_hex, md5);
	return err ? s3_set_error(c, err, "", "reading the file failed") : put_checked(c, &r, md5);
}

/* After a GET: all of Content-Length arrived, and it is the body the ETag names. */
static int check_received(struct s3_client *c, struct s3_req *r)
{
	unsigned char md5[16];
	unsigned int n;

	if (r->have_content_length && r->content_length != r->out_bytes)
		return s3_set_error(c, -EBADMSG, "ShortBody", "fewer bytes than Content-Length");
	if (EVP_DigestFinal_ex(r->out_md5, md5, &n) != 1)
		return -EIO;
	/* A multipart object's ETag ("<hex>-<parts>") is no MD5 of the body: nothing to check. */
	if (strlen(r->etag) == 32 && !s3_etag_matches(r->etag, md5))
		return s3_set_error(c, -EBADMSG, "ETagMismatch",
				    "the body received is not the one its ETag names");
	return 0;
}

int s3_get_object(struct s3_client *c, const char *bucket, const char *key, int fd, uint64_t *size)
{
	struct s3_req r = { .method = "GET", .bucket = bucket, .key = key };
	int err;

	if (!key || fd < 0)
		return s3_set_error(c, -EINVAL, "", "no key or no file");
	err = empty_request(c, &r);
	r.out_fd = fd;
	r.out_md5 = EVP_MD_CTX_new();
	if (!err && (!r.out_md5 || EVP_DigestInit_ex(r.out_md5, EVP_md5(), NULL) != 1))
		err = -ENOMEM;
	if (!err)
		err = s3_perform(c, &r);
	if (!err)
		err = check_received(c, &r);
	if (!err && size)
		*size = r.out_bytes;
	EVP_MD_CTX_free(r.out_md5);
	s3_req_release(&r);
	return err;
}

int s3_head_object(struct s3_client *c, const char *bucket, const char *key,
		   struct s3_object_info *info)
{
	struct s3_req r = { .method = "HEAD", .bucket = bucket, .key = key };
	int err;

	if (!key)
		return s3_set_error(c, -EINVAL, "", "no key");
	err = empty_request(c, &r);
	if (!err)
		err = s3_perform(c, &r);
	/* A HEAD has no body to carry an error document: the status says it all. */
	if (!err && !r.have_content_length)
		err = s3_set_error(c, -EBADMSG, "", "no Content-Length in the reply");
	if (!err && info) {
		info->size = r.content_length;
		memcpy(info->etag, r.etag, sizeof(info->etag));
	}
	s3_req_release(&r);
	return err;
}

int s3_delete_object(struct s3_client *c, const char *bucket, const char *key)
{
	if (!key)
		return s3_set_error(c, -EINVAL, "", "no key");
	return status_request(c, "DELETE", bucket, key);
}
