/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/waltl.c — the timeline glue, the daemon-facing calls of wal.h: a timeline's WAL
 * state (loaded from wal.state), its tasks (WalReceiver, RetentionGC, spawned through task_mgr
 * as neon's pageserver spawns a timeline's walreceiver), its timeline.show fields and its
 * wait_lsn seqwait. It starts the receiver; the receiver never calls back into it (it reports its
 * phase through walphase.c).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <executor/seqwait.h>

#include "conf.h"
#include "conninfo.h"
#include "log.h"
#include "task_mgr.h"
#include "registry/timeline.h"
#include "wal.h"
#include "walcompress.h"
#include "walfmt.h"
#include "walgc.h"
#include "walphase.h"
#include "walrecv.h"
#include "walseg.h"
#include "walstart.h"
#include "waltl.h"
#include "walzst.h"

static void wt_free(struct wal_timeline *wt)
{
	if (!wt)
		return;
	metrics_timeline_unregister(&wt->metrics); /* no scrape reads it any more */
	if (wt->flush_wait) {
		ex_seqwait_shutdown(wt->flush_wait);
		if (ex_seqwait_free(wt->flush_wait) < 0)
			log_warning("wal: a wait_lsn waiter is still pending; leaking its seqwait");
	}
	if (wt->compressed_wait) {
		ex_seqwait_shutdown(wt->compressed_wait);
		if (ex_seqwait_free(wt->compressed_wait) < 0)
			log_warning(
				"wal: a compressed-segment waiter is still pending; leaking it");
	}
	if (wt->dirfd >= 0)
		close(wt->dirfd);
	pthread_mutex_destroy(&wt->lock);
	free(wt->dirpath);
	free(wt->source);
	free(wt->source_shown);
	free(wt->slot);
	free(wt->error);
	free(wt);
}

/* Open (creating it) the timeline's wal/ directory and load wal.state, if there is one. */
static int wt_open_dir(struct wal_timeline *wt)
{
	if (mkdir(wt->dirpath, 0700) < 0 && errno != EEXIST)
		return -errno;
	wt->dirfd = open(wt->dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wt->dirfd < 0)
		return -errno;
	return walstart_load(wt); /* wal.state checked against the files (walstart.h) */
}

/* The WAL state of @p tl: its configuration, its directory and what wal.state holds.
 * @return 0 and *out, or -errno (nothing left behind). */
static int wt_load(struct timeline *tl, struct wal_timeline **out)
{
	struct wal_timeline *wt = calloc(1, sizeof *wt);
	int r;
	if (!wt)
		return -ENOMEM;
	wt->dirfd = -1;
	pthread_mutex_init(&wt->lock, NULL);
	wt->tenant_id = tl->tenant_id;
	wt->timeline_id = tl->id;
	wt->create_slot = tl->create_slot;
	wt->start_lsn = tl->start_lsn;
	wt->retention_bytes = execd_config.wal_retention_bytes;
	wt->retention_age_s = execd_config.wal_retention_age_s;
	if (asprintf(&wt->dirpath, "%s/wal", tl->dir) < 0) {
		wt->dirpath = NULL;
		r = -ENOMEM;
	} else if ((tl->source && !(wt->source = strdup(tl->source))) ||
		   (tl->slot && !(wt->slot = strdup(tl->slot)))) {
		r = -ENOMEM;
	} else if (!wt->source || (r = conninfo_redact(wt->source, &wt->source_shown)) == 0) {
		if ((r = wt_open_dir(wt)) == 0 &&
		    (r = ex_seqwait_new(atomic_load(&wt->flush_lsn), &wt->flush_wait)) == 0)
			r = ex_seqwait_new(0, &wt->compressed_wait);
	}
	if (r < 0) {
		wt_free(wt);
		return r;
	}
	metrics_timeline_register(&wt->metrics, &wt->tenant_id, &wt->timeline_id, &wt->received_lsn,
				  &wt->flush_lsn);
	*out = wt;
	return 0;
}

/* The repair (walstart.c) restarts the receiver through the supervisor, as resume does. */
int waltl_spawn_tasks(struct timeline *tl, struct wal_timeline *wt)
{
	return walsuper_spawn(tl, wt);
}

