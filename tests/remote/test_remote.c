/* SPDX-License-Identifier: MIT */
/*
 * tests/remote/test_remote.c — the parts of daemon/remote that need no server: a tenant's remote
 * configuration (JSON, validation), the credentials file checks (owner, mode, content, never
 * its content in a message), the object keys, and the codecs of the index and attachment
 * objects (round trips, strictness).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rconf.h"
#include "rindex.h"
#include "s3.h"

static char tmpdir[] = "/tmp/test_remote.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static int conf_of(const char *json, struct remote_conf *c, char *why, size_t n)
{
	cJSON *o = cJSON_Parse(json);
	int r;
	ck_assert_ptr_nonnull(o);
	r = remote_conf_from_json(o, c, why, n);
	cJSON_Delete(o);
	return r;
}

START_TEST(conf_json)
{
	struct remote_conf c, d;
	char why[256];
	cJSON *o;
	char *s;

	ck_assert_int_eq(conf_of("{\"endpoint\":\"http://127.0.0.1:7480\",\"bucket\":\"execd-1\","
				 "\"prefix\":\"/a/b/\",\"credentials_file\":\"/x/creds\"}",
				 &c, why, sizeof why),
			 0);
	ck_assert_str_eq(c.region, REMOTE_DEFAULT_REGION);
	ck_assert_str_eq(c.prefix, "a/b");
	ck_assert_int_eq(remote_conf_dup(&c, &d), 0);
	o = cJSON_CreateObject();
	ck_assert_int_eq(remote_conf_to_json(&d, o, "remote"), 0);
	s = cJSON_PrintUnformatted(o);
	ck_assert_ptr_nonnull(strstr(s, "\"prefix\":\"a/b\""));
	ck_assert_ptr_nonnull(strstr(s, "\"region\":\"us-east-1\""));
	free(s);
	cJSON_Delete(o);
	remote_conf_free(&c);
	remote_conf_free(&d);

	ck_assert_int_eq(conf_of("{\"endpoint\":\"ftp://x\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"/c\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "endpoint"));
	ck_assert_int_eq(conf_of("{\"endpoint\":\"http://h\",\"bucket\":\"A_B\","
				 "\"credentials_file\":\"/c\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "bucket"));
	ck_assert_int_eq(conf_of("{\"endpoint\":\"http://h\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"rel\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "credentials_file"));
	ck_assert_int_eq(conf_of("{\"endpoint\":\"http://h\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"/c\",\"secret\":\"x\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "unknown key"));
	ck_assert_int_eq(conf_of("{\"endpoint\":\"http://h\",\"bucket\":\"abc\","
				 "\"prefix\":\"a/../b\",\"credentials_file\":\"/c\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_int_eq(
		conf_of("{\"bucket\":\"abc\",\"credentials_file\":\"/c\"}", &c, why, sizeof why),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "endpoint is required"));
}
END_TEST

/* ca_file: optional, absolute, kept through dup and JSON; absent stays absent (NULL). */
START_TEST(conf_ca_file)
{
	struct remote_conf c, d;
	char why[256];
	cJSON *o;
	char *s;

	ck_assert_int_eq(conf_of("{\"endpoint\":\"https://h\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"/c\",\"ca_file\":\"/etc/ca.pem\"}",
				 &c, why, sizeof why),
			 0);
	ck_assert_int_eq(remote_conf_dup(&c, &d), 0);
	ck_assert_str_eq(d.ca_file, "/etc/ca.pem");
	o = cJSON_CreateObject();
	ck_assert_int_eq(remote_conf_to_json(&d, o, "remote"), 0);
	s = cJSON_PrintUnformatted(o);
	ck_assert_ptr_nonnull(strstr(s, "\"ca_file\":\"/etc/ca.pem\""));
	free(s);
	cJSON_Delete(o);
	remote_conf_free(&c);
	remote_conf_free(&d);
	ck_assert_int_eq(conf_of("{\"endpoint\":\"https://h\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"/c\"}",
				 &c, why, sizeof why),
			 0);
	ck_assert_ptr_null(c.ca_file);
	ck_assert_int_eq(remote_conf_dup(&c, &d), 0);
	ck_assert_ptr_null(d.ca_file);
	remote_conf_free(&c);
	remote_conf_free(&d);
	ck_assert_int_eq(conf_of("{\"endpoint\":\"https://h\",\"bucket\":\"abc\","
				 "\"credentials_file\":\"/c\",\"ca_file\":\"ca.pem\"}",
				 &c, why, sizeof why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "ca_file"));
}
END_TEST

