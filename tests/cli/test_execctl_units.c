/* SPDX-License-Identifier: MIT */
/* Unit tests of execctl's pure parts: value parsers (args.c) and output formats (output.c).
 * The integration tests (test-execctl*.py) cover the commands against a real execd. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "client.h"
#include "output.h"

START_TEST(timeout_units)
{
	int64_t ms = -1;

	ck_assert_int_eq(args_parse_timeout("30", &ms), 0);
	ck_assert_int_eq(ms, 30000);
	ck_assert_int_eq(args_parse_timeout("1.5s", &ms), 0);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(args_parse_timeout("500ms", &ms), 0);
	ck_assert_int_eq(ms, 500);
	ck_assert_int_eq(args_parse_timeout("2min", &ms), 0);
	ck_assert_int_eq(ms, 120000);
	ck_assert_int_eq(args_parse_timeout("1h", &ms), 0);
	ck_assert_int_eq(ms, 3600000);
	ck_assert_int_eq(args_parse_timeout("0", &ms), 0);
	ck_assert_int_eq(ms, 0);
	const char *bad[] = { "", "-1", "+1", " 1", "1x", "soon", "1e400", "nan", "25h", "1 s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(args_parse_timeout(bad[i], &ms) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(id_prefixes)
{
	char ok1[] = "A", ok2[] = "0123456789ABCDEF0123456789abcdef", bad1[] = "",
	     bad2[] = "0123456789abcdef0123456789abcdef0", bad3[] = "12g4";

	ck_assert_int_eq(args_check_id_prefix(ok1), 0);
	ck_assert_str_eq(ok1, "a"); /* lowercased: the daemon writes ids in lowercase */
	ck_assert_int_eq(args_check_id_prefix(ok2), 0);
	ck_assert_str_eq(ok2, "0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(args_check_id_prefix(bad1), -EINVAL);
	ck_assert_int_eq(args_check_id_prefix(bad2), -EINVAL);
	ck_assert_int_eq(args_check_id_prefix(bad3), -EINVAL);
}
END_TEST

START_TEST(task_ids_and_lsns)
{
	int64_t id;

	ck_assert_int_eq(args_parse_task_id("0", &id), 0);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(args_parse_task_id("9007199254740992", &id), 0);
	ck_assert_int_eq(args_parse_task_id("9007199254740993", &id), -EINVAL);
	ck_assert_int_eq(args_parse_task_id("-1", &id), -EINVAL);
	ck_assert_int_eq(args_parse_task_id("12a", &id), -EINVAL);
	ck_assert_int_eq(args_parse_task_id("", &id), -EINVAL);

	ck_assert_int_eq(args_check_lsn("0/0"), 0);
	ck_assert_int_eq(args_check_lsn("0/16B3748"), 0);
	ck_assert_int_eq(args_check_lsn("FFFFFFFF/FFFFFFFF"), 0);
	ck_assert_int_eq(args_check_lsn("1FFFFFFFF/0"), -EINVAL);
	ck_assert_int_eq(args_check_lsn("/1"), -EINVAL);
	ck_assert_int_eq(args_check_lsn("1/"), -EINVAL);
	ck_assert_int_eq(args_check_lsn("16B3748"), -EINVAL);
	ck_assert_int_eq(args_check_lsn("0/1/2"), -EINVAL);
	ck_assert_int_eq(args_check_lsn("0/XYZ"), -EINVAL);
}
END_TEST

START_TEST(kinds_and_states)
{
	ck_assert(args_is_task_kind("wal_receiver"));
	ck_assert(args_is_task_kind("control_listener"));
	ck_assert(!args_is_task_kind("wal"));
	ck_assert(args_is_task_state("idle"));
	ck_assert(!args_is_task_state("cancel_requested"));
}
END_TEST

START_TEST(exit_codes)
{
	ck_assert_int_eq(client_exit_code("not_found"), EXECCTL_EXIT_NOT_FOUND);
	ck_assert_int_eq(client_exit_code("permission_denied"), EXECCTL_EXIT_PERMISSION);
	ck_assert_int_eq(client_exit_code("ambiguous"), EXECCTL_EXIT_FAILURE);
	ck_assert_int_eq(client_exit_code("timeout"), EXECCTL_EXIT_FAILURE);
	ck_assert_int_eq(client_exit_code(NULL), EXECCTL_EXIT_FAILURE);
}
END_TEST

