/* SPDX-License-Identifier: MIT */
/* tests/wal/testdir.h — a scratch directory for a Check test of the WAL file code: made under
 * /tmp, opened (the fd the code under test works in), then removed with everything in it. */
#ifndef EXECD_TESTS_WAL_TESTDIR_H
#define EXECD_TESTS_WAL_TESTDIR_H

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct testdir {
	char path[64];
	int fd; /* open on path (O_DIRECTORY) */
};

/* Make /tmp/<prefix>.XXXXXX and open it; fails the test on an error. */
static inline void testdir_make(struct testdir *d, const char *prefix)
{
	snprintf(d->path, sizeof d->path, "/tmp/%s.XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(d->path));
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(d->fd, 0);
}

/* Close it and remove it with its files; fails the test on an error. */
static inline void testdir_remove(struct testdir *d)
{
	char cmd[128];
	close(d->fd);
	snprintf(cmd, sizeof cmd, "rm -rf %.*s", (int)sizeof d->path, d->path);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
