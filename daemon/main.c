/* SPDX-License-Identifier: MIT */
/*
 * daemon/main.c — execd: configuration, start-up, and the ordered graceful shutdown.
 *
 * Start: load the state directory, open the control socket, start every tenant's and timeline's
 * tasks, then READY=1. Stop (SIGTERM/SIGINT, or a critical task failing): STOPPING=1, refuse new
 * tasks, then shut down in order — the control socket and its requests; timeline tasks (they
 * finish writing and persist); tenant tasks; the rest — all under one deadline
 * (--shutdown-timeout). A task that ignores cancellation is named in the log and the exit status
 * is 1. SIGQUIT exits at once.
 */
#include <config.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include <executor/async.h>
#include <executor/blocking.h>
#include <executor/runtime.h>
#include <executor/select.h>
#include <executor/signal.h>
#include <executor/task.h>
#include <executor/time.h>

#include "conf.h"
#include "ctl/ctl.h"
#include "log.h"
#include "metrics/metrics_http.h"
#include "shutdown.h"
#include "task_mgr.h"
#include "registry/registry.h"
#include "backup/backup.h"
#include "remote/fetch.h"
#include "remote/node.h"
#include "remote/upload.h"

static struct ex_runtime *rt;
static int fatal_err; /* set once by a failing critical task */

static void on_critical_failure(int err, uint64_t task_id)
{
	__atomic_store_n(&fatal_err, err ? err : -EIO, __ATOMIC_RELEASE);
	log_error("critical task %llu failed (%s): stopping the daemon",
		  (unsigned long long)task_id, strerror(-err));
	ex_runtime_shutdown(rt);
}

static void runtime_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	execd_log(prio, "%s", msg);
}

/* ---------------- status / watchdog task ---------------- */

struct status_task {
	struct ex_future fut;
	struct ex_async a;
	uint64_t watchdog_usec;
	uint64_t period_ns;
	struct ex_sleep sleep;
	struct ex_select sel;
	struct task_mgr_watcher w;
};

/* @p first: lines sent in the same datagram before the status (READY=1), or "". */
static void notify_status(const char *first)
{
	sd_notifyf(0, "%sSTATUS=%zu tenants, %zu timelines, %zu tasks, %u control connections",
		   first, registry_tenant_count(), registry_timeline_count(), task_mgr_count(NULL),
		   ctl_server_connections());
}

static ex_poll_t status_poll(struct ex_future *f, struct ex_context *cx)
{
	struct status_task *s = ex_container_of(f, struct status_task, fut);
	EX_BEGIN(&s->a);
	for (;;) {
		notify_status("");
		if (s->watchdog_usec)
			sd_notify(0, "WATCHDOG=1");
		EX_AWAIT(&s->a, cx,
			 &ex_select(&s->sel, ex_sleep(&s->sleep, s->period_ns),
				    task_mgr_shutdown_watcher(&s->w))
				  ->base);
		if (EX_AWAITED(&s->a) == 1)
			break;
	}
	EX_END(&s->a, f, 0);
}

static void status_drop(struct ex_future *f)
{
	free(ex_container_of(f, struct status_task, fut));
}

static int spawn_status(void)
{
	struct status_task *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->fut.poll = status_poll;
	s->period_ns = 5ull * 1000 * 1000 * 1000;
	if (sd_watchdog_enabled(0, &s->watchdog_usec) > 0 && s->watchdog_usec) {
		/* pet at half the interval, as sd_watchdog_enabled(3) recommends */
		uint64_t half = s->watchdog_usec * 1000 / 2;
		if (half < s->period_ns)
			s->period_ns = half;
		log_info("watchdog enabled: %llu us", (unsigned long long)s->watchdog_usec);
	} else {
		s->watchdog_usec = 0;
	}
	return task_mgr_spawn(TASK_KIND_STATUS, NULL, NULL, "status", false, &s->fut, status_drop,
			      NULL);
}

/* ---------------- the root future ---------------- */