START_TEST(durations_and_sizes)
{
	char b[32];

	ck_assert_str_eq(format_ns(b, sizeof(b), 850), "850ns");
	ck_assert_str_eq(format_ns(b, sizeof(b), 12345), "12.3us");
	ck_assert_str_eq(format_ns(b, sizeof(b), 1200000), "1.20ms");
	ck_assert_str_eq(format_ns(b, sizeof(b), 3450000000), "3.45s");
	ck_assert_str_eq(format_ns(b, sizeof(b), -1), "-");
	ck_assert_str_eq(format_ms(b, sizeof(b), 350), "350ms");
	ck_assert_str_eq(format_ms(b, sizeof(b), 5000), "5.00s");
	ck_assert_str_eq(format_ms(b, sizeof(b), 42000), "42.0s");
	ck_assert_str_eq(format_ms(b, sizeof(b), 182000), "3min 2s");
	ck_assert_str_eq(format_ms(b, sizeof(b), 7500000), "2h 5min");
	ck_assert_str_eq(format_ms(b, sizeof(b), 3 * 86400000LL + 4 * 3600000LL), "3d 4h");
	ck_assert_str_eq(format_bytes(b, sizeof(b), 0), "0B");
	ck_assert_str_eq(format_bytes(b, sizeof(b), 1023), "1023B");
	ck_assert_str_eq(format_bytes(b, sizeof(b), 50331648), "48.0M");
	ck_assert_str_eq(format_bytes(b, sizeof(b), 1610612736), "1.5G");
}
END_TEST

START_TEST(short_ids)
{
	cJSON *a = cJSON_Parse("[{\"t\":\"aaaaaaaa11111111\"},{\"t\":\"bbbbbbbb22222222\"},"
			       "{\"t\":null},{\"t\":\"aaaaaaaa11111111\"}]");
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(short_id_len(a, "t", false), 8);
	ck_assert_uint_eq(short_id_len(a, "t", true), 32);
	cJSON_Delete(a);
	/* Two ids sharing 9 characters: grown until they differ. */
	a = cJSON_Parse("[{\"t\":\"aaaaaaaaa1111111111111111111111\"},"
			"{\"t\":\"aaaaaaaaa2222222222222222222222\"}]");
	ck_assert_uint_eq(short_id_len(a, "t", false), 12);
	cJSON_Delete(a);
}
END_TEST

START_TEST(tables)
{
	static const char *const h[] = { "ID", "NAME", "N" };
	struct table *t = table_new(3, h, 1u << 2);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(t);
	const char *r1[] = { "1", "listener", "5" }, *r2[] = { "12", NULL, "1234" };
	ck_assert_int_eq(table_add_row(t, r1), 0);
	ck_assert_int_eq(table_add_row(t, r2), 0);
	for (int i = 0; i < 40; i++) /* beyond the initial capacity */
		ck_assert_int_eq(table_add_row(t, r1), 0);
	ck_assert_uint_eq(table_rows(t), 42);
	table_free(t);

	t = table_new(3, h, 1u << 2);
	ck_assert_int_eq(table_add_row(t, r1), 0);
	ck_assert_int_eq(table_add_row(t, r2), 0);
	table_print(t, f, false);
	table_print(t, f, true);
	fclose(f);
	ck_assert_str_eq(buf, "ID NAME        N\n"
			      "1  listener    5\n"
			      "12 -        1234\n"
			      "1  listener    5\n"
			      "12 -        1234\n");
	free(buf);
	table_free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("execctl");
	TCase *tc = tcase_create("units");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, timeout_units);
	tcase_add_test(tc, id_prefixes);
	tcase_add_test(tc, task_ids_and_lsns);
	tcase_add_test(tc, kinds_and_states);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, durations_and_sizes);
	tcase_add_test(tc, short_ids);
	tcase_add_test(tc, tables);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
