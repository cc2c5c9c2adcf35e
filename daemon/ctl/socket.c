/* SPDX-License-Identifier: MIT */
/* daemon/ctl/socket.c — the control socket: socket activation or bind, mode 0660, group execd. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"

static struct {
	char *path; /* set if we created the socket file */
	dev_t dev;
	ino_t ino;
} created;

static int make_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int r = 0;
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* 0755, not the state directory's 0750: members of group execd must reach the socket
		 * (the socket's own mode, 0660, is what restricts access) */
		for (char *p = dir + 1; *p && !r; p++)
			if (*p == '/') {
				*p = '\0';
				if (mkdir(dir, 0755) < 0 && errno != EEXIST)
					r = -errno;
				*p = '/';
			}
		if (!r && mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = -errno;
	}
	free(dir);
	return r;
}

int ctl_socket_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	gid_t gid;
	int n, fd, r;

	n = sd_listen_fds(1);
	if (n < 0) {
		log_error("sd_listen_fds: %s", strerror(-n));
		return n;
	}
	if (n > 1) {
		log_error("expected one socket from systemd, got %d", n);
		return -EINVAL;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
		if (r <= 0) {
			log_error(
				"the socket passed by systemd is not a listening Unix stream socket");
			return r < 0 ? r : -EINVAL;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		log_info("listening on the socket passed by systemd");
		return fd;
	}

	if (strlen(path) >= sizeof sa.sun_path) {
		log_error("socket path too long (max %zu bytes): %s", sizeof sa.sun_path - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if ((r = make_parent(path)) < 0) {
		log_error("cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("%s exists and is not a socket", path);
			close(fd);
			return -EEXIST;
		}
		/* a live daemon answers; a stale socket file refuses */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(probe);
			close(fd);
			log_error("another execd is listening on %s", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		r = -errno;
		log_error("cannot bind %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	/* nobody can connect before listen(), so setting the mode after bind leaves no window */
	if (chmod(path, 0660) < 0) {
		r = -errno;
		log_error("cannot chmod %s: %s", sa.sun_path, strerror(-r));
		unlink(path);
		close(fd);
		return r;
	}
	if (!ctl_socket_gid(&gid)) {
		if (strcmp(execd_config.socket_group, "execd") != 0)
			log_warning("--socket-group %s: no such group; only root and the daemon's "
				    "user can use %s",
				    execd_config.socket_group, path);
	} else if (chown(path, (uid_t)-1, gid) < 0) {
		log_warning("cannot give %s to group %s: %s", path, execd_config.socket_group,
			    strerror(errno));
	}
	if (listen(fd, 128) < 0) {
		r = -errno;
		unlink(path);
		close(fd);
		return r;
	}
	if (stat(path, &st) == 0) {
		created.path = strdup(path);
		created.dev = st.st_dev;
		created.ino = st.st_ino;
	}
	log_info("listening on %s", path);
	return fd;
}

void ctl_socket_close(int fd)
{
	struct stat st;
	if (fd >= 0)
		close(fd);
	/* remove the file only if it is still the one we bound (a new daemon may own the path) */
	if (created.path && stat(created.path, &st) == 0 && st.st_dev == created.dev &&
	    st.st_ino == created.ino)
		unlink(created.path);
	free(created.path);
	created.path = NULL;
}
