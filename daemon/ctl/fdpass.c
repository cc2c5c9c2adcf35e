/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/fdpass.c — sending descriptors with a response (SCM_RIGHTS, unix(7)): how
 * backup.restore hands execctl the backup's files, so that execctl, not the hardened daemon,
 * writes the restored directory, and the access rules stay the socket's (SO_PEERCRED).
 * The descriptors ride on the first bytes of the response line; the client collects them with
 * recvmsg(2) while it reads the line.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl.h"

ssize_t ctl_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds <= 0 || nfds > CTL_MAX_FDS || len == 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&u, 0, sizeof u);
	m.msg_control = u.buf;
	m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	return sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
}
