/* SPDX-License-Identifier: MIT */
/* execctl restore: extracting a backup and writing the recovery settings (restore_extract.c). */
#ifndef EXECD_CLI_RESTORE_H
#define EXECD_CLI_RESTORE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Extract the zstd-compressed tar stream readable on @p fd into directory @p dir (which
 * exists). Entries may not leave @p dir (no "..", no absolute paths, no symlinks followed).
 * @return 0 with *files (entries written), or -errno with @p err (libarchive's message).
 */
int restore_extract(int fd, const char *dir, uint64_t *files, char *err, size_t errlen);

/** Copy what @p fd holds into a new file @p dir/@p name (mode 0600). @return 0 or -errno. */
int restore_copy_file(int fd, const char *dir, const char *name);

/** What restore_write_settings() writes. */
struct restore_settings {
	const char *backup_id, *timeline;
	const char *restore_command; /* a shell command with %f and %p */
	const char *target_lsn;      /* X/X, or NULL */
	const char *target_time;     /* a timestamp PostgreSQL parses, or NULL */
};

/**
 * Create @p dir/recovery.signal and append the recovery settings to postgresql.auto.conf
 * (restore_command, the target, recovery_target_action = 'promote' with a target).
 * @return 0 or -errno.
 */
int restore_write_settings(const char *dir, const struct restore_settings *s);

#endif /* EXECD_CLI_RESTORE_H */
