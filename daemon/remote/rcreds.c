/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rcreds.c — the credentials file of a tenant's remote storage (rconf.h): its
 * checks (regular file, owned by the daemon's user, no group/other bits, both keys present) and
 * the making of an S3 client with its keys. The content is never put in a message: a reason
 * names the file and the line number at most.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rconf.h"
#include "s3.h"

#define CREDS_MAX 8192 /* bytes: a credentials file is a few lines */

/** The two keys of a credentials file (cleared by creds_clear). */
struct creds {
	char access[256];
	char secret[256];
};

static void creds_clear(struct creds *k)
{
	explicit_bzero(k, sizeof *k);
}

static int whyf(char *why, size_t whylen, int err, const char *fmt, const char *path, long n)
{
	if (why && whylen)
		snprintf(why, whylen, fmt, path, n);
	return err;
}

/* Open @p path and check what it is and who may read it. @return the descriptor or -errno. */
static int creds_open(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			return whyf(why, whylen, -EINVAL, "credentials file %s is a symbolic link",
				    path, 0);
		return whyf(why, whylen, e == ENOENT ? -ENOENT : -EACCES,
			    e == ENOENT ? "credentials file %s does not exist"
					: "credentials file %s cannot be opened",
			    path, 0);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return whyf(why, whylen, -EINVAL, "credentials file %s is not a regular file", path,
			    0);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return whyf(why, whylen, -EACCES,
			    "credentials file %s is not owned by the daemon's user (uid %ld)", path,
			    (long)geteuid());
	}
	if (st.st_mode & 077) {
		close(fd);
		return whyf(why, whylen, -EACCES,
			    "credentials file %s has mode %04lo: group and others must have no "
			    "access (chmod 0600)",
			    path, (long)(st.st_mode & 07777));
	}
	return fd;
}

/* Read all of @p fd (at most CREDS_MAX bytes) into @p buf. */
static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	while (n < cap - 1) {
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*len = n;
	return n == cap - 1 ? -EFBIG : 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One line: "key = value", a comment, a blank line or "[default]". @return 0 or -EINVAL. */
static int parse_line(char *line, struct creds *k)
{
	char *eq, *key, *val, *dst;
	line = trim(line);
	if (!*line || *line == '#' || *line == ';' || !strcmp(line, "[default]"))
		return 0;
	if (!(eq = strchr(line, '=')))
		return -EINVAL;
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	dst = !strcmp(key, "access_key_id") || !strcmp(key, "aws_access_key_id") ? k->access
	      : !strcmp(key, "secret_access_key") || !strcmp(key, "aws_secret_access_key")
		      ? k->secret
		      : NULL;
	if (!dst || !*val || strlen(val) >= sizeof k->access)
		return -EINVAL;
	strcpy(dst, val);
	return 0;
}

/* Parse @p buf (modified) into @p k. */
static int parse_creds(char *buf, struct creds *k, const char *path, char *why, size_t whylen)
{
	long lineno = 0;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (parse_line(line, k) < 0)
			return whyf(why, whylen, -EINVAL,
				    "credentials file %s: line %ld is not \"access_key_id = ...\" "
				    "or \"secret_access_key = ...\"",
				    path, lineno);
	}
	if (!k->access[0] || !k->secret[0])
		return whyf(why, whylen, -EINVAL,
			    "credentials file %s lacks access_key_id or secret_access_key", path,
			    0);
	return 0;
}

/* Check and read the credentials file of @p c into @p k. */
static int creds_read(const struct remote_conf *c, struct creds *k, char *why, size_t whylen)
{
	char *buf = malloc(CREDS_MAX);
	size_t len;
	int r, fd;

	memset(k, 0, sizeof *k);
	if (!buf)
		return -ENOMEM;
	if ((fd = r = creds_open(c->credentials_file, why, whylen)) >= 0) {
		r = read_all(fd, buf, CREDS_MAX, &len);
		close(fd);
		if (r < 0)
			r = whyf(why, whylen, r == -EFBIG ? -EINVAL : -EACCES,
				 r == -EFBIG ? "credentials file %s is too large"
					     : "credentials file %s cannot be read",
				 c->credentials_file, 0);
		else
			r = parse_creds(buf, k, c->credentials_file, why, whylen);
		explicit_bzero(buf, CREDS_MAX);
	}
	free(buf);
	if (r < 0)
		creds_clear(k);
	return r;
}

int remote_conf_check(const struct remote_conf *c, char *why, size_t whylen)
{
	struct creds k;
	int r = creds_read(c, &k, why, whylen);
	creds_clear(&k);
	return r;
}

struct s3_client *remote_client_new(const struct remote_conf *c, int *err)
{
	struct s3_client *cl;
	struct creds k;
	int r = creds_read(c, &k, NULL, 0);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	struct s3_config cfg = {
		.endpoint = c->endpoint,
		.region = c->region,
		.access_key = k.access,
		.secret_key = k.secret,
		.connect_timeout_ms = 5000,
		.stall_timeout_s = 30,
		.ca_file = c->ca_file,
	};
	if (s3_global_init() < 0) {
		creds_clear(&k);
		*err = -EIO;
		return NULL;
	}
	cl = s3_client_new(&cfg);
	if (!cl)
		*err = errno ? -errno : -ENOMEM;
	creds_clear(&k);
	return cl;
}
