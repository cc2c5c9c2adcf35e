/* SPDX-License-Identifier: MIT */
/*
 * daemon/id.h — tenant and timeline ids: 128-bit random numbers written as 32 lowercase hex
 * characters (neon's TenantId/TimelineId form; docs/protocol.md "Identifiers").
 */
#ifndef EXECD_ID_H
#define EXECD_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A tenant or timeline id. The all-zero id is never generated and means "none". */
struct execd_id {
	uint8_t bytes[16];
};

/** Characters of a formatted id, without the terminating NUL. */
#define EXECD_ID_HEX_LEN 32
/** Buffer size for a formatted id, with the NUL. */
#define EXECD_ID_STR_SIZE 33

/**
 * Generate a random non-zero id from getrandom(2).
 * @return 0, or the negative errno of getrandom. Thread-safe; may block only before the kernel's
 * entropy pool is initialised (early boot).
 */
int execd_id_generate(struct execd_id *out);

/** Write @p id as 32 lowercase hex characters and a NUL into @p buf; returns @p buf. Thread-safe. */
char *execd_id_format(const struct execd_id *id, char buf[EXECD_ID_STR_SIZE]);

/**
 * Decode exactly 2 * @p n hex characters (either case) of @p hex into the @p n bytes at @p out
 * (ids here; backup_manifest's checksums and encoded paths in daemon/backup).
 * @return 0, or -EINVAL if @p hex is not 2 * @p n hex characters (@p out may then be partly
 * written). Thread-safe.
 */
int execd_hex_decode(const char *hex, unsigned char *out, size_t n);

/**
 * Parse exactly 32 hex characters (either case) into @p out.
 * @return 0, or -EINVAL if @p s is not 32 hex characters or is all zeros. Thread-safe.
 */
int execd_id_parse(const char *s, struct execd_id *out);

/**
 * True if @p prefix (1..32 hex characters, either case) is a prefix of the formatted @p id.
 * Thread-safe.
 */
bool execd_id_has_prefix(const struct execd_id *id, const char *prefix);

/** True if @p prefix is 1..32 hex characters. Thread-safe. */
bool execd_id_prefix_valid(const char *prefix);

/** True if @p a and @p b are the same id. NULL equals only NULL. */
bool execd_id_eq(const struct execd_id *a, const struct execd_id *b);

/** True if @p id is the all-zero id. */
bool execd_id_is_zero(const struct execd_id *id);

#endif /* EXECD_ID_H */