int wal_timeline_start(struct timeline *tl)
{
	struct wal_timeline *wt;
	int r = wt_load(tl, &wt);
	if (r < 0)
		return r;
	walsuper_init(wt, tl);
	wt->tl = tl;
	walstart_phase(wt); /* a damaged timeline stands still in "error" */
	if (atomic_load(&wt->damaged) || !wt->source)
		;
	else if (atomic_load(&tl->detached)) /* timeline.detach: WAL readable, nothing followed */
		walrecv_phase_set(wt, WALRECV_IDLE, NULL);
	else if (walsuper_paused(wt))
		walrecv_phase_set(wt, WALRECV_PAUSED, NULL);
	tl->wal = wt;
	if (wt->phase == WALRECV_CONNECTING && (r = walsuper_spawn(tl, wt)) < 0) {
		tl->wal = NULL;
		wt_free(wt);
	}
	return r;
}

void wal_timeline_free(struct timeline *tl)
{
	if (tl->wal && wal_remote_hooks()->free)
		wal_remote_hooks()->free(tl);
	wt_free(tl->wal);
	tl->wal = NULL;
}

/* What the wal/ directory holds, for show. */
struct wal_counts {
	uint64_t segments;   /* segment files: plain, .partial or compressed */
	uint64_t compressed; /* of which ".zst" (walzst.h) */
	uint64_t bytes;      /* blocks of the segments and of a segment prepared ahead (bytes) */
	uint64_t seg_bytes;  /* blocks of the segments alone (bytes) */
};

/* Count segment files and their bytes (a short readdir; the same blocking-free stat calls as
 * pg_receivewal's directory scan, on a directory of at most a few hundred names). */
static void count_files(struct wal_timeline *wt, struct wal_counts *n)
{
	memset(n, 0, sizeof *n);
	DIR *d;
	if (walseg_opendir(wt->dirfd, &d) < 0)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint32_t tli;
		uint64_t segno;
		int partial;
		struct stat st;
		bool zst = walzst_parse(de->d_name, &tli, &segno) == 0;
		bool seg = zst || wal_seg_parse(de->d_name, &tli, &segno, &partial) == 0;
		/* a segment prepared ahead is on disk too, though not a segment yet */
		if ((seg || walseg_parse_prep(de->d_name, &tli, &segno) == 0) &&
		    fstatat(dirfd(d), de->d_name, &st, 0) == 0) {
			n->segments += seg;
			n->compressed += zst;
			n->bytes += (uint64_t)st.st_blocks * 512;
			n->seg_bytes += seg ? (uint64_t)st.st_blocks * 512 : 0;
		}
	}
	closedir(d);
}

/* "compression_ratio": the segments' WAL bytes per byte on disk (2 decimals), null if none. */
static bool add_ratio(cJSON *obj, const struct wal_counts *n)
{
	if (!n->segments || !n->seg_bytes)
		return cJSON_AddNullToObject(obj, "compression_ratio") != NULL;
	double r = (double)(n->segments * WAL_SEG_SIZE) / (double)n->seg_bytes;
	return cJSON_AddNumberToObject(obj, "compression_ratio", (double)(int64_t)(r * 100) / 100);
}

static int add_lsn(cJSON *obj, const char *key, uint64_t lsn)
{
	char buf[20];
	lsn_format(lsn, buf);
	return cJSON_AddStringToObject(obj, key, buf) ? 0 : -ENOMEM;
}

