/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/access.c — who may do what on the control socket (docs/protocol.md "Access"):
 * the kernel's view of the peer (SO_PEERCRED, SO_PEERGROUPS: taken at connect time, so a client
 * cannot lie about itself), never anything the client says. The reading group is the socket's
 * group (--socket-group, default execd).
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

bool ctl_socket_gid(gid_t *out)
{
	const char *name = execd_config.socket_group ? execd_config.socket_group : "execd";
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res) {
		*out = res->gr_gid;
		return true;
	}
	/* a number that names no group is a gid (as chown(1) takes it) */
	errno = 0;
	v = strtoul(name, &end, 10);
	if (!*name || *end || errno || v >= (gid_t)-1)
		return false;
	*out = (gid_t)v;
	return true;
}

int ctl_peer_from_fd(int fd, struct ctl_peer *out)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	gid_t group;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	out->pid = cred.pid;
	out->uid = cred.uid;
	out->gid = cred.gid;
	out->can_write = cred.uid == 0 || cred.uid == geteuid();
	out->can_read = out->can_write;
	if (!out->can_read && ctl_socket_gid(&group)) {
		if (cred.gid == group) {
			out->can_read = true;
		} else {
			gid_t groups[256];
			socklen_t glen = sizeof groups;
			if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
				for (size_t i = 0; i < glen / sizeof groups[0]; i++)
					if (groups[i] == group)
						out->can_read = true;
		}
	}
	return 0;
}
