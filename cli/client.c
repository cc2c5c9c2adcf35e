/* SPDX-License-Identifier: MIT */
/* execctl's control-protocol client: see client.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "output.h"

/* How long execctl waits for an answer beyond the command's own timeout: the daemon may be busy
 * (or just socket-activated and starting). Generous, because a slow answer is not a failure. */
#define CLIENT_MARGIN_MS 30000
/* A response larger than this is a broken daemon, not a big task list. */
#define CLIENT_MAX_RESPONSE (64u << 20)

const char *client_default_socket(void)
{
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (geteuid() != 0 && xdg && *xdg) {
		int n = snprintf(path, sizeof(path), "%s/execd.sock", xdg);
		if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISSOCK(st.st_mode))
			return path;
	}
	return "/run/execd/execd.sock";
}

int client_exit_code(const char *code)
{
	enum proto_error e;

	if (proto_error_from_name(code, &e) < 0)
		return EXECCTL_EXIT_FAILURE;
	switch (e) {
	case PROTO_ERR_NOT_FOUND:
		return EXECCTL_EXIT_NOT_FOUND;
	case PROTO_ERR_PERMISSION_DENIED:
		return EXECCTL_EXIT_PERMISSION;
	default:
		return EXECCTL_EXIT_FAILURE;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unreachable(const char *path, int err)
{
	fprintf(stderr, "execctl: cannot reach execd at %s: %s\n", path, strerror(err));
	if (err == EACCES || err == EPERM) {
		fprintf(stderr, "Run as root, or as a member of the 'execd' group.\n");
		return EXECCTL_EXIT_PERMISSION;
	}
	fprintf(stderr,
		"Is execd running? Start it with 'systemctl start execd' (or run "
		"'execd --socket %s'),\nor name its socket with --socket PATH or EXECCTL_SOCKET.\n",
		path);
	return EXECCTL_EXIT_UNREACHABLE;
}

static int client_connect(struct execctl *ctx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(ctx->socket_path);
	int fd;

	if (len >= sizeof(sa.sun_path)) {
		fprintf(stderr, "execctl: socket path too long (%zu bytes, at most %zu): %s\n", len,
			sizeof(sa.sun_path) - 1, ctx->socket_path);
		return EXECCTL_EXIT_USAGE;
	}
	memcpy(sa.sun_path, ctx->socket_path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "execctl: socket: %s\n", strerror(errno));
		return EXECCTL_EXIT_FAILURE;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return unreachable(ctx->socket_path, err);
	}
	ctx->fd = fd;
	return 0;
}

void client_close(struct execctl *ctx)
{
	if (ctx->fd >= 0)
		close(ctx->fd);
	ctx->fd = -1;
}

static int lost(struct execctl *ctx, const char *what, int err)
{
	fprintf(stderr, "execctl: connection to execd at %s lost while %s: %s\n", ctx->socket_path,
		what, err ? strerror(err) : "closed by execd");
	client_close(ctx);
	return EXECCTL_EXIT_FAILURE;
}

static int send_all(struct execctl *ctx, const char *buf, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon that closed the connection is an error, not SIGPIPE. */
		ssize_t n = send(ctx->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return lost(ctx, "sending the request", errno);
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* recv(2) that also takes a descriptor passed with the bytes (SCM_RIGHTS, docs/protocol.md
 * "Passed descriptors") into *fd, if *fd is still -1; any other passed descriptor is closed. */
static ssize_t recv_fd(int sock, char *buf, size_t len, int *fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctrl;
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl.buf,
			     .msg_controllen = sizeof ctrl.buf };
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof f);
			if (*fd < 0)
				*fd = f;
			else
				close(f);
		}
	}
	return n;
}

/* Reads one '\n'-terminated line into a malloc'd, NUL-terminated buffer before the deadline, and
 * a descriptor passed with it into *fd (-1: none; the caller closes it). */
static int recv_line(struct execctl *ctx, int64_t deadline_ms, char **line, int *fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return lost(ctx, "reading the response", ENOMEM);
	for (;;) {
		struct pollfd pfd = { .fd = ctx->fd, .events = POLLIN };
		int64_t left = deadline_ms - now_ms();
		ssize_t n;
		int r;

		if (left <= 0) {
			free(buf);
			fprintf(stderr, "execctl: execd at %s did not answer in time\n",
				ctx->socket_path);
			client_close(ctx);
			return EXECCTL_EXIT_FAILURE;
		}
		r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return lost(ctx, "reading the response", errno);
		}
		if (r == 0)
			continue;
		if (cap - len < 4096) {
			char *nb;
			if (cap >= CLIENT_MAX_RESPONSE) {
				free(buf);
				return lost(ctx, "reading the response", EMSGSIZE);
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return lost(ctx, "reading the response", ENOMEM);
			}
			buf = nb;
			cap *= 2;
		}
		n = recv_fd(ctx->fd, buf + len, cap - len - 1, fd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : 0;
			free(buf);
			return lost(ctx, "reading the response", err);
		}
		/* Only one request is in flight, so nothing can follow the newline. */
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			*line = buf;
			return 0;
		}
	}
}