int wal_timeline_show(struct timeline *tl, cJSON *obj)
{
	struct wal_timeline *wt = tl->wal;
	char sys[24];
	if (!wt) {
		return cJSON_AddStringToObject(obj, "state", "stopped") ? 0 : -ENOMEM;
	}
	pthread_mutex_lock(&wt->lock);
	const char *state = atomic_load(&tl->detached) ? "detached" : walrecv_phase_name(wt->phase);
	char *error = wt->error ? strdup(wt->error) : NULL;
	bool has_error = wt->error != NULL;
	uint64_t system_id = wt->system_id;
	uint32_t pg_timeline = wt->pg_timeline;
	pthread_mutex_unlock(&wt->lock);
	if (has_error && !error)
		return -ENOMEM;
	uint64_t flush = atomic_load(&wt->flush_lsn), recv = atomic_load(&wt->received_lsn);
	uint64_t server = atomic_load(&wt->server_lsn);
	struct wal_counts n;
	count_files(wt, &n);
	snprintf(sys, sizeof sys, "%llu", (unsigned long long)system_id);
	bool ok = cJSON_AddStringToObject(obj, "state", state) &&
		  (error ? cJSON_AddStringToObject(obj, "error", error) != NULL
			 : cJSON_AddNullToObject(obj, "error") != NULL) &&
		  (wt->source_shown
			   ? cJSON_AddStringToObject(obj, "source", wt->source_shown) != NULL
			   : cJSON_AddNullToObject(obj, "source") != NULL) &&
		  (wt->slot ? cJSON_AddStringToObject(obj, "slot", wt->slot) != NULL
			    : cJSON_AddNullToObject(obj, "slot") != NULL) &&
		  (system_id ? cJSON_AddStringToObject(obj, "system_id", sys) != NULL
			     : cJSON_AddNullToObject(obj, "system_id") != NULL) &&
		  (pg_timeline ? cJSON_AddNumberToObject(obj, "pg_timeline", pg_timeline) != NULL
			       : cJSON_AddNullToObject(obj, "pg_timeline") != NULL) &&
		  add_lsn(obj, "received_lsn", recv > flush ? recv : flush) == 0 &&
		  add_lsn(obj, "flush_lsn", flush) == 0 &&
		  add_lsn(obj, "server_lsn", server) == 0 &&
		  cJSON_AddNumberToObject(obj, "lag_bytes",
					  (double)(server > flush ? server - flush : 0)) &&
		  cJSON_AddNumberToObject(obj, "segments", (double)n.segments) &&
		  cJSON_AddNumberToObject(obj, "bytes_on_disk", (double)n.bytes) &&
		  cJSON_AddNumberToObject(obj, "segments_compressed", (double)n.compressed) &&
		  cJSON_AddNumberToObject(obj, "wal_bytes", (double)(n.segments * WAL_SEG_SIZE)) &&
		  add_ratio(obj, &n) &&
		  cJSON_AddBoolToObject(obj, "retention_paused",
					atomic_load(&wt->retention_paused)) &&
		  cJSON_AddBoolToObject(obj, "retention_held", atomic_load(&wt->retention_held)) &&
		  cJSON_AddBoolToObject(obj, "retention_held_for_upload",
					atomic_load(&wt->retention_held_upload)) &&
		  walstart_show(wt, obj) == 0 && walsuper_show(wt, obj) == 0 &&
		  (!wal_remote_hooks()->show || wal_remote_hooks()->show(tl, obj) == 0);
	free(error);
	return ok ? 0 : -ENOMEM;
}

uint64_t wal_timeline_flush_lsn(struct timeline *tl)
{
	return tl->wal ? atomic_load(&tl->wal->flush_lsn) : 0;
}

struct ex_seqwait *wal_timeline_compressed(struct timeline *tl)
{
	return tl->wal ? tl->wal->compressed_wait : NULL;
}

/* --- wait_lsn: a cancel-safe wrapper around a seqwait wait ------------------------------- */

static ex_poll_t wait_poll(struct ex_future *f, struct ex_context *cx)
{
	struct wal_wait *w = ex_container_of(f, struct wal_wait, cs.base);
	if (!w->wal) {
		f->output = -ENOENT;
		return EX_READY;
	}
	if (!w->impl && walstart_refuses(w->wal, w->lsn)) {
		f->output = -EUCLEAN; /* not on disk, and nothing will bring it: walstart.h */
		return EX_READY;
	}
	if (!w->impl) {
		w->impl = calloc(1, sizeof(struct ex_seqwait_wait));
		if (!w->impl) {
			f->output = -ENOMEM;
			return EX_READY;
		}
		ex_seqwait_wait_for(w->impl, w->wal->flush_wait, w->lsn);
	}
	struct ex_seqwait_wait *sw = w->impl;
	if (ex_poll(&sw->cs.base, cx) == EX_PENDING)
		return EX_PENDING;
	f->output = sw->cs.base.output < 0 ? sw->cs.base.output : 0;
	free(w->impl);
	w->impl = NULL;
	w->wal = NULL;
	return EX_READY;
}

static void wait_release(struct ex_cancel_safe_future *cs)
{
	struct wal_wait *w = ex_container_of(cs, struct wal_wait, cs);
	if (w->impl) {
		struct ex_seqwait_wait *sw = w->impl;
		sw->cs.release(&sw->cs);
		free(sw);
		w->impl = NULL;
	}
}

struct ex_cancel_safe_future *wal_timeline_wait_lsn(struct wal_wait *w, struct timeline *tl,
						    uint64_t lsn)
{
	w->cs.base.poll = wait_poll;
	w->cs.base.output = 0;
	w->cs.release = wait_release;
	w->impl = NULL;
	w->wal = tl->wal;
	w->lsn = lsn;
	return &w->cs;
}
