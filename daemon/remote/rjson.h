/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rjson.h — small cJSON helpers shared by the codecs of daemon/remote (the index,
 * the attachment object): typed getters that refuse a wrong type, LSNs as "X/X", ids as 32 hex.
 * Not for use outside daemon/remote/. Thread-safe (no state).
 */
#ifndef EXECD_RJSON_H
#define EXECD_RJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "id.h"

/* adders: true on success */
bool rjson_add_u64(cJSON *o, const char *k, uint64_t v); /* a number; v < 2^53 */
bool rjson_add_lsn(cJSON *o, const char *k, uint64_t lsn);
bool rjson_add_id(cJSON *o, const char *k, const struct execd_id *id);
bool rjson_add_str_or_null(cJSON *o, const char *k, const char *v);

/* getters: 0, or -EBADMSG (absent or wrong type), -ENOMEM */
const char *rjson_str(const cJSON *o, const char *k); /* NULL if absent or not a string */
int rjson_dup_str(const cJSON *o, const char *k, char **out);
int rjson_dup_opt(const cJSON *o, const char *k, char **out); /* absent or null: NULL */
int rjson_copy_str(const cJSON *o, const char *k, char *buf, size_t cap);
int rjson_get_u64(const cJSON *o, const char *k, uint64_t *out);
int rjson_get_lsn(const cJSON *o, const char *k, uint64_t *out);
int rjson_get_id(const cJSON *o, const char *k, struct execd_id *out);
int64_t rjson_ms(const cJSON *o, const char *k); /* 0 if absent */

/** "X/X" as PostgreSQL writes an LSN (no dependency on daemon/wal). */
void rjson_lsn_format(uint64_t lsn, char buf[static 20]);
int rjson_lsn_parse(const char *s, uint64_t *out);

#endif /* EXECD_RJSON_H */
