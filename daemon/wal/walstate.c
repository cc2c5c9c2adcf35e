/* SPDX-License-Identifier: MIT */
/* daemon/wal/walstate.c — crash-safe persistence of a timeline's flush LSN (see walstate.h). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wal.h"
#include "walseg.h"
#include "walstate.h"

int walstate_load(int dirfd, struct walstate *st)
{
	char buf[1024];
	size_t n = 0;
	int fd = openat(dirfd, WALSTATE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == sizeof buf - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';

	cJSON *j = cJSON_Parse(buf);
	if (!j)
		return -EUCLEAN;
	int r = -EUCLEAN;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(j, "system_id");
	const cJSON *tli = cJSON_GetObjectItemCaseSensitive(j, "pg_timeline");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flush_lsn");
	if (cJSON_IsNumber(v) && v->valueint == 1 && cJSON_IsString(sys) && cJSON_IsNumber(tli) &&
	    tli->valuedouble >= 0 && tli->valuedouble <= UINT32_MAX && cJSON_IsString(fl)) {
		char *end;
		errno = 0;
		st->system_id = strtoull(sys->valuestring, &end, 10);
		st->pg_timeline = (uint32_t)tli->valuedouble;
		if (!errno && *end == '\0' && lsn_parse(fl->valuestring, &st->flush_lsn) == 0)
			r = 0;
	}
	cJSON_Delete(j);
	return r;
}

int walstate_save(int dirfd, const struct walstate *st)
{
	char text[256], lsn[20];
	int r = 0;

	lsn_format(st->flush_lsn, lsn);
	int len = snprintf(text, sizeof text,
			   "{\"version\":1,\"system_id\":\"%" PRIu64 "\",\"pg_timeline\":%" PRIu32
			   ",\"flush_lsn\":\"%s\"}\n",
			   st->system_id, st->pg_timeline, lsn);
	int fd = openat(dirfd, WALSTATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (int off = 0; off < len;) {
		ssize_t k = write(fd, text + off, (size_t)(len - off));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		off += (int)k;
	}
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, WALSTATE_FILE ".tmp", dirfd, WALSTATE_FILE) < 0)
		r = -errno;
	if (r == 0)
		r = walseg_sync_dir(dirfd);
	return r;
}
