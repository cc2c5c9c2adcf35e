/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/walphase.c — the receiver's phase and last error for timeline.show (walphase.h):
 * a leaf module, so that the receiver and the timeline glue need not include each other.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "walphase.h"
#include "waltl.h"

const char *walrecv_phase_name(enum walrecv_phase p)
{
	static const char *const names[] = { "idle",  "connecting", "streaming", "backoff",
					     "error", "stopped",    "paused" };
	return (unsigned)p < sizeof names / sizeof *names ? names[p] : "unknown";
}

void walrecv_phase_set(struct wal_timeline *wt, enum walrecv_phase p, const char *fmt, ...)
{
	char *msg = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) < 0)
			msg = NULL;
		va_end(ap);
	}
	pthread_mutex_lock(&wt->lock);
	wt->phase = p;
	/* the last error stays visible while connecting again; streaming clears it */
	if (msg || p == WALRECV_STREAMING) {
		free(wt->error);
		wt->error = msg;
	}
	pthread_mutex_unlock(&wt->lock);
}
