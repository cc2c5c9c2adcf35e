/* SPDX-License-Identifier: MIT */
/* daemon/fault.c — fault injection for tests (fault.h): a write held at its hold point. */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Open the FIFO DIR/leaf with @p flags (blocks until the other end opens it). -1 if absent. */
static int open_fifo(const char *dir, const char *leaf, int flags)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, leaf) >= sizeof path ||
	    stat(path, &st) < 0 || !S_ISFIFO(st.st_mode))
		return -1;
	do
		fd = open(path, flags | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

void fault_hold_write(const char *dir, const char *name)
{
	const char *fdir = getenv("EXECD_FAULT_HOLD_WRITE");
	char buf[256];
	int fd;

	if (!fdir || !*fdir || (fd = open_fifo(fdir, "reached", O_WRONLY)) < 0)
		return;
	log_warning("fault injection: holding the write of %s/%s", dir, name);
	int n = snprintf(buf, sizeof buf, "%s\n", name);
	if (write(fd, buf, (size_t)n) < 0)
		log_warning("fault injection: %s/reached: %s", fdir, strerror(errno));
	close(fd);
	if ((fd = open_fifo(fdir, "release", O_RDONLY)) < 0)
		return;
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
	log_warning("fault injection: released the write of %s/%s", dir, name);
}
