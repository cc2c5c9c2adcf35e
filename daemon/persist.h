/* SPDX-License-Identifier: MIT */
/*
 * daemon/persist.h — crash-safe file operations for the state directory. Blocking system calls:
 * call them from the blocking pool (ex_spawn_blocking) or at start, never from a poll.
 */
#ifndef EXECD_PERSIST_H
#define EXECD_PERSIST_H

#include <stddef.h>
#include <sys/types.h>

/**
 * Replace the file "dir/name" by @p len bytes of @p data crash-safely: write `.<name>.tmp`, fsync it,
 * rename it over @p name, fsync @p dir. After a crash the file holds either the old or the new
 * content, never a mix. @return 0 or -errno. Thread-safe for different names.
 */
int persist_write_file(const char *dir, const char *name, const void *data, size_t len);

/**
 * As persist_write_file(), the file with mode @p mode exactly (whatever the umask, also if a
 * stale `.<name>.tmp` exists): 0600 for a file that may hold a secret (docs/daemon.md).
 */
int persist_write_file_mode(const char *dir, const char *name, const void *data, size_t len,
			    mode_t mode);

/**
 * Read the whole file "dir/name" (at most @p max bytes) into a malloc'd NUL-terminated buffer.
 * @return 0 with *out and *len set; -ENOENT; -EFBIG if larger than @p max; -errno. Thread-safe.
 */
int persist_read_file(const char *dir, const char *name, size_t max, char **out, size_t *len);

/** Create directory @p path (mode 0750) if missing, and fsync its parent. @return 0 or -errno. */
int persist_mkdir(const char *path);

/** Create @p path and its missing parents (mode 0750). @return 0 or -errno. */
int persist_mkdir_p(const char *path);

/**
 * Remove the file "dir/name" durably: unlink it and fsync @p dir. @return 0 (also if it did not exist)
 * or -errno.
 */
int persist_unlink(const char *dir, const char *name);

/**
 * Remove the tree @p path (files, directories; symlinks are not followed) and fsync its parent.
 * @return 0 (also if it did not exist) or the first -errno. Thread-safe for different trees.
 */
int persist_remove_tree(const char *path);

/** fsync the directory @p path. @return 0 or -errno. */
int persist_fsync_dir(const char *path);

#endif /* EXECD_PERSIST_H */
