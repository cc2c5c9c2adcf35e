/* SPDX-License-Identifier: MIT */
/*
 * tests/remote/test_s3.c — the S3 client of daemon/remote. The "unit" case needs no server.
 * The "radosgw" case runs against the server named by RADOSGW_ENDPOINT, RADOSGW_REGION,
 * RADOSGW_ACCESS_KEY and RADOSGW_SECRET_KEY (test-s3-radosgw.sh starts Ceph's radosgw with
 * tests/common/radosgw.sh and sets them); without them it is left out.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "s3.h"
#include "s3_int.h"

static struct s3_config server_config(void)
{
	struct s3_config cfg = {
		.endpoint = getenv("RADOSGW_ENDPOINT"),
		.region = getenv("RADOSGW_REGION"),
		.access_key = getenv("RADOSGW_ACCESS_KEY"),
		.secret_key = getenv("RADOSGW_SECRET_KEY"),
	};
	return cfg;
}

static struct s3_client *client(void)
{
	struct s3_config cfg = server_config();
	struct s3_client *c = s3_client_new(&cfg);

	ck_assert_ptr_nonnull(c);
	return c;
}

/* A bucket of the test's own; each test runs in a process of its own (Check's fork mode). */
static const char *new_bucket(struct s3_client *c, const char *what)
{
	static char name[64];

	snprintf(name, sizeof(name), "execd-%s-%d", what, (int)getpid());
	ck_assert_int_eq(s3_bucket_create(c, name), 0);
	return name;
}

/* Deterministic, not compressible-looking bytes: part boundaries and offsets show. */
static unsigned char *pattern(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len);
	uint32_t x = seed * 2654435761u + 1;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* GET @key into a memfd and compare it with @want. */
static void assert_object(struct s3_client *c, const char *bucket, const char *key,
			  const void *want, size_t len)
{
	int fd = memfd_create("s3get", 0);
	uint64_t got = 0;
	void *m;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(s3_get_object(c, bucket, key, fd, &got), 0);
	ck_assert_uint_eq(got, len);
	if (len) {
		m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		ck_assert_ptr_ne(m, MAP_FAILED);
		ck_assert_int_eq(memcmp(m, want, len), 0);
		munmap(m, len);
	}
	close(fd);
}