struct root {
	struct ex_future fut;
	struct ex_async a;
	struct ex_blocking blk;
	struct ex_cancelled sig;
	int listen_fd;
	int exit_code;
	size_t stuck;
	uint64_t deadline_ns; /* of the shutdown (ex_now_ns clock) */
	struct daemon_shutdown sd;
	int64_t rc;
};

static int64_t blk_registry_init(void *arg)
{
	(void)arg;
	int r = registry_init(execd_config.state_dir);
	/* the node id names this execd in remote attachments (docs/remote-storage.md) */
	return r < 0 ? r : node_id_init(execd_config.state_dir);
}

static int64_t blk_registry_start(void *arg)
{
	(void)arg;
	return registry_start(); /* reads each timeline's WAL state: file I/O, so off the workers */
}

static int64_t blk_socket_open(void *arg)
{
	(void)arg;
	return ctl_socket_open(execd_config.socket_path);
}

static ex_poll_t root_poll(struct ex_future *f, struct ex_context *cx)
{
	struct root *r = ex_container_of(f, struct root, fut);
	int e;

	EX_BEGIN(&r->a);
	ctl_set_start_time(ex_now_ns());
	EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, blk_registry_init, NULL));
	if ((r->rc = EX_AWAITED(&r->a)) < 0) {
		log_error("cannot load the state directory %s: %s", execd_config.state_dir,
			  strerror((int)-r->rc));
		EX_RETURN(&r->a, f, 1);
	}
	EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, blk_socket_open, NULL));
	if ((r->rc = EX_AWAITED(&r->a)) < 0)
		EX_RETURN(&r->a, f, 1);
	r->listen_fd = (int)r->rc;
	backup_init();        /* before the timelines' retention runs: it keeps what backups need */
	remote_upload_init(); /* likewise: retention asks remote storage before removing */
	remote_fetch_init();  /* wal.list shows what is remote only */
	EX_AWAIT(&r->a, cx, ex_spawn_blocking(&r->blk, blk_registry_start, NULL));
	if ((r->rc = EX_AWAITED(&r->a)) < 0)
		log_warning("some tenants or timelines did not start (%s); see above",
			    strerror((int)-r->rc));
	if ((e = ctl_server_start(r->listen_fd)) < 0) {
		log_error("cannot start the control listener: %s", strerror(-e));
		EX_RETURN(&r->a, f, 1);
	}
	if (execd_config.metrics_listen && metrics_http_start(execd_config.metrics_listen) < 0)
		EX_RETURN(&r->a, f, 1); /* asked for and impossible: say so at once (logged) */
	/* READY=1 before the status task exists, so that its first WATCHDOG=1 cannot precede it;
	 * with a first STATUS= in the same datagram, so that a stop right away cannot precede that */
	notify_status("READY=1\n");
	if ((e = spawn_status()) < 0)
		log_warning("cannot start the status task: %s", strerror(-e));
	if ((e = backup_housekeeping_start()) < 0)
		log_warning("cannot start the base backup scheduler: %s", strerror(-e));
	log_info("execd %s ready: state %s, %zu tenants, %zu timelines", PACKAGE_VERSION,
		 execd_config.state_dir, registry_tenant_count(), registry_timeline_count());

	/* run until SIGTERM/SIGINT or a critical failure cancels the runtime's shutdown token */
	EX_AWAIT(&r->a, cx, &ex_cancelled(&r->sig, ex_runtime_shutdown_token(rt))->base);

	sd_notify(0, "STOPPING=1");
	ctl_set_stopping();
	log_info("shutting down (timeout %llu ms)",
		 (unsigned long long)execd_config.shutdown_timeout_ms);
	r->deadline_ns = ex_now_ns() + execd_config.shutdown_timeout_ms * 1000000ull;
	EX_AWAIT(&r->a, cx, daemon_shutdown(&r->sd, r->deadline_ns));
	r->stuck = (size_t)EX_AWAITED(&r->a);
	/* rule 3: a detached task outside task_mgr gets what is left of the same deadline */
	{
		uint64_t now = ex_now_ns();
		ex_runtime_set_detach_grace(rt, now < r->deadline_ns ? r->deadline_ns - now : 0);
	}
	r->exit_code = 0;
	if (r->stuck) {
		log_error("shutdown: %zu task%s did not stop within %llu ms", r->stuck,
			  r->stuck == 1 ? "" : "s",
			  (unsigned long long)execd_config.shutdown_timeout_ms);
		r->exit_code = 1;
	} else if (__atomic_load_n(&fatal_err, __ATOMIC_ACQUIRE)) {
		r->exit_code = 1;
	} else {
		log_info("stopped cleanly");
	}
	EX_END(&r->a, f, r->exit_code);
}

