/* SPDX-License-Identifier: MIT */
/*
 * tests/wal/walrecv-driver.c — runs the daemon's WAL receiver (daemon/wal) under the real
 * runtime and task_mgr, without the control socket: N timelines streaming from one source into
 * DIR/tl<i>/wal. Used by tests and benchmarks of the receiver itself.
 *
 *   walrecv-driver SOURCE DIR [--n N] [--slot PREFIX --create-slot] [--until LSN] [--timeout-ms MS]
 *
 * With --until it waits (wait_lsn, bounded by --timeout-ms, default 60000) until every timeline's
 * flush LSN reaches LSN, prints each timeline's show JSON, shuts the tasks down and exits 0
 * (1 on timeout). Without --until it streams until SIGTERM/SIGINT, then shuts down the same way.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <executor/async.h>
#include <executor/cancel.h>
#include <executor/runtime.h>
#include <executor/select.h>
#include <executor/signal.h>
#include <executor/time.h>

#include "conf.h"
#include "log.h"
#include "task_mgr.h"
#include "registry/timeline.h"
#include "wal.h"

static struct {
	struct ex_future fut;
	struct ex_async a;
	int n, i;
	struct timeline *tl;
	uint64_t until, timeout_ms, deadline;
	struct wal_wait w;
	struct ex_sleep sl;
	struct ex_timeout to;
	struct ex_cancelled c;
	struct task_mgr_shutdown sd;
	struct task_mgr_filter f;
	int rc;
} d;

static struct ex_runtime *rt;

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	int r;
	EX_BEGIN(&d.a);
	for (d.i = 0; d.i < d.n; d.i++) {
		if ((r = wal_timeline_start(&d.tl[d.i])) < 0) {
			fprintf(stderr, "walrecv-driver: wal_timeline_start: %s\n", strerror(-r));
			d.rc = 1;
			goto shutdown;
		}
	}
	if (d.until) {
		d.deadline = ex_now_ns() + d.timeout_ms * 1000000;
		for (d.i = 0; d.i < d.n; d.i++) {
			EX_AWAIT(&d.a, cx,
				 &ex_timeout_with(&d.to, ex_sleep_until(&d.sl, d.deadline),
						  wal_timeline_wait_lsn(&d.w, &d.tl[d.i], d.until))
					  ->base);
			if (EX_AWAITED(&d.a) < 0) {
				fprintf(stderr, "walrecv-driver: timeline %d: wait_lsn: %s\n", d.i,
					strerror((int)-EX_AWAITED(&d.a)));
				d.rc = 1;
				break;
			}
		}
	} else {
		EX_AWAIT(&d.a, cx, &ex_cancelled(&d.c, ex_runtime_shutdown_token(rt))->base);
	}
shutdown:
	for (d.i = 0; d.i < d.n; d.i++) {
		if (!d.tl[d.i].wal)
			continue;
		cJSON *o = cJSON_CreateObject();
		if (o && wal_timeline_show(&d.tl[d.i], o) == 0) {
			char *s = cJSON_PrintUnformatted(o);
			printf("%s\n", s ? s : "{}");
			free(s);
		}
		cJSON_Delete(o);
	}
	fflush(stdout);
	d.f = (struct task_mgr_filter){ .all = true };
	EX_AWAIT(&d.a, cx,
		 task_mgr_shutdown_tasks(&d.sd, &d.f, EX_CANCEL_SHUTDOWN,
					 ex_now_ns() + 30000000000ull));
	if (EX_AWAITED(&d.a) != 0) {
		fprintf(stderr, "walrecv-driver: tasks still running after shutdown\n");
		d.rc = 1;
	}
	task_mgr_shutdown_clear(&d.sd);
	for (d.i = 0; d.i < d.n; d.i++)
		wal_timeline_free(&d.tl[d.i]);
	EX_END(&d.a, f, d.rc);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: walrecv-driver SOURCE DIR [--n N] [--slot PREFIX --create-slot] [--until LSN] [--timeout-ms MS]\n");
		return 2;
	}
	const char *source = argv[1], *dir = argv[2], *slot = NULL;
	bool create_slot = false;
	d.n = 1;
	d.timeout_ms = 60000;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc)
			d.n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--slot") && i + 1 < argc)
			slot = argv[++i];
		else if (!strcmp(argv[i], "--create-slot"))
			create_slot = true;
		else if (!strcmp(argv[i], "--until") && i + 1 < argc) {
			if (lsn_parse(argv[++i], &d.until) < 0) {
				fprintf(stderr, "walrecv-driver: bad LSN %s\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			d.timeout_ms = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "walrecv-driver: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	execd_log_init(LOG_INFO, 1);
	execd_config.wal_retention_bytes = getenv("WAL_RETENTION_BYTES")
						   ? strtoull(getenv("WAL_RETENTION_BYTES"), NULL,
							      10)
						   : 1ull << 30;
	execd_config.wal_retention_age_s = 0;
	d.tl = calloc((size_t)d.n, sizeof *d.tl);
	for (int i = 0; i < d.n; i++) {
		struct timeline *t = &d.tl[i];
		execd_id_generate(&t->tenant_id);
		execd_id_generate(&t->id);
		if (asprintf(&t->dir, "%s/tl%d", dir, i) < 0)
			return 1;
		mkdir(dir, 0700);
		mkdir(t->dir, 0700);
		t->source = strdup(source);
		if (slot && asprintf(&t->slot, "%s%d", slot, i) < 0)
			return 1;
		t->create_slot = create_slot;
	}
	struct ex_runtime_config cfg = ex_runtime_config_default();
	cfg.handle_signals = true;
	cfg.workers = 2;
	int r = ex_runtime_new(&cfg, &rt);
	if (r < 0) {
		fprintf(stderr, "walrecv-driver: runtime: %s\n", strerror(-r));
		return 1;
	}
	if ((r = task_mgr_init(ex_runtime_shutdown_token(rt), NULL)) < 0)
		return 1;
	d.fut.poll = root_poll;
	int64_t out = 1;
	r = ex_runtime_block_on(rt, &d.fut, &out);
	task_mgr_fini();
	ex_runtime_free(rt);
	for (int i = 0; i < d.n; i++) {
		free(d.tl[i].dir);
		free(d.tl[i].source);
		free(d.tl[i].slot);
	}
	free(d.tl);
	return r < 0 ? 1 : (int)out;
}