START_TEST(etag_match)
{
	unsigned char md5[16];
	char sha[65];

	ck_assert_int_eq(s3_digest_mem("hello\n", 6, sha, md5), 0);
	ck_assert_str_eq(sha, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	ck_assert(s3_etag_matches("b1946ac92492d2347c6235b4d2611184", md5));
	ck_assert(s3_etag_matches("B1946AC92492D2347C6235B4D2611184", md5));
	ck_assert(!s3_etag_matches("b1946ac92492d2347c6235b4d2611185", md5));
	ck_assert(!s3_etag_matches("b1946ac92492d2347c6235b4d2611184-2", md5));
	ck_assert(!s3_etag_matches("", md5));
}
END_TEST

START_TEST(config_rejected)
{
	struct s3_config cfg = { .endpoint = "http://127.0.0.1:1",
				 .region = "us-east-1",
				 .access_key = "a",
				 .secret_key = "s" };
	const char *bad[] = { "127.0.0.1:80", "ftp://h", "http://", "http://h/path", "http://u@h" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.endpoint = bad[i];
		errno = 0;
		ck_assert_ptr_null(s3_client_new(&cfg));
		ck_assert_int_eq(errno, EINVAL);
	}
	cfg.endpoint = "http://127.0.0.1:1";
	cfg.region = "a:b";
	ck_assert_ptr_null(s3_client_new(&cfg));
}
END_TEST

/* Nothing listens on port 1 of the loopback: a transport error, no S3 code. */
START_TEST(connection_refused)
{
	struct s3_config cfg = { .endpoint = "http://127.0.0.1:1",
				 .region = "us-east-1",
				 .access_key = "a",
				 .secret_key = "s" };
	struct s3_client *c = s3_client_new(&cfg);
	long status = -1;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(s3_put_object(c, "b", "k", "x", 1), -ECONNREFUSED);
	ck_assert_str_eq(s3_client_error(c, &status), "");
	ck_assert_int_eq(status, 0);
	s3_client_free(c);
}
END_TEST

START_TEST(object_ops)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "obj");
	const char *key = "dir/a b+\xc3\xbc&=?.bin"; /* escaping of path segments */
	size_t len = 300000;
	unsigned char *data = pattern(len, 1);
	unsigned char md5[16];
	struct s3_object_info info;
	char sha[65];

	ck_assert_int_eq(s3_put_object(c, b, key, data, len), 0);
	ck_assert_int_eq(s3_head_object(c, b, key, &info), 0);
	ck_assert_uint_eq(info.size, len);
	s3_digest_mem(data, len, sha, md5);
	ck_assert(s3_etag_matches(info.etag, md5));
	assert_object(c, b, key, data, len);
	ck_assert_int_eq(s3_put_object(c, b, "empty", NULL, 0), 0);
	assert_object(c, b, "empty", "", 0);

	ck_assert_int_eq(s3_bucket_delete(c, b), -ENOTEMPTY);
	ck_assert_int_eq(s3_delete_object(c, b, key), 0);
	ck_assert_int_eq(s3_delete_object(c, b, "empty"), 0);
	ck_assert_int_eq(s3_head_object(c, b, key, &info), -ENOENT);
	int fd = memfd_create("s3get", 0);
	ck_assert_int_eq(s3_get_object(c, b, key, fd, NULL), -ENOENT);
	ck_assert_str_eq(s3_client_error(c, NULL), "NoSuchKey");
	ck_assert_int_eq(lseek(fd, 0, SEEK_END), 0); /* the error's XML is not the object */
	close(fd);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	ck_assert_int_eq(s3_head_object(c, b, key, &info), -ENOENT);
	free(data);
	s3_client_free(c);
}
END_TEST

/* A range of a file, read with pread: the body is exactly that range. */
START_TEST(put_from_file)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "fd");
	size_t len = 1 << 20;
	unsigned char *data = pattern(len, 2);
	int fd = memfd_create("s3put", 0);

	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(s3_put_object_fd(c, b, "range", fd, 4096, 500000), 0);
	assert_object(c, b, "range", data + 4096, 500000);
	/* A range beyond the end of the file is refused before anything is sent. */
	ck_assert_int_eq(s3_put_object_fd(c, b, "past", fd, len - 10, 20), -EINVAL);
	ck_assert_int_eq(s3_head_object(c, b, "past", NULL), -ENOENT);
	ck_assert_int_eq(s3_delete_object(c, b, "range"), 0);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	close(fd);
	free(data);
	s3_client_free(c);
}
END_TEST

struct seen {
	char keys[16][32];
	unsigned n;
};

static int collect(const char *key, const struct s3_object_info *info, void *arg)
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->n, 16);
	ck_assert_uint_eq(info->size, strlen(key));
	ck_assert_uint_eq(strlen(info->etag), 32);
	snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
	return 0;
}

static int stop_at_third(const char *key, const struct s3_object_info *info, void *arg)
{
	return ++*(unsigned *)arg == 3 ? -ECANCELED : 0;
}

