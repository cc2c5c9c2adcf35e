/* SPDX-License-Identifier: MIT */
/*
 * tests/wal/test_conninfo.c — a timeline's conninfo and slot name (daemon/wal/conninfo.h):
 * slot names as PostgreSQL takes them; every option libpq marks secret is left out of what is
 * shown, whatever libpq's list (taken from PQconndefaults here, not written down); a secret in a
 * message is replaced; messages fold onto one line (daemon/log.h).
 */
#include <check.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"
#include "log.h"

START_TEST(slot_names)
{
	char longest[SLOT_NAME_MAX + 2];
	memset(longest, 'a', SLOT_NAME_MAX);
	longest[SLOT_NAME_MAX] = '\0';
	ck_assert(slot_name_valid("execd_1"));
	ck_assert(slot_name_valid("physical"));
	ck_assert(slot_name_valid(longest));
	longest[SLOT_NAME_MAX] = 'a';
	longest[SLOT_NAME_MAX + 1] = '\0';
	ck_assert(!slot_name_valid(longest)); /* 64 bytes */
	ck_assert(!slot_name_valid(""));
	ck_assert(!slot_name_valid(NULL));
	ck_assert(!slot_name_valid("a\" x"));
	ck_assert(!slot_name_valid("Upper"));
	ck_assert(!slot_name_valid("a-b"));
	ck_assert(!slot_name_valid("a b"));
	ck_assert(!slot_name_valid("\xc3\xa9t\xc3\xa9"));
}
END_TEST

START_TEST(check_parses_as_libpq)
{
	ck_assert_int_eq(conninfo_check("host=/tmp port=5432 user=u"), 0);
	ck_assert_int_eq(conninfo_check("postgresql://u:pw@h:5/db?sslmode=disable"), 0);
	ck_assert_int_eq(conninfo_check(""), 0);
	ck_assert_int_lt(conninfo_check("nosuchkeyword=1"), 0);
	ck_assert_int_lt(conninfo_check("host='unterminated"), 0);
	ck_assert_int_lt(conninfo_check("postgresql://u:se%zzcret@h/db"), 0);
}
END_TEST

/* Every option libpq itself marks secret (dispchar "*"), each given a value: none is shown;
 * the options that are not secret are. */
START_TEST(redact_follows_libpq)
{
	PQconninfoOption *defs = PQconndefaults();
	char conninfo[4096] = "host=db1 user=replicator", val[64], *shown = NULL;
	int secrets = 0;
	ck_assert_ptr_nonnull(defs);
	for (PQconninfoOption *o = defs; o->keyword; o++)
		if (o->dispchar && o->dispchar[0] == '*') {
			snprintf(val, sizeof val, " %s='v4lue of %s'", o->keyword, o->keyword);
			strcat(conninfo, val);
			secrets++;
		}
	ck_assert_int_ge(secrets, 2); /* password, sslpassword at least (libpq 13+) */
	ck_assert_int_eq(conninfo_redact(conninfo, &shown), 0);
	ck_assert_ptr_null(strstr(shown, "v4lue"));
	ck_assert_ptr_null(strstr(shown, "password"));
	ck_assert_ptr_nonnull(strstr(shown, "host='db1'"));
	ck_assert_ptr_nonnull(strstr(shown, "user='replicator'"));
	free(shown);
	PQconninfoFree(defs);
	/* a URI: its password too; quotes in values are escaped */
	ck_assert_int_eq(conninfo_redact("postgresql://u:pw_uri@h/db?application_name=a'b", &shown),
			 0);
	ck_assert_ptr_null(strstr(shown, "pw_uri"));
	ck_assert_ptr_nonnull(strstr(shown, "application_name='a\\'b'"));
	free(shown);
	ck_assert_int_eq(conninfo_redact("nosuchkeyword=1", &shown), -EINVAL);
}
END_TEST

START_TEST(scrub_replaces_secrets)
{
	const char *ci = "host=h password=hunter2 sslpassword=k3y";
	char msg[64] = "auth hunter2 failed; key k3y; hunter2";
	conninfo_scrub(ci, msg, sizeof msg);
	ck_assert_str_eq(msg, "auth ******** failed; key ********; ********");
	/* growing past the buffer: cut, still terminated, no secret left */
	char small[12] = "ab hunter2";
	conninfo_scrub(ci, small, sizeof small);
	ck_assert_str_eq(small, "ab ********");
	char tiny[8] = "hunter2";
	conninfo_scrub(ci, tiny, sizeof tiny);
	ck_assert_str_eq(tiny, "*******");
	/* nothing secret, or an unparsable conninfo: unchanged */
	char same[32] = "host h unreachable";
	conninfo_scrub("host=h", same, sizeof same);
	ck_assert_str_eq(same, "host h unreachable");
	conninfo_scrub("nosuchkeyword=h", same, sizeof same);
	ck_assert_str_eq(same, "host h unreachable");
}
END_TEST

START_TEST(one_line)
{
	char m1[] = "connection to server on socket \"/x\" failed: No such file or directory\n"
		    "\tIs the server running locally?\n";
	char m2[] = "\n\n", m3[] = "a\r\nb \n", m4[] = "plain";
	execd_log_one_line(m1);
	ck_assert_str_eq(m1, "connection to server on socket \"/x\" failed: No such file or "
			     "directory Is the server running locally?");
	execd_log_one_line(m2);
	ck_assert_str_eq(m2, "");
	execd_log_one_line(m3);
	ck_assert_str_eq(m3, "a b");
	execd_log_one_line(m4);
	ck_assert_str_eq(m4, "plain");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conninfo");
	TCase *tc = tcase_create("conninfo");
	tcase_add_test(tc, slot_names);
	tcase_add_test(tc, check_parses_as_libpq);
	tcase_add_test(tc, redact_follows_libpq);
	tcase_add_test(tc, scrub_replaces_secrets);
	tcase_add_test(tc, one_line);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
