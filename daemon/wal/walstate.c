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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"
#include "walseg.h"
#include "walstate.h"

/* Parse one slot (NUL-terminated JSON). @return 0, or -EUCLEAN if it is not a valid state. */
static int parse_slot(const char *text, struct walstate *st)
{
	cJSON *j = cJSON_Parse(text);
	if (!j)
		return -EUCLEAN;
	int r = -EUCLEAN;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(j, "system_id");
	const cJSON *tli = cJSON_GetObjectItemCaseSensitive(j, "pg_timeline");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flush_lsn");
	if (cJSON_IsNumber(v) && v->valueint == 1 && cJSON_IsString(sys) && cJSON_IsNumber(tli) &&
	    tli->valuedouble >= 0 && tli->valuedouble <= UINT32_MAX && cJSON_IsString(fl) &&
	    (!seq || (cJSON_IsNumber(seq) && seq->valuedouble >= 0))) {
		char *end;
		errno = 0;
		st->system_id = strtoull(sys->valuestring, &end, 10);
		st->pg_timeline = (uint32_t)tli->valuedouble;
		st->seq = seq ? (uint64_t)seq->valuedouble : 0;
		if (!errno && *end == '\0' && lsn_parse(fl->valuestring, &st->flush_lsn) == 0)
			r = 0;
	}
	cJSON_Delete(j);
	return r;
}

int walstate_load(int dirfd, struct walstate *st)
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
	/* slot 0 ends at its first NUL (or at the slot's end); slot 1 likewise */
	char save = buf[WALSTATE_SLOT];
	buf[WALSTATE_SLOT] = '\0';
	struct walstate a, b;
	int ra = parse_slot(buf, &a);
	buf[WALSTATE_SLOT] = save;
	int rb = n > WALSTATE_SLOT ? parse_slot(buf + WALSTATE_SLOT, &b) : -EUCLEAN;
	free(buf);
	if (ra < 0 && rb < 0)
		return -EUCLEAN;
	*st = (ra == 0 && (rb < 0 || a.seq >= b.seq)) ? a : b;
	return 0;
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

int walstate_save(int dirfd, struct walstate *st)
{
	char slot[WALSTATE_SLOT], lsn[20];
	struct stat sb;
	uint64_t seq = st->seq + 1;
	int r = 0;

	memset(slot, 0, sizeof slot);
	lsn_format(st->flush_lsn, lsn);
	snprintf(slot, sizeof slot,
		 "{\"version\":1,\"seq\":%" PRIu64 ",\"system_id\":\"%" PRIu64 "\",\"pg_timeline\":%" PRIu32
		 ",\"flush_lsn\":\"%s\"}\n",
		 seq, st->system_id, st->pg_timeline, lsn);
	off_t off = (off_t)(seq % 2) * WALSTATE_SLOT;

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