START_TEST(list_continuation)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "list");
	struct seen s = { .n = 0 };
	unsigned pages = 0, calls = 0;
	char key[32];

	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "wal/seg-%02d", i);
		ck_assert_int_eq(s3_put_object(c, b, key, key, strlen(key)), 0);
	}
	ck_assert_int_eq(s3_put_object(c, b, "other", "other", 5), 0);
	ck_assert_int_eq(s3_list_objects(c, b, "wal/", 2, collect, &s, &pages), 0);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_uint_eq(pages, 4); /* 2 + 2 + 2 + 1, three continuations */
	for (unsigned i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "wal/seg-%02u", i);
		ck_assert_str_eq(s.keys[i], key);
	}
	s.n = 0;
	ck_assert_int_eq(s3_list_objects(c, b, NULL, 0, collect, &s, &pages), 0);
	ck_assert_uint_eq(s.n, 8);
	ck_assert_uint_eq(pages, 1);
	ck_assert_int_eq(s3_list_objects(c, b, "wal/", 2, stop_at_third, &calls, NULL), -ECANCELED);
	ck_assert_uint_eq(calls, 3);
	ck_assert_int_eq(s3_list_objects(c, b, "wal/", 1001, collect, &s, NULL), -EINVAL);
	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "wal/seg-%02d", i);
		ck_assert_int_eq(s3_delete_object(c, b, key), 0);
	}
	ck_assert_int_eq(s3_delete_object(c, b, "other"), 0);
	s.n = 0;
	ck_assert_int_eq(s3_list_objects(c, b, "", 2, collect, &s, &pages), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	s3_client_free(c);
}
END_TEST

/* 11 MiB in three parts sent out of order: 5 MiB, 5 MiB, 1 MiB. */
START_TEST(multipart_upload)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "mp");
	size_t part = S3_PART_MIN_BYTES, len = 2 * part + (1 << 20);
	unsigned char *data = pattern(len, 3);
	struct s3_multipart *mp;
	struct s3_object_info info;

	ck_assert_int_eq(s3_multipart_create(c, b, "base/backup.tar", &mp), 0);
	ck_assert_str_ne(s3_multipart_id(mp), "");
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 2, data + part, part), 0);
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 1, data, part), 0);
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 3, data + 2 * part, len - 2 * part), 0);
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 0, data, 1), -EINVAL);
	ck_assert_msg(s3_multipart_complete(c, mp) == 0, "complete: %s", s3_client_error(c, NULL));
	ck_assert_int_eq(s3_head_object(c, b, "base/backup.tar", &info), 0);
	ck_assert_uint_eq(info.size, len);
	ck_assert_str_eq(info.etag + strlen(info.etag) - 2, "-3");
	assert_object(c, b, "base/backup.tar", data, len);
	ck_assert_int_eq(s3_delete_object(c, b, "base/backup.tar"), 0);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	free(data);
	s3_client_free(c);
}
END_TEST

/* Parts below the minimum: the completion is refused, the upload stays valid and is aborted. */
START_TEST(multipart_abort)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "abort");
	unsigned char *data = pattern(S3_PART_MIN_BYTES + 4096, 4);
	struct s3_multipart *mp;

	ck_assert_int_eq(s3_multipart_create(c, b, "partial", &mp), 0);
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 1, data, 4096), 0);
	ck_assert_int_eq(s3_multipart_upload_part(c, mp, 2, data + 4096, S3_PART_MIN_BYTES), 0);
	ck_assert_int_eq(s3_multipart_complete(c, mp), -EINVAL);
	ck_assert_str_eq(s3_client_error(c, NULL), "EntityTooSmall");
	ck_assert_int_eq(s3_multipart_abort(c, mp), 0);
	ck_assert_int_eq(s3_head_object(c, b, "partial", NULL), -ENOENT);
	/* An aborted upload is gone: the bucket is empty (its parts too, or the delete refuses). */
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	free(data);
	s3_client_free(c);
}
END_TEST

START_TEST(bad_credentials)
{
	struct s3_config cfg = server_config();
	struct s3_client *good = client(), *c;
	const char *b = new_bucket(good, "creds");

	cfg.secret_key = "not-the-secret";
	c = s3_client_new(&cfg);
	ck_assert_int_eq(s3_put_object(c, b, "k", "x", 1), -EACCES);
	ck_assert_str_eq(s3_client_error(c, NULL), "SignatureDoesNotMatch");
	s3_client_free(c);
	cfg = server_config();
	cfg.access_key = "NOSUCHACCESSKEY00000";
	c = s3_client_new(&cfg);
	ck_assert_int_eq(s3_head_object(c, b, "k", NULL), -EACCES);
	ck_assert_int_eq(s3_list_objects(c, b, "", 0, collect, NULL, NULL), -EACCES);
	ck_assert_str_eq(s3_client_error(c, NULL), "InvalidAccessKeyId");
	s3_client_free(c);
	ck_assert_int_eq(s3_head_object(good, b, "k", NULL), -ENOENT);
	ck_assert_int_eq(s3_bucket_delete(good, b), 0);
	s3_client_free(good);
}
END_TEST

