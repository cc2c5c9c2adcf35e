/* SPDX-License-Identifier: MIT */
/* tests/daemon/test_id.c — tenant/timeline ids: random, 32 hex, parse, prefix match. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"

START_TEST(generate_format_parse)
{
	struct execd_id a, b, c;
	char s[EXECD_ID_STR_SIZE];
	ck_assert_int_eq(execd_id_generate(&a), 0);
	ck_assert_int_eq(execd_id_generate(&b), 0);
	ck_assert(!execd_id_eq(&a, &b)); /* 2^-128 chance of a false failure */
	ck_assert(!execd_id_is_zero(&a));
	execd_id_format(&a, s);
	ck_assert_uint_eq(strlen(s), 32);
	for (int i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", s[i]));
	ck_assert_int_eq(execd_id_parse(s, &c), 0);
	ck_assert(execd_id_eq(&a, &c));
	/* upper case is accepted */
	for (int i = 0; i < 32; i++)
		if (s[i] >= 'a')
			s[i] = (char)(s[i] - 'a' + 'A');
	ck_assert_int_eq(execd_id_parse(s, &c), 0);
	ck_assert(execd_id_eq(&a, &c));
}
END_TEST

START_TEST(parse_rejects)
{
	struct execd_id id;
	ck_assert_int_eq(execd_id_parse("", &id), -EINVAL);
	ck_assert_int_eq(execd_id_parse("abc", &id), -EINVAL);
	ck_assert_int_eq(execd_id_parse("0123456789abcdef0123456789abcdeg", &id), -EINVAL);
	ck_assert_int_eq(execd_id_parse("0123456789abcdef0123456789abcdef0", &id), -EINVAL);
	ck_assert_int_eq(execd_id_parse("00000000000000000000000000000000", &id), -EINVAL);
	ck_assert_int_eq(execd_id_parse(NULL, &id), -EINVAL);
}
END_TEST

START_TEST(prefix)
{
	struct execd_id id;
	ck_assert_int_eq(execd_id_parse("ab12cd34ef56ab12cd34ef56ab12cd34", &id), 0);
	ck_assert(execd_id_has_prefix(&id, "a"));
	ck_assert(execd_id_has_prefix(&id, "AB12"));
	ck_assert(execd_id_has_prefix(&id, "ab12cd34ef56ab12cd34ef56ab12cd34"));
	ck_assert(!execd_id_has_prefix(&id, "ab13"));
	ck_assert(!execd_id_has_prefix(&id, ""));
	ck_assert(!execd_id_has_prefix(&id, "ab12cd34ef56ab12cd34ef56ab12cd340"));
	ck_assert(!execd_id_has_prefix(&id, "zz"));
	ck_assert(!execd_id_prefix_valid("x"));
	ck_assert(execd_id_prefix_valid("F"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("id");
	TCase *tc = tcase_create("id");
	tcase_add_test(tc, generate_format_parse);
	tcase_add_test(tc, parse_rejects);
	tcase_add_test(tc, prefix);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
