/* SPDX-License-Identifier: MIT */
/* daemon/log.c — journal (structured fields) or stderr logging; see log.h. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

static int log_max_prio = LOG_INFO;
static int log_to_journal;
static execd_log_task_fn log_task_hook;

void execd_log_set_task_hook(execd_log_task_fn fn)
{
	__atomic_store_n(&log_task_hook, fn, __ATOMIC_RELEASE);
}

static bool current_task(struct execd_log_task *out)
{
	execd_log_task_fn fn = __atomic_load_n(&log_task_hook, __ATOMIC_ACQUIRE);
	return fn && fn(out);
}

/* systemd sets $JOURNAL_STREAM to "dev:ino" of stderr when it is connected to the journal. */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void execd_log_init(int max_prio, int force_stderr)
{
	log_max_prio = max_prio;
	log_to_journal = !force_stderr && (stderr_is_journal() || getenv("INVOCATION_ID"));
}

int execd_log_enabled(int prio)
{
	return prio <= log_max_prio;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void execd_log_one_line(char *msg)
{
	char *out = msg;
	for (const char *in = msg; *in;) {
		if (*in != '\n' && *in != '\r') {
			*out++ = *in++;
			continue;
		}
		while (*in == '\n' || *in == '\r' || *in == ' ' || *in == '\t')
			in++;
		if (*in && out != msg)
			*out++ = ' ';
	}
	while (out != msg && (out[-1] == ' ' || out[-1] == '\t'))
		out--;
	*out = '\0';
}

void execd_logv_ids(int prio, const struct execd_id *tenant, const struct execd_id *timeline,
		    const char *fmt, va_list ap)
{
	char msg[2048], tid[EXECD_ID_STR_SIZE], tlid[EXECD_ID_STR_SIZE];
	struct execd_log_task ident;
	bool in_task;
	int saved_errno = errno;

	if (!execd_log_enabled(prio))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	execd_log_one_line(msg);
	in_task = current_task(&ident);
	if (!tenant && in_task && ident.has_tenant)
		tenant = &ident.tenant;
	if (!timeline && in_task && ident.has_timeline)
		timeline = &ident.timeline;
	if (tenant)
		execd_id_format(tenant, tid);
	if (timeline)
		execd_id_format(timeline, tlid);

	if (log_to_journal) {
		char f_msg[2100], f_prio[32], f_ten[48], f_tl[48], f_kind[48], f_id[48], f_name[80];
		struct iovec iov[8];
		int n = 0;
#define ADD(buf, ...)                                                                       \
	do {                                                                                \
		int l_ = snprintf(buf, sizeof buf, __VA_ARGS__);                            \
		iov[n].iov_base = buf;                                                      \
		iov[n].iov_len = (size_t)(l_ < (int)sizeof buf ? l_ : (int)sizeof buf - 1); \
		n++;                                                                        \
	} while (0)
		ADD(f_msg, "MESSAGE=%s", msg);
		ADD(f_prio, "PRIORITY=%d", prio);
		if (tenant)
			ADD(f_ten, "TENANT_ID=%s", tid);
		if (timeline)
			ADD(f_tl, "TIMELINE_ID=%s", tlid);
		if (in_task) {
			ADD(f_kind, "TASK_KIND=%s", ident.kind);
			ADD(f_id, "TASK_ID=%llu", (unsigned long long)ident.id);
			ADD(f_name, "TASK_NAME=%s", ident.name);
		}
#undef ADD
		if (sd_journal_sendv(iov, n) >= 0) {
			errno = saved_errno;
			return;
		}
		/* fall back to stderr if the journal is gone */
	}

	char ctx[200] = "";
	size_t off = 0;
	if (in_task)
		off += (size_t)snprintf(ctx + off, sizeof ctx - off, " task=%llu/%s/%s",
					(unsigned long long)ident.id, ident.kind, ident.name);
	if (tenant && off < sizeof ctx)
		off += (size_t)snprintf(ctx + off, sizeof ctx - off, " tenant=%s", tid);
	if (timeline && off < sizeof ctx)
		snprintf(ctx + off, sizeof ctx - off, " timeline=%s", tlid);
	/* one fprintf per line: stdio locks the stream, so lines from several threads never mix */
	fprintf(stderr, "execd: %s%s: %s\n", prio_name(prio), ctx, msg);
	errno = saved_errno;
}

void execd_log_ids(int prio, const struct execd_id *tenant, const struct execd_id *timeline,
		   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	execd_logv_ids(prio, tenant, timeline, fmt, ap);
	va_end(ap);
}

void execd_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	execd_logv_ids(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}
