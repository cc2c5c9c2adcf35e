/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walstate.c — crash-safe persistence of a timeline's flush LSN, wal.state (two slots
 * written in turn, as PostgreSQL's control file is rewritten in place; seed 002: in-memory state
 * follows the write). See walstate.h.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"
#include "walseg.h"
#include "walstate.h"

#define CRC_KEY "\"crc32c\":\""

/* Whether the version 2 slot @p text (NUL-terminated, writable) carries the CRC-32C of itself
 * with its 8 checksum digits as "00000000" (they are zeroed here: the text is not used after). */
static bool slot_crc_ok(char *text, const char *digits)
{
	char *at = strstr(text, CRC_KEY), *end;
	if (!at || strstr(at + 1, CRC_KEY) || strlen(digits) != 8)
		return false;
	errno = 0;
	unsigned long want = strtoul(digits, &end, 16);
	if (errno || *end || want > UINT32_MAX)
		return false;
	at += strlen(CRC_KEY);
	if (strncmp(at, digits, 8) != 0)
		return false;
	memset(at, '0', 8);
	return crc32c(0, text, strlen(text)) == (uint32_t)want;
}

/* Parse one slot (NUL-terminated, writable JSON). @return its version (1 or 2), or -EBADMSG if it
 * is not a valid state (unparseable, unknown version, or a version 2 slot failing its checksum). */
static int parse_slot(char *text, struct walstate *st)
{
	cJSON *j = cJSON_Parse(text);
	if (!j)
		return -EBADMSG;
	int r = -EBADMSG;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(j, "system_id");
	const cJSON *tli = cJSON_GetObjectItemCaseSensitive(j, "pg_timeline");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flush_lsn");
	const cJSON *crc = cJSON_GetObjectItemCaseSensitive(j, "crc32c");
	int version = cJSON_IsNumber(v) && (v->valuedouble == 1 || v->valuedouble == 2)
			      ? v->valueint
			      : 0;
	if (version && cJSON_IsString(sys) && cJSON_IsNumber(tli) && tli->valuedouble >= 0 &&
	    tli->valuedouble <= UINT32_MAX && cJSON_IsString(fl) &&
	    (!seq || (cJSON_IsNumber(seq) && seq->valuedouble >= 0)) &&
	    (version == 1 || (cJSON_IsString(crc) && slot_crc_ok(text, crc->valuestring)))) {
		char *end;
		errno = 0;
		st->system_id = strtoull(sys->valuestring, &end, 10);
		st->pg_timeline = (uint32_t)tli->valuedouble;
		st->seq = seq ? (uint64_t)seq->valuedouble : 0;
		if (!errno && *end == '\0' && lsn_parse(fl->valuestring, &st->flush_lsn) == 0)
			r = version;
	}
	cJSON_Delete(j);
	return r;
}

