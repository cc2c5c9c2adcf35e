/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/s3_digest.c — the digests of a body, by libcrypto: SHA-256 for the signed
 * x-amz-content-sha256 header, MD5 for Content-MD5 and for checking the ETag the server returns
 * (a single-part object's ETag is the hex MD5 of its body).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "s3_int.h"

#define DIGEST_CHUNK (256u << 10)

struct digests {
	EVP_MD_CTX *sha;
	EVP_MD_CTX *md5;
};

static int digests_begin(struct digests *d)
{
	d->sha = EVP_MD_CTX_new();
	d->md5 = EVP_MD_CTX_new();
	if (!d->sha || !d->md5 || EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(d->md5, EVP_md5(), NULL) != 1)
		return -ENOMEM;
	return 0;
}

static int digests_update(struct digests *d, const void *p, size_t n)
{
	if (EVP_DigestUpdate(d->sha, p, n) != 1 || EVP_DigestUpdate(d->md5, p, n) != 1)
		return -EIO;
	return 0;
}

static int digests_end(struct digests *d, int err, char sha256_hex[65], unsigned char md5[16])
{
	unsigned char sha[32];
	unsigned int n;

	if (!err && (EVP_DigestFinal_ex(d->sha, sha, &n) != 1 || n != 32 ||
		     EVP_DigestFinal_ex(d->md5, md5, &n) != 1 || n != 16))
		err = -EIO;
	EVP_MD_CTX_free(d->sha);
	EVP_MD_CTX_free(d->md5);
	if (err)
		return err;
	for (int i = 0; i < 32; i++)
		snprintf(sha256_hex + 2 * i, 3, "%02x", sha[i]);
	return 0;
}

int s3_digest_mem(const void *data, size_t len, char sha256_hex[65], unsigned char md5[16])
{
	struct digests d;
	int err = digests_begin(&d);

	if (!err)
		err = digests_update(&d, data ? data : "", len);
	return digests_end(&d, err, sha256_hex, md5);
}

int s3_digest_fd(int fd, off_t off, uint64_t len, char sha256_hex[65], unsigned char md5[16])
{
	static __thread char buf[DIGEST_CHUNK];
	struct digests d;
	int err = digests_begin(&d);

	while (!err && len) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t got = pread(fd, buf, want, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* A file shorter than the range asked for is a caller's error. */
			err = got < 0 ? -errno : -EINVAL;
			break;
		}
		err = digests_update(&d, buf, (size_t)got);
		off += got;
		len -= (uint64_t)got;
	}
	return digests_end(&d, err, sha256_hex, md5);
}

void s3_md5_base64(const unsigned char md5[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, md5, 16);
}

void s3_md5_hex(const unsigned char md5[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md5[i]);
}

int s3_etag_matches(const char *etag, const unsigned char md5[16])
{
	char hex[33];

	s3_md5_hex(md5, hex);
	return strlen(etag) == 32 && strncasecmp(etag, hex, 32) == 0;
}
