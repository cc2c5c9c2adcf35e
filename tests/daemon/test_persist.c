/* SPDX-License-Identifier: MIT */
/* tests/daemon/test_persist.c — crash-safe writes leave the old or the new file, never a temp. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"

static char dir[256];

static void setup(void)
{
	strcpy(dir, "/tmp/execd-test-persist-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	persist_remove_tree(dir);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

START_TEST(write_read_replace)
{
	char *data;
	size_t len;
	ck_assert_int_eq(persist_write_file(dir, "meta.json", "{\"a\":1}", 7), 0);
	ck_assert_int_eq(persist_read_file(dir, "meta.json", 1024, &data, &len), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq(data, "{\"a\":1}");
	free(data);
	ck_assert_int_eq(persist_write_file(dir, "meta.json", "x", 1), 0);
	ck_assert_int_eq(persist_read_file(dir, "meta.json", 1024, &data, &len), 0);
	ck_assert_str_eq(data, "x");
	free(data);
	ck_assert_int_eq(count_entries(dir), 1); /* no temporary file left behind */
	ck_assert_int_eq(persist_read_file(dir, "meta.json", 0, &data, &len), -EFBIG);
	ck_assert_int_eq(persist_read_file(dir, "missing", 10, &data, &len), -ENOENT);
	ck_assert_int_eq(persist_write_file("/nonexistent-dir-xyz", "f", "x", 1), -ENOENT);
}
END_TEST

START_TEST(mkdir_unlink_remove_tree)
{
	char sub[512], deep[600], f[700];
	FILE *fp;
	snprintf(sub, sizeof sub, "%s/a", dir);
	snprintf(deep, sizeof deep, "%s/a/b/c", dir);
	ck_assert_int_eq(persist_mkdir(sub), 0);
	ck_assert_int_eq(persist_mkdir(sub), 0); /* exists: fine */
	ck_assert_int_eq(persist_mkdir_p(deep), 0);
	snprintf(f, sizeof f, "%s/file", deep);
	fp = fopen(f, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("data", fp);
	fclose(fp);
	ck_assert_int_eq(persist_write_file(sub, "m", "1", 1), 0);
	ck_assert_int_eq(persist_unlink(sub, "m"), 0);
	ck_assert_int_eq(persist_unlink(sub, "m"), 0); /* already gone: fine */
	ck_assert_int_eq(persist_remove_tree(sub), 0);
	ck_assert_int_eq(access(sub, F_OK), -1);
	ck_assert_int_eq(count_entries(dir), 0);
	ck_assert_int_eq(persist_remove_tree(sub), 0); /* already gone: fine */
}
END_TEST

/* The mode asked for, exactly: not widened by a stale tmp file of another mode, not narrowed or
 * widened by the umask (timeline.json holds a conninfo: 0600). */
START_TEST(write_mode_exact)
{
	char tmp[300];
	struct stat st;
	mode_t old = umask(0);
	snprintf(tmp, sizeof tmp, "%s/.m.tmp", dir);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(chmod(tmp, 0666), 0);
	ck_assert_int_eq(persist_write_file_mode(dir, "m", "secret", 6, 0600), 0);
	umask(old);
	snprintf(tmp, sizeof tmp, "%s/m", dir);
	ck_assert_int_eq(stat(tmp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	old = umask(077);
	ck_assert_int_eq(persist_write_file(dir, "n", "x", 1), 0);
	umask(old);
	snprintf(tmp, sizeof tmp, "%s/n", dir);
	ck_assert_int_eq(stat(tmp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("persist");
	TCase *tc = tcase_create("persist");
	tcase_set_timeout(tc, 120); /* fsyncs on a loaded disk; Check's default is 4 s */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_read_replace);
	tcase_add_test(tc, mkdir_unlink_remove_tree);
	tcase_add_test(tc, write_mode_exact);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
