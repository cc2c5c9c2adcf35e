/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/rclaim.c — a new tenant's claim of its place in the bucket (rindex.h): the
 * first generation of its attachment.json, so that its uploader may write index-<gen>.json and
 * a second execd attaching it is refused while this one holds it (neon's generations).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rconf.h"
#include "rindex.h"
#include "s3.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(int r, struct s3_client *cl, const char *what, char *why, size_t whylen)
{
	long status = 0;
	const char *code = cl ? s3_client_error(cl, &status) : "";
	snprintf(why, whylen, "remote storage: cannot %s: %s%s%s%s", what, strerror(-r),
		 code && *code ? " (" : "", code ? code : "", code && *code ? ")" : "");
	return r;
}

/* The next generation after @p cur (-ENOENT: none), or -EEXIST if @p cur is attached. */
static int next_generation(int got, const struct remote_attachment *cur, uint64_t *gen, char *why,
			   size_t whylen)
{
	if (got == -ENOENT) {
		*gen = 1;
		return 0;
	}
	if (cur->attached) {
		snprintf(why, whylen,
			 "tenant attached elsewhere, generation %" PRIu64 ", node %s: use tenant "
			 "attach --force on a node that takes it over",
			 cur->generation, cur->node[0] ? cur->node : "(unknown)");
		return -EEXIST;
	}
	*gen = cur->generation + 1;
	return 0;
}

int remote_attachment_claim(struct s3_client *cl, const struct remote_conf *c,
			    const struct execd_id *t, const char *node, uint64_t gen, char *why,
			    size_t whylen)
{
	struct remote_attachment a = { .generation = gen, .attached = true, .at_ms = now_ms() }, b;
	int r;
	snprintf(a.node, sizeof a.node, "%s", node ? node : "");
	if ((r = remote_attachment_put(cl, c, t, &a)) < 0)
		return fail(r, cl, "write attachment.json", why, whylen);
	if ((r = remote_attachment_get(cl, c, t, &b)) < 0)
		return fail(r, cl, "read attachment.json back", why, whylen);
	if (b.generation != gen || strcmp(b.node, a.node) != 0) {
		snprintf(why, whylen,
			 "tenant claimed concurrently by generation %" PRIu64 ", node %s",
			 b.generation, b.node);
		return -EEXIST;
	}
	return 0;
}

int remote_claim_new_tenant(const struct remote_conf *c, const struct execd_id *t, const char *node,
			    uint64_t *gen, char *why, size_t whylen)
{
	struct remote_attachment cur;
	struct s3_client *cl;
	int r = 0;

	if (!(cl = remote_client_new(c, &r)))
		return fail(r, NULL, "make a client (check the credentials file)", why, whylen);
	r = remote_attachment_get(cl, c, t, &cur);
	if (r < 0 && r != -ENOENT)
		r = fail(r, cl, "read attachment.json", why, whylen);
	else if ((r = next_generation(r, &cur, gen, why, whylen)) == 0)
		r = remote_attachment_claim(cl, c, t, node, *gen, why, whylen);
	s3_client_free(cl);
	return r;
}
