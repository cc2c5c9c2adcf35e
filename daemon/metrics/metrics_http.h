/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics_http.h — the /metrics HTTP endpoint (--metrics-listen), served with
 * libmicrohttpd from an executor task.
 */
#ifndef EXECD_METRICS_HTTP_H
#define EXECD_METRICS_HTTP_H

#include <sys/socket.h>

/**
 * Parse @p s, "ADDR:PORT" (IPv4 "127.0.0.1:9187" or IPv6 "[::1]:9187"; numeric only, no name
 * lookup), into @p ss / @p len. @return 0 or -EINVAL. Thread-safe.
 */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/**
 * Listen on @p addr ("ADDR:PORT") and spawn the task that serves GET /metrics there (task kind
 * "other", name "metrics"; it stops with the daemon's last shutdown step). Call on a runtime
 * thread. @return 0, -EINVAL (bad address), -EADDRINUSE or another bind error as reported by
 * libmicrohttpd (errno), or a task_mgr_spawn error. Logs the reason on failure.
 */
int metrics_http_start(const char *addr);

#endif /* EXECD_METRICS_HTTP_H */
