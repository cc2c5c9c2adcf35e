/* SPDX-License-Identifier: MIT */
/*
 * Runtime logging: one formatted line to the configured callback, or to stderr. The runtime logs
 * rarely (slow polls, shutdown, failures), so formatting into a stack buffer is enough.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "rt_internal.h"

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
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void vlog(struct ex_runtime *rt, int prio, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (rt && rt->cfg.log) {
		rt->cfg.log(prio, msg, rt->cfg.log_arg);
		return;
	}
	/* One fprintf: stdio locks the stream, so lines from several threads do not interleave. */
	fprintf(stderr, "libexecutor: %s: %s\n", prio_name(prio), msg);
}

void ex__log(struct ex_runtime *rt, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(rt, prio, fmt, ap);
	va_end(ap);
}

void ex_runtime_log(struct ex_runtime *rt, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(rt ? rt : ex__tl_runtime, prio, fmt, ap);
	va_end(ap);
}
