/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rjson.c — cJSON helpers of daemon/remote (rjson.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rjson.h"

#define JSON_INT_MAX 9007199254740992.0 /* 2^53: exact in a double */

void rjson_lsn_format(uint64_t lsn, char buf[static 20])
{
	snprintf(buf, 20, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

static int hex_half(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	if (n < 1 || n > 8)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

int rjson_lsn_parse(const char *s, uint64_t *out)
{
	const char *slash = strchr(s, '/');
	uint32_t hi, lo;
	if (!slash || hex_half(s, (size_t)(slash - s), &hi) < 0 ||
	    hex_half(slash + 1, strlen(slash + 1), &lo) < 0)
		return -EINVAL;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

bool rjson_add_u64(cJSON *o, const char *k, uint64_t v)
{
	return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
}

bool rjson_add_lsn(cJSON *o, const char *k, uint64_t lsn)
{
	char buf[20];
	rjson_lsn_format(lsn, buf);
	return cJSON_AddStringToObject(o, k, buf) != NULL;
}

bool rjson_add_id(cJSON *o, const char *k, const struct execd_id *id)
{
	char buf[EXECD_ID_STR_SIZE];
	return cJSON_AddStringToObject(o, k, execd_id_format(id, buf)) != NULL;
}

bool rjson_add_str_or_null(cJSON *o, const char *k, const char *v)
{
	return (v ? cJSON_AddStringToObject(o, k, v) : cJSON_AddNullToObject(o, k)) != NULL;
}

const char *rjson_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int rjson_dup_str(const cJSON *o, const char *k, char **out)
{
	const char *s = rjson_str(o, k);
	if (!s)
		return -EBADMSG;
	return (*out = strdup(s)) ? 0 : -ENOMEM;
}

int rjson_dup_opt(const cJSON *o, const char *k, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	return rjson_dup_str(o, k, out);
}

int rjson_copy_str(const cJSON *o, const char *k, char *buf, size_t cap)
{
	const char *s = rjson_str(o, k);
	if (!s || strlen(s) >= cap)
		return -EBADMSG;
	strcpy(buf, s);
	return 0;
}

int rjson_get_u64(const cJSON *o, const char *k, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > JSON_INT_MAX ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -EBADMSG;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

int rjson_get_lsn(const cJSON *o, const char *k, uint64_t *out)
{
	const char *s = rjson_str(o, k);
	return s && rjson_lsn_parse(s, out) == 0 ? 0 : -EBADMSG;
}

int rjson_get_id(const cJSON *o, const char *k, struct execd_id *out)
{
	const char *s = rjson_str(o, k);
	return s && execd_id_parse(s, out) == 0 ? 0 : -EBADMSG;
}

int64_t rjson_ms(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}