static void on_sigquit(int sig)
{
	static const char msg[] = "execd: SIGQUIT: exiting at once\n";
	ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)n;
	(void)sig;
	_exit(128 + SIGQUIT);
}

/*
 * glibc's malloc adapts its thresholds to the largest block freed: after a timeline's catch-up
 * (128 KiB CopyData messages from PQgetCopyData, freed by the flush job's pool thread), blocks
 * up to 32 MiB stop being mmap()ed and each thread's arena keeps up to twice that free at its top
 * instead of giving it back. With 16 pool threads and 2 workers that was 4-6 MiB resident per
 * arena, idle (issue 18: RSS per timeline). Fixed thresholds end the adaptation: 256 KiB keeps a
 * message in the arenas (no mmap per message), anything freed above 512 KiB at an arena's top
 * goes back to the system. Source: mallopt(3), M_MMAP_THRESHOLD and M_TRIM_THRESHOLD.
 */
static void malloc_tune(void)
{
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 512 * 1024);
}

int main(int argc, char **argv)
{
	struct ex_runtime_config cfg;
	struct ex_cancel_token *root_token = NULL;
	struct root root = { .listen_fd = -1 };
	struct sigaction sa = { .sa_handler = on_sigquit };
	int64_t out = 1;
	int r;

	malloc_tune();
	switch (config_parse(argc, argv, stdout, stderr)) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_EXIT_USAGE:
		return 2;
	case CONFIG_RUN:
		break;
	}
	execd_log_init(execd_config.log_level, 0);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	cfg = ex_runtime_config_default();
	cfg.workers = execd_config.workers;
	/* A fixed pool, started now: the thread count is the same with 1 timeline as with 500
	 * (issue 18). The stream's hot path never uses the pool; what does (compression, zero-filling
	 * the next segment, retention, control requests, uploads) queues past 16. */
	cfg.blocking_core_threads = cfg.blocking_threads;
	cfg.handle_signals = true;
	cfg.log = runtime_log;
	/* the root future waits for every task, in order, under --shutdown-timeout; what is left of
	 * that deadline it hands to the runtime for any other detached task (root_poll) */
	cfg.detach_grace_ns = 0;
	if ((r = ex_runtime_new(&cfg, &rt)) < 0) {
		log_error("cannot start the runtime: %s", strerror(-r));
		return 1;
	}
	/* Tasks' tokens descend from a root of our own, not from the runtime's shutdown token: a
	 * signal must not cancel everything at once, the shutdown goes step by step. */
	if ((r = ex_cancel_token_new(&root_token)) < 0 ||
	    (r = task_mgr_init(root_token, on_critical_failure)) < 0) {
		log_error("cannot initialise: %s", strerror(-r));
		return 1;
	}
	root.fut.poll = root_poll;
	r = ex_runtime_block_on(rt, &root.fut, &out);
	if (r < 0) {
		log_error("runtime: %s", strerror(-r));
		out = 1;
	}
	if (root.stuck) {
		/* a task still runs: tearing down under it is unsafe; leave now */
		fflush(stderr);
		_exit((int)out);
	}
	ex_runtime_free(rt);
	registry_fini();
	task_mgr_fini();
	ex_cancel_token_unref(root_token);
	config_free();
	return (int)out;
}