static void print_daemon_error(enum proto_command command, const cJSON *err)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	const cJSON *cands = cJSON_GetObjectItemCaseSensitive(err, "candidates");
	const char *internal = proto_error_name(PROTO_ERR_INTERNAL);
	const char *c = cJSON_IsString(code) ? code->valuestring : internal;
	enum proto_error e;

	fprintf(stderr, "execctl: %s: %s", proto_command_name(command),
		cJSON_IsString(msg) && *msg->valuestring ? msg->valuestring : c);
	if (strcmp(c, internal) != 0 && cJSON_IsString(msg))
		fprintf(stderr, " (%s)", c);
	fputc('\n', stderr);
	if (cJSON_IsArray(cands)) {
		const cJSON *it;
		fprintf(stderr, "Candidates:\n");
		cJSON_ArrayForEach (it, cands) {
			if (cJSON_IsString(it))
				fprintf(stderr, "  %s\n", it->valuestring);
			else if (cJSON_IsObject(it)) {
				const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
				if (cJSON_IsString(id))
					fprintf(stderr, "  %s\n", id->valuestring);
			}
		}
	}
	if (proto_error_from_name(c, &e) == 0 && e == PROTO_ERR_PERMISSION_DENIED)
		fprintf(stderr, "Run as root or as execd's user%s.\n",
			proto_command_mutating(command) ? ""
							: ", or as a member of the 'execd' group");
}

int client_call(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		cJSON **response)
{
	int fd = -1, r = client_call_fd(ctx, command, args, wait_ms, response, &fd);
	if (fd >= 0)
		close(fd); /* a response without "fd": true never has one; never leak it */
	return r;
}

int client_call_fd(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		   cJSON **response, int *fd)
{
	cJSON *req = cJSON_CreateObject(), *resp, *ok;
	int64_t id = ++ctx->next_id;
	char *text = NULL, *line = NULL;
	int r;

	*response = NULL;
	*fd = -1;
	if (!req) {
		cJSON_Delete(args);
		return print_out_of_memory();
	}
	cJSON_AddNumberToObject(req, "version", PROTO_VERSION);
	cJSON_AddNumberToObject(req, "id", (double)id);
	cJSON_AddStringToObject(req, "command", proto_command_name(command));
	cJSON_AddItemToObject(req, "args", args ? args : cJSON_CreateObject());
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return print_out_of_memory();
	if (ctx->fd < 0 && (r = client_connect(ctx)) != 0) {
		cJSON_free(text);
		return r;
	}
	/* The newline frames the request; cJSON never emits a raw newline inside a string. */
	r = send_all(ctx, text, strlen(text));
	if (r == 0)
		r = send_all(ctx, "\n", 1);
	cJSON_free(text);
	if (r != 0)
		return r;
	r = recv_line(ctx, now_ms() + (wait_ms > 0 ? wait_ms : 0) + CLIENT_MARGIN_MS, &line, fd);
	if (r != 0) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return r;
	}
	resp = cJSON_Parse(line);
	free(line);
	if (*fd >= 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok"))) {
		close(*fd); /* only a successful response carries one */
		*fd = -1;
	}
	if (!cJSON_IsObject(resp)) {
		cJSON_Delete(resp);
		fprintf(stderr, "execctl: %s: execd sent a response that is not a JSON object\n",
			proto_command_name(command));
		client_close(ctx);
		return EXECCTL_EXIT_FAILURE;
	}
	ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
	if (!cJSON_IsBool(ok)) {
		cJSON_Delete(resp);
		fprintf(stderr, "execctl: %s: execd's response has no \"ok\" field\n",
			proto_command_name(command));
		return EXECCTL_EXIT_FAILURE;
	}
	if (cJSON_IsFalse(ok)) {
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(resp, "error");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
		r = client_exit_code(cJSON_IsString(code) ? code->valuestring : NULL);
		print_daemon_error(command, err);
		cJSON_Delete(resp);
		return r;
	}
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp, "result"))) {
		cJSON_Delete(resp);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		fprintf(stderr, "execctl: %s: execd's response has no result object\n",
			proto_command_name(command));
		return EXECCTL_EXIT_FAILURE;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "fd")) != (*fd >= 0)) {
		fprintf(stderr, "execctl: %s: execd's response %s\n", proto_command_name(command),
			*fd >= 0 ? "came with an unexpected descriptor"
				 : "announced a descriptor that did not arrive");
		cJSON_Delete(resp);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return EXECCTL_EXIT_FAILURE;
	}
	*response = resp;
	return 0;
}
