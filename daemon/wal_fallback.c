/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal_fallback.c — weak stand-ins for daemon/wal's interface (wal/wal.h), so that the
 * daemon links and runs (timelines without WAL streaming) in builds where daemon/wal/ does not
 * provide them yet. The real, strong definitions in daemon/wal/ replace these at link time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "registry/timeline.h"
#include "wal/wal.h"

__attribute__((weak)) int wal_timeline_start(struct timeline *tl)
{
	(void)tl;
	return 0;
}

__attribute__((weak)) void wal_timeline_free(struct timeline *tl)
{
	(void)tl;
}

__attribute__((weak)) int wal_timeline_show(struct timeline *tl, struct cJSON *obj)
{
	return cJSON_AddStringToObject(obj, "state", tl->state == REG_STOPPING ? "stopped" : "idle") ? 0 : -ENOMEM;
}

static void wait_release(struct ex_cancel_safe_future *f)
{
	(void)f;
}

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	(void)cx;
	f->output = -ENOENT;
	return EX_READY;
}

__attribute__((weak)) struct ex_cancel_safe_future *wal_timeline_wait_lsn(struct wal_wait *w, struct timeline *tl,
									 uint64_t lsn)
{
	memset(w, 0, sizeof *w);
	w->cs.base.poll = wait_poll;
	w->cs.release = wait_release;
	w->lsn = lsn;
	(void)tl;
	return &w->cs;
}

__attribute__((weak)) int lsn_parse(const char *s, uint64_t *out)
{
	unsigned hi, lo;
	int n = 0;
	if (!s || sscanf(s, "%8X/%8X%n", &hi, &lo, &n) != 2 || s[n] || strchr(s, ' ') || strchr(s, '-') || strchr(s, '+'))
		return -EINVAL;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

__attribute__((weak)) void lsn_format(uint64_t lsn, char buf[static 20])
{
	snprintf(buf, 20, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}