/* https with the gateway's own CA: works; without it (the system's CAs), the certificate is
 * refused before anything is sent. */
START_TEST(tls_ca_file)
{
	struct s3_config cfg = server_config();
	struct s3_client *c, *bare;
	const char *b;
	struct s3_object_info info;

	cfg.endpoint = getenv("RADOSGW_TLS_ENDPOINT");
	cfg.ca_file = getenv("RADOSGW_CA_FILE");
	c = s3_client_new(&cfg);
	ck_assert_ptr_nonnull(c);
	b = new_bucket(c, "tls");
	ck_assert_int_eq(s3_put_object(c, b, "k", "over tls", 8), 0);
	ck_assert_int_eq(s3_head_object(c, b, "k", &info), 0);
	ck_assert_uint_eq(info.size, 8);
	cfg.ca_file = NULL;
	bare = s3_client_new(&cfg);
	ck_assert_ptr_nonnull(bare);
	ck_assert_int_eq(s3_head_object(bare, b, "k", NULL), -EIO);
	ck_assert_str_eq(s3_client_error(bare, NULL), "");
	s3_client_free(bare);
	ck_assert_int_eq(s3_delete_object(c, b, "k"), 0);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	s3_client_free(c);
}
END_TEST

/* A Content-MD5 that is not the body's (a body corrupted on the way): the server refuses it. */
START_TEST(bad_digest)
{
	struct s3_client *c = client();
	const char *b = new_bucket(c, "digest");
	struct s3_req r = { .method = "PUT",
			    .bucket = b,
			    .key = "k",
			    .body = "body",
			    .body_len = 4,
			    .body_fd = -1,
			    .out_fd = -1 };
	unsigned char md5[16], other[16];
	char md5_b64[25], sha[65];

	ck_assert_int_eq(s3_digest_mem("body", 4, r.sha256_hex, md5), 0);
	ck_assert_int_eq(s3_digest_mem("bodY", 4, sha, other), 0);
	s3_md5_base64(other, md5_b64);
	r.content_md5 = md5_b64;
	ck_assert_int_eq(s3_perform(c, &r), -EBADMSG);
	ck_assert_str_eq(s3_client_error(c, NULL), "BadDigest");
	s3_req_release(&r);
	ck_assert_int_eq(s3_head_object(c, b, "k", NULL), -ENOENT);
	ck_assert_int_eq(s3_bucket_delete(c, b), 0);
	s3_client_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s3");
	TCase *unit = tcase_create("unit");
	int failed;

	tcase_add_test(unit, etag_match);
	tcase_add_test(unit, config_rejected);
	tcase_add_test(unit, connection_refused);
	suite_add_tcase(s, unit);
	if (getenv("RADOSGW_ENDPOINT")) {
		TCase *tc = tcase_create("radosgw");

		/* Generous: a slow machine makes the test slow, never wrong. */
		tcase_set_timeout(tc, 300);
		tcase_add_test(tc, object_ops);
		tcase_add_test(tc, put_from_file);
		tcase_add_test(tc, list_continuation);
		tcase_add_test(tc, multipart_upload);
		tcase_add_test(tc, multipart_abort);
		tcase_add_test(tc, bad_credentials);
		tcase_add_test(tc, bad_digest);
		if (getenv("RADOSGW_TLS_ENDPOINT"))
			tcase_add_test(tc, tls_ca_file);
		suite_add_tcase(s, tc);
	} else {
		printf("test_s3: RADOSGW_ENDPOINT not set: the radosgw cases are left out\n");
	}
	if (s3_global_init() < 0) {
		fprintf(stderr, "test_s3: s3_global_init failed\n");
		return 1;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