static struct remote_conf conf_with_creds(const char *path)
{
	struct remote_conf c = { .endpoint = "http://127.0.0.1:1",
				 .bucket = "abc",
				 .region = "us-east-1",
				 .prefix = "",
				 .credentials_file = (char *)path };
	return c;
}

START_TEST(creds_checks)
{
	char path[256], why[512];
	struct remote_conf c;
	struct s3_client *cl;
	int err = 0;

	snprintf(path, sizeof path, "%s/creds", tmpdir);
	c = conf_with_creds(path);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, path));

	write_file(path,
		   "[default]\n# keys\naccess_key_id = AKIATESTKEY\n\n"
		   "secret_access_key=SuperSecret123\n",
		   0644);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -EACCES);
	ck_assert_ptr_nonnull(strstr(why, "0644"));
	ck_assert_ptr_null(strstr(why, "SuperSecret123"));
	ck_assert_ptr_null(strstr(why, "AKIATESTKEY"));
	cl = remote_client_new(&c, &err);
	ck_assert_ptr_null(cl);
	ck_assert_int_eq(err, -EACCES);

	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), 0);
	cl = remote_client_new(&c, &err);
	ck_assert_ptr_nonnull(cl);
	s3_client_free(cl);

	write_file(path, "access_key_id = AKIATESTKEY\nSuperSecret123\n", 0600);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "line 2"));
	ck_assert_ptr_null(strstr(why, "SuperSecret123"));
	write_file(path, "access_key_id = AKIATESTKEY\n", 0600);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "lacks"));

	snprintf(path, sizeof path, "%s/link", tmpdir);
	ck_assert_int_eq(symlink("creds", path), 0);
	c = conf_with_creds(path);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "symbolic link"));
	c = conf_with_creds(tmpdir);
	ck_assert_int_eq(remote_conf_check(&c, why, sizeof why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
}
END_TEST

START_TEST(keys)
{
	struct execd_id t, tl;
	struct remote_conf c = { .prefix = "p/q" }, none = { .prefix = "" };
	uint64_t gen;
	char *k;

	ck_assert_int_eq(execd_id_parse("0123456789abcdef0123456789abcdef", &t), 0);
	ck_assert_int_eq(execd_id_parse("fedcba9876543210fedcba9876543210", &tl), 0);
	ck_assert_int_eq(remote_key_attachment(&c, &t, &k), 0);
	ck_assert_str_eq(k, "p/q/tenants/0123456789abcdef0123456789abcdef/attachment.json");
	free(k);
	ck_assert_int_eq(remote_key_index(&none, &t, &tl, 0x2a, &k), 0);
	ck_assert_str_eq(k, "tenants/0123456789abcdef0123456789abcdef/timelines/"
			    "fedcba9876543210fedcba9876543210/index-0000002a.json");
	ck_assert_int_eq(remote_key_index_gen(k, &gen), 0);
	ck_assert_uint_eq(gen, 0x2a);
	free(k);
	ck_assert_int_eq(remote_key_index_gen("a/index-1.json", &gen), -EINVAL);
	ck_assert_int_eq(remote_key_wal(&c, &t, &tl, "000000010000000000000003.zst", &k), 0);
	ck_assert_str_eq(k, "p/q/tenants/0123456789abcdef0123456789abcdef/timelines/"
			    "fedcba9876543210fedcba9876543210/wal/000000010000000000000003.zst");
	free(k);
	ck_assert_int_eq(remote_key_backup(&c, &t, &tl, "b1", "base.tar.zst", &k), 0);
	ck_assert_ptr_nonnull(strstr(k, "/timelines/fedcba9876543210fedcba9876543210/backups/b1/"
					"base.tar.zst"));
	free(k);
	ck_assert_int_eq(remote_key_tenant_prefix(&none, &t, &k), 0);
	ck_assert_str_eq(k, "tenants/0123456789abcdef0123456789abcdef/");
	free(k);
}
END_TEST

static void fill_index(struct remote_index *idx)
{
	struct remote_segment s = { .name = "000000010000000000000004",
				    .object = "000000010000000000000004.zst",
				    .compressed = true,
				    .size = 16u << 20,
				    .stored_bytes = 12345,
				    .etag = "0123456789abcdef0123456789abcdef" };
	struct remote_file obj = { .name = "base.tar.zst",
				   .stored_bytes = 40u << 20,
				   .etag = "abc-3" };
	struct remote_backup b = { .id = "20261206T030000",
				   .start_lsn = 0x3000028,
				   .end_lsn = 0x3000100,
				   .end_time_ms = 1765000000000,
				   .objects = &obj,
				   .n_objects = 1 };
	struct remote_file h = { .name = "00000002.history", .stored_bytes = 42, .etag = "e" };

	memset(idx, 0, sizeof *idx);
	execd_id_parse("0123456789abcdef0123456789abcdef", &idx->tenant);
	execd_id_parse("fedcba9876543210fedcba9876543210", &idx->timeline);
	idx->generation = 3;
	idx->source = strdup("host=h user=u");
	idx->slot = strdup("s1");
	idx->create_slot = true;
	idx->system_id = 7312345678901234567ull;
	idx->pg_timeline = 1;
	idx->segment_bytes = 16u << 20;
	idx->remote_flush_lsn = 0x105000000ull;
	ck_assert_int_eq(remote_index_put_segment(idx, &s), 0);
	s.name = "000000010000000000000003";
	s.object = "000000010000000000000003";
	s.compressed = false;
	ck_assert_int_eq(remote_index_put_segment(idx, &s), 0);
	ck_assert_int_eq(remote_index_put_backup(idx, &b), 0);
	ck_assert_int_eq(remote_index_put_history(idx, &h), 0);
}

START_TEST(index_round_trip)
{
	struct remote_index idx, back, copy;
	char *json, *json2;

	fill_index(&idx);
	ck_assert_str_eq(idx.segments[0].name, "000000010000000000000003"); /* name order */
	ck_assert_int_eq(remote_index_format(&idx, &json), 0);
	ck_assert_int_eq(remote_index_parse(json, strlen(json), &back), 0);
	ck_assert_uint_eq(back.system_id, 7312345678901234567ull);
	ck_assert_uint_eq(back.remote_flush_lsn, 0x105000000ull);
	ck_assert_uint_eq(back.n_segments, 2);
	ck_assert(remote_index_find_segment(&back, "000000010000000000000004")->compressed);
	ck_assert_ptr_null(remote_index_find_segment(&back, "000000010000000000000005"));
	ck_assert_str_eq(remote_index_find_backup(&back, "20261206T030000")->objects[0].etag,
			 "abc-3");
	ck_assert_uint_eq(remote_index_find_history(&back, "00000002.history")->stored_bytes, 42);
	ck_assert_str_eq(back.slot, "s1");
	ck_assert(back.create_slot);
	ck_assert_int_eq(remote_index_dup(&back, &copy), 0);
	ck_assert_int_eq(remote_index_format(&copy, &json2), 0);
	ck_assert_str_eq(json, json2);
	free(json2);
	remote_index_free(&copy);
	remote_index_free(&back);
	ck_assert_ptr_nonnull(strstr(json, "\"system_id\":\"7312345678901234567\""));
	ck_assert_ptr_nonnull(strstr(json, "\"remote_flush_lsn\":\"1/5000000\""));
	free(json);
	remote_index_free(&idx);

	ck_assert_int_eq(remote_index_parse("{\"version\":2}", 13, &back), -EBADMSG);
	ck_assert_int_eq(remote_index_parse("[", 1, &back), -EBADMSG);
}
END_TEST

START_TEST(index_strict)
{
	struct remote_index idx, back;
	char *json, *p;

	fill_index(&idx);
	ck_assert_int_eq(remote_index_format(&idx, &json), 0);
	remote_index_free(&idx);
	p = strstr(json, "\"compression\":\"zstd\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 15, "lz4\" ", 5); /* an unknown compression */
	ck_assert_int_eq(remote_index_parse(json, strlen(json), &back), -EBADMSG);
	free(json);
}
END_TEST

START_TEST(attachment_round_trip)
{
	struct remote_attachment a = { .generation = 7, .attached = true, .at_ms = 12 }, b;
	char *json;

	strcpy(a.node, "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(remote_attachment_format(&a, &json), 0);
	ck_assert_int_eq(remote_attachment_parse(json, strlen(json), &b), 0);
	ck_assert_uint_eq(b.generation, 7);
	ck_assert(b.attached);
	ck_assert_str_eq(b.node, a.node);
	free(json);
	ck_assert_int_eq(remote_attachment_parse("{\"version\":1}", 13, &b), -EBADMSG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("unit");
	SRunner *sr;
	int failed;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, conf_json);
	tcase_add_test(tc, conf_ca_file);
	tcase_add_test(tc, creds_checks);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, index_round_trip);
	tcase_add_test(tc, index_strict);
	tcase_add_test(tc, attachment_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			failed++;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
