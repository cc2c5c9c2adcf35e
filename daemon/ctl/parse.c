/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/parse.c — one request line into a JSON object, strictly (docs/protocol.md
 * "Framing"). cJSON is lenient where the protocol is not: it stops at the end of the first value
 * (trailing data), keeps every member of an object (duplicate keys: the first one would win),
 * and hands back C strings (an escaped NUL, "\u0000", silently cuts a string short, so that
 * "status\u0000evil" would read as "status"). Each of these is refused here, before anything
 * looks at the request, so that what the daemon acts on is exactly what the client sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl.h"

/* True if @p s (length @p n, valid JSON) contains the escape \u0000: a "\u0000" preceded by an
 * even number of backslashes, i.e. whose own backslash is not itself escaped. Outside strings
 * valid JSON has no backslash, so a raw scan suffices once cJSON has accepted the text. */
static bool has_escaped_nul(const char *s, size_t n)
{
	for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), "\\u0000", 6)); p++) {
		size_t k = 0;
		while (p - k > s && p[-(ptrdiff_t)k - 1] == '\\')
			k++;
		if (k % 2 == 0)
			return true;
	}
	return false;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that occurs twice in one object of @p v (at any depth), or NULL. Sorting the
 * keys keeps a request of many members O(n log n). -ENOMEM in *err. */
static const char *duplicate_key(const cJSON *v, int *err)
{
	const char **keys, *dup = NULL;
	size_t n = 0, i = 0;
	const cJSON *c;

	cJSON_ArrayForEach (c, v) {
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && (dup = duplicate_key(c, err)))
			return dup;
		if (*err)
			return NULL;
		n++;
	}
	if (!cJSON_IsObject(v) || n < 2)
		return NULL;
	if (!(keys = malloc(n * sizeof *keys))) {
		*err = -ENOMEM;
		return NULL;
	}
	cJSON_ArrayForEach (c, v)
		keys[i++] = c->string;
	qsort(keys, n, sizeof *keys, cmp_keys);
	for (i = 1; i < n && !dup; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			dup = keys[i];
	free(keys);
	return dup;
}

/* The checks on the raw bytes, before cJSON sees them. */
static int check_bytes(const char *buf, size_t n, char *why, size_t why_size)
{
	size_t ok = ctl_utf8_valid_prefix(buf, n);
	if (ok < n) {
		snprintf(why, why_size, "the request is not valid UTF-8 (byte %zu)", ok);
		return -EINVAL;
	}
	if (memchr(buf, '\0', n)) {
		snprintf(why, why_size, "the request contains a NUL byte");
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_request(const char *buf, size_t n, struct cJSON **out, char *why, size_t why_size)
{
	const char *end = NULL, *dup;
	cJSON *req;
	int e = 0;

	*out = NULL;
	if ((e = check_bytes(buf, n, why, why_size)) < 0)
		return e;
	req = cJSON_ParseWithLengthOpts(buf, n, &end, false);
	if (!req) {
		snprintf(why, why_size, "malformed JSON");
		return -EINVAL;
	}
	if (!cJSON_IsObject(req)) {
		snprintf(why, why_size, "a request must be a JSON object");
		goto bad;
	}
	while (end < buf + n && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end < buf + n) {
		snprintf(why, why_size, "trailing data after the JSON object (at byte %zu)",
			 (size_t)(end - buf));
		goto bad;
	}
	if (has_escaped_nul(buf, n)) {
		snprintf(why, why_size, "a string contains a NUL character (\\u0000)");
		goto bad;
	}
	if ((dup = duplicate_key(req, &e))) {
		snprintf(why, why_size, "duplicate key '%.*s'", (int)ctl_utf8_cut(dup, 64), dup);
		goto bad;
	}
	if (e < 0) {
		cJSON_Delete(req);
		return e;
	}
	*out = req;
	return 0;
bad:
	cJSON_Delete(req);
	return -EINVAL;
}
