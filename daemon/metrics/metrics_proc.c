/* SPDX-License-Identifier: MIT */
/*
 * daemon/metrics/metrics_proc.c — the process_* metrics, named as Prometheus's client libraries
 * export them (client_golang's process collector): CPU seconds, resident and virtual memory,
 * open and maximum fds, start time, threads. Read from /proc/self at each scrape: procfs reads
 * are answered from kernel memory, never from disk, so they do not block a worker on I/O.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "metrics_int.h"

/* The fields of /proc/self/stat we need (proc(5): utime 14, stime 15, num_threads 20,
 * starttime 22, vsize 23, rss 24), counted after the ')' that ends the command name. */
struct proc_stat {
	unsigned long long utime, stime, threads, starttime, vsize, rss;
};

static int read_stat(struct proc_stat *ps)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* field 3 (state) onwards */
	return sscanf(p + 2,
		      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %llu "
		      "%*d %llu %llu %llu",
		      &ps->utime, &ps->stime, &ps->threads, &ps->starttime, &ps->vsize,
		      &ps->rss) == 6
		       ? 0
		       : -1;
}

/* Boot time (Unix s): now on CLOCK_REALTIME minus now on CLOCK_BOOTTIME (the clock starttime
 * counts on). Not /proc/stat's btime: the unit's ProcSubset=pid hides /proc/stat. */
static double boot_time(void)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (double)(rt.tv_sec - bt.tv_sec) + (double)(rt.tv_nsec - bt.tv_nsec) / 1e9;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

static void gauge(FILE *f, const char *name, const char *type, const char *help, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.15g\n", name, help, name, type, name, v);
}

void metrics_proc_render(FILE *f)
{
	struct proc_stat ps;
	double tck = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
	if (read_stat(&ps) == 0 && tck > 0) {
		gauge(f, "process_cpu_seconds_total", "counter",
		      "Total user and system CPU time spent in seconds.",
		      (double)(ps.utime + ps.stime) / tck);
		gauge(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
		      (double)ps.rss * page);
		gauge(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
		      (double)ps.vsize);
		gauge(f, "process_threads", "gauge", "Number of OS threads in the process.",
		      (double)ps.threads);
		gauge(f, "process_start_time_seconds", "gauge",
		      "Start time of the process since unix epoch in seconds.",
		      boot_time() + (double)ps.starttime / tck);
	}
	long fds = open_fds();
	if (fds >= 0)
		gauge(f, "process_open_fds", "gauge", "Number of open file descriptors.",
		      (double)fds);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		gauge(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
		      (double)rl.rlim_cur);
}
