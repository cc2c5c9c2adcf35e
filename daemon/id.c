/* SPDX-License-Identifier: MIT */
/* daemon/id.c — 128-bit random ids in 32-hex form (neon's TenantId/TimelineId). */
#include "id.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

int execd_id_generate(struct execd_id *out)
{
	do {
		size_t got = 0;
		while (got < sizeof out->bytes) {
			ssize_t n = getrandom(out->bytes + got, sizeof out->bytes - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			got += (size_t)n;
		}
	} while (execd_id_is_zero(out)); /* zero means "none": never hand it out */
	return 0;
}

char *execd_id_format(const struct execd_id *id, char buf[EXECD_ID_STR_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof id->bytes; i++) {
		buf[2 * i] = hex[id->bytes[i] >> 4];
		buf[2 * i + 1] = hex[id->bytes[i] & 15];
	}
	buf[EXECD_ID_HEX_LEN] = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int execd_hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int execd_id_parse(const char *s, struct execd_id *out)
{
	struct execd_id id;
	if (!s || execd_hex_decode(s, id.bytes, sizeof id.bytes) < 0)
		return -EINVAL;
	if (execd_id_is_zero(&id))
		return -EINVAL;
	*out = id;
	return 0;
}

bool execd_id_prefix_valid(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;
	if (n < 1 || n > EXECD_ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(prefix[i]) < 0)
			return false;
	return true;
}

bool execd_id_has_prefix(const struct execd_id *id, const char *prefix)
{
	char buf[EXECD_ID_STR_SIZE];
	if (!execd_id_prefix_valid(prefix))
		return false;
	execd_id_format(id, buf);
	for (size_t i = 0; prefix[i]; i++)
		if (buf[i] != tolower((unsigned char)prefix[i]))
			return false;
	return true;
}

bool execd_id_eq(const struct execd_id *a, const struct execd_id *b)
{
	if (!a || !b)
		return a == b;
	return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

bool execd_id_is_zero(const struct execd_id *id)
{
	static const struct execd_id zero;
	return memcmp(id->bytes, zero.bytes, sizeof zero.bytes) == 0;
}
