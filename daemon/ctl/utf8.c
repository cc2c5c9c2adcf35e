/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/utf8.c — UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing
 * above U+10FFFF), for the control protocol's promise that every reply is valid UTF-8 JSON
 * (docs/protocol.md "Framing"): requests are checked with it, messages that quote the client
 * are cut on character boundaries, and a reply line is repaired before it is sent.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* The length of the well-formed sequence at @p s (at most @p n bytes available), or 0. The
 * ranges of RFC 3629 section 4: the second byte's range depends on the first. */
static size_t seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t ctl_utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	while (i < n && (k = seq_len(u + i, n - i)) > 0)
		i += k;
	return i;
}

size_t ctl_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max), i = n;
	/* back up over at most three continuation bytes to the last lead byte; drop it if its
	 * sequence does not fit */
	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0) {
		i--;
		if (seq_len((const unsigned char *)s + i, n - i) == 0)
			return i;
	}
	return n;
}

char *ctl_utf8_repair(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = malloc(3 * n + 2), *p = out; /* one spare byte for callers */
	size_t i = 0, k;

	if (!out)
		return NULL;
	while (i < n) {
		if ((k = seq_len(u + i, n - i)) > 0) {
			memcpy(p, s + i, k);
			p += k;
			i += k;
		} else {
			memcpy(p, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
			p += 3;
			i++;
		}
	}
	*p = '\0';
	return out;
}