/* Whether @p len bytes at @p p are all NUL (a slot never written). */
static bool all_nul(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Pick the state from the two parsed slots (version or -EBADMSG each): a valid version 2 slot
 * beats every version 1 slot (the file was upgraded), then the highest seq wins. */
static int pick_slot(const int ver[2], const struct walstate s[2], struct walstate *st)
{
	int best = -1;
	for (int i = 0; i < 2; i++) {
		if (ver[i] < 0)
			continue;
		if (best < 0 || ver[i] > ver[best] ||
		    (ver[i] == ver[best] && s[i].seq > s[best].seq))
			best = i;
	}
	if (best < 0)
		return -EBADMSG;
	*st = s[best];
	return ver[best];
}

int walstate_load_info(int dirfd, struct walstate *st, struct walstate_info *info)
{
	_Static_assert(WALSTATE_SLOT >= 512, "slot size");
	char *buf = calloc(1, 2 * WALSTATE_SLOT + 1);
	size_t n = 0;
	int r;
	if (!buf)
		return -ENOMEM;
	int fd = openat(dirfd, WALSTATE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(buf);
		return r;
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, 2 * WALSTATE_SLOT - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			close(fd);
			free(buf);
			return r;
		}
		if (k == 0 || (n += (size_t)k) == 2 * WALSTATE_SLOT)
			break;
	}
	close(fd);
	/* each slot's text ends at its first NUL (or at the slot's end: the NUL put there); a file
	 * of one slot or less is an old single-document one (its second slot counts as never written) */
	struct walstate s[2];
	int ver[2];
	unsigned bad = 0;
	for (int i = 0; i < 2; i++) {
		char *slot = buf + (size_t)i * WALSTATE_SLOT;
		size_t len = n > (size_t)i * WALSTATE_SLOT ? n - (size_t)i * WALSTATE_SLOT : 0;
		if (len > WALSTATE_SLOT)
			len = WALSTATE_SLOT;
		bool empty = all_nul(slot, len);
		char save = slot[WALSTATE_SLOT];
		slot[WALSTATE_SLOT] = '\0';
		ver[i] = empty ? -EBADMSG : parse_slot(slot, &s[i]);
		slot[WALSTATE_SLOT] = save;
		if (!empty && ver[i] < 0)
			bad |= 1u << i;
	}
	free(buf);
	r = pick_slot(ver, s, st);
	if (info)
		*info = (struct walstate_info){ .version = r > 0 ? r : 0, .bad_slots = bad };
	return r < 0 ? r : 0;
}

int walstate_load(int dirfd, struct walstate *st)
{
	return walstate_load_info(dirfd, st, NULL);
}

static int write_all(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t k = pwrite(fd, p, len, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		len -= (size_t)k;
		off += k;
	}
	return 0;
}

uint64_t walstate_stage(const struct walstate *st, char slot[static WALSTATE_SLOT], off_t *off)
{
	char lsn[20];
	uint64_t seq = st->seq + 1;

	memset(slot, 0, WALSTATE_SLOT);
	lsn_format(st->flush_lsn, lsn);
	/* the checksum is computed with its own digits as "00000000", then written over them */
	int len = snprintf(slot, WALSTATE_SLOT,
			   "{\"version\":2,\"seq\":%" PRIu64 ",\"system_id\":\"%" PRIu64
			   "\",\"pg_timeline\":%" PRIu32 ",\"flush_lsn\":\"%s\"," CRC_KEY
			   "00000000\"}\n",
			   seq, st->system_id, st->pg_timeline, lsn);
	char digits[9];
	snprintf(digits, sizeof digits, "%08" PRIx32, crc32c(0, slot, (size_t)len));
	memcpy(slot + len - 3 - 8, digits, 8); /* before the closing "}\n */
	*off = (off_t)(seq % 2) * WALSTATE_SLOT;
	return seq;
}

int walstate_save(int dirfd, struct walstate *st)
{
	char slot[WALSTATE_SLOT];
	struct stat sb;
	off_t off;
	uint64_t seq = walstate_stage(st, slot, &off);
	int r = 0;

	int fd = openat(dirfd, WALSTATE_FILE, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size == 2 * WALSTATE_SLOT) {
		/* the common case: one page in place, data-only sync */
		r = write_all(fd, slot, sizeof slot, off);
		if (r == 0 && fdatasync(fd) < 0)
			r = -errno;
		if (close(fd) < 0 && r == 0)
			r = -errno;
		if (r == 0)
			st->seq = seq;
		return r;
	}
	if (fd >= 0)
		close(fd);
	/* first write (or an old single-document file): create the two-slot file crash-safely */
	fd = openat(dirfd, WALSTATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	static const char zero[WALSTATE_SLOT];
	r = write_all(fd, off ? zero : slot, WALSTATE_SLOT, 0);
	if (r == 0)
		r = write_all(fd, off ? slot : zero, WALSTATE_SLOT, WALSTATE_SLOT);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, WALSTATE_FILE ".tmp", dirfd, WALSTATE_FILE) < 0)
		r = -errno;
	if (r == 0)
		r = walseg_sync_dir(dirfd);
	if (r == 0)
		st->seq = seq;
	return r;
}
