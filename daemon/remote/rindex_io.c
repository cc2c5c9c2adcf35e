/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rindex_io.c — the index and attachment objects on the server (rindex.h): GET
 * through a temporary file (s3_get_object writes to a descriptor), PUT from memory. Blocking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rconf.h"
#include "rindex.h"
#include "s3.h"

/* GET object @p key of at most @p max bytes into *out (malloc'd, NUL-terminated). */
static int get_small(struct s3_client *cl, const char *bucket, const char *key, size_t max,
		     char **out, size_t *len)
{
	uint64_t size = 0;
	ssize_t n;
	int fd = memfd_create("execd-remote-get", MFD_CLOEXEC), r;
	if (fd < 0)
		return -errno;
	r = s3_get_object(cl, bucket, key, fd, &size);
	if (r == 0 && size > max)
		r = -EBADMSG;
	if (r == 0 && !(*out = malloc(size + 1)))
		r = -ENOMEM;
	if (r == 0) {
		n = pread(fd, *out, size, 0);
		if (n != (ssize_t)size) {
			free(*out);
			*out = NULL;
			r = n < 0 ? -errno : -EIO;
		} else {
			(*out)[size] = '\0';
			*len = size;
		}
	}
	close(fd);
	return r;
}

struct newest {
	uint64_t gen;
	char *key;
};

static int pick_newest(const char *key, const struct s3_object_info *info, void *arg)
{
	struct newest *n = arg;
	uint64_t gen;
	(void)info;
	if (remote_key_index_gen(key, &gen) < 0 || (n->key && gen <= n->gen))
		return 0;
	free(n->key);
	n->gen = gen;
	return (n->key = strdup(key)) ? 0 : -ENOMEM;
}

int remote_index_get(struct s3_client *cl, const struct remote_conf *c, const struct execd_id *t,
		     const struct execd_id *tl, struct remote_index *out)
{
	struct newest n = { 0 };
	char *prefix = NULL, *json = NULL;
	size_t len = 0;
	int r = remote_key_timeline(c, t, tl, "index-", &prefix);
	if (r == 0)
		r = s3_list_objects(cl, c->bucket, prefix, 0, pick_newest, &n, NULL);
	if (r == 0 && !n.key)
		r = -ENOENT;
	if (r == 0)
		r = get_small(cl, c->bucket, n.key, REMOTE_INDEX_MAX, &json, &len);
	if (r == 0)
		r = remote_index_parse(json, len, out);
	if (r == 0 && (!execd_id_eq(&out->tenant, t) || !execd_id_eq(&out->timeline, tl))) {
		remote_index_free(out);
		r = -EBADMSG;
	}
	free(json);
	free(n.key);
	free(prefix);
	return r;
}

int remote_index_put(struct s3_client *cl, const struct remote_conf *c,
		     const struct remote_index *idx)
{
	char *key = NULL, *json = NULL;
	int r = remote_key_index(c, &idx->tenant, &idx->timeline, idx->generation, &key);
	if (r == 0)
		r = remote_index_format(idx, &json);
	if (r == 0)
		r = s3_put_object(cl, c->bucket, key, json, strlen(json));
	free(json);
	free(key);
	return r;
}

int remote_attachment_get(struct s3_client *cl, const struct remote_conf *c,
			  const struct execd_id *t, struct remote_attachment *out)
{
	char *key = NULL, *json = NULL;
	size_t len = 0;
	int r = remote_key_attachment(c, t, &key);
	if (r == 0)
		r = get_small(cl, c->bucket, key, 64 * 1024, &json, &len);
	if (r == 0)
		r = remote_attachment_parse(json, len, out);
	free(json);
	free(key);
	return r;
}

int remote_attachment_put(struct s3_client *cl, const struct remote_conf *c,
			  const struct execd_id *t, const struct remote_attachment *a)
{
	char *key = NULL, *json = NULL;
	int r = remote_key_attachment(c, t, &key);
	if (r == 0)
		r = remote_attachment_format(a, &json);
	if (r == 0)
		r = s3_put_object(cl, c->bucket, key, json, strlen(json));
	free(json);
	free(key);
	return r;
}
