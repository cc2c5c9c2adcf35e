/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/generation.c — the tenant's generation in attachment.json (attach.h): neon's
 * generation numbers without a control plane. An attach writes generation g+1 with its node id
 * and reads it back; an uploader writes only index-<its generation>.json and stops once it sees
 * a higher generation (fenced), so two execd instances never write the same index object.
 *
 * S3 has no compare-and-swap: two attaches racing at the very same moment could both read g and
 * both write g+1. The read-back after the write catches the loser when the writes do not
 * overlap exactly; the operator's rule stays "attach in one place at a time" (--force is for a
 * machine that is lost), as with neon before its storage controller.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attach.h"
#include "log.h"
#include "node.h"
#include "rindex.h"
#include "s3.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The attachment now, or a zero one if the tenant was never attached (-ENOENT). */
static int read_attachment(struct s3_client *cl, const struct remote_conf *c,
			   const struct execd_id *t, struct remote_attachment *a, char *why,
			   size_t whylen)
{
	memset(a, 0, sizeof *a);
	int r = remote_attachment_get(cl, c, t, a);
	if (r == -ENOENT) {
		memset(a, 0, sizeof *a);
		return 0;
	}
	if (r < 0)
		snprintf(why, whylen, "cannot read the tenant's attachment.json: %s (%s)",
			 strerror(-r), s3_client_error(cl, NULL));
	return r;
}

int remote_generation_take(struct s3_client *cl, const struct remote_conf *c,
			   const struct execd_id *t, bool force, uint64_t *gen, char *why,
			   size_t whylen)
{
	struct remote_attachment a;
	char me[EXECD_ID_STR_SIZE];
	int r;
	if (!node_id_str(me))
		return snprintf(why, whylen, "this execd has no node id"), -EIO;
	if ((r = read_attachment(cl, c, t, &a, why, whylen)) < 0)
		return r;
	if (a.attached && strcmp(a.node, me) != 0 && !force) {
		snprintf(why, whylen,
			 "tenant attached elsewhere, generation %llu, node %s (detach it there, "
			 "or attach with force if that machine is lost)",
			 (unsigned long long)a.generation, a.node[0] ? a.node : "?");
		return -EEXIST;
	}
	if (a.attached && strcmp(a.node, me) != 0)
		execd_log_ids(LOG_WARNING, t, NULL,
			      "taking the tenant from node %s (generation %llu) by force", a.node,
			      (unsigned long long)a.generation);
	if ((r = remote_attachment_claim(cl, c, t, me, a.generation + 1, why, whylen)) < 0)
		return r;
	*gen = a.generation + 1;
	execd_log_ids(LOG_NOTICE, t, NULL, "attached in remote storage, generation %llu",
		      (unsigned long long)*gen);
	return 0;
}

int remote_generation_release(struct s3_client *cl, const struct remote_conf *c,
			      const struct execd_id *t, uint64_t gen, char *why, size_t whylen)
{
	struct remote_attachment a;
	char me[EXECD_ID_STR_SIZE];
	int r;
	if (!node_id_str(me))
		return snprintf(why, whylen, "this execd has no node id"), -EIO;
	if ((r = read_attachment(cl, c, t, &a, why, whylen)) < 0)
		return r;
	/* a newer generation, or another node's: this one is fenced and must not write */
	if ((gen && a.generation > gen) || (a.node[0] && strcmp(a.node, me) != 0)) {
		snprintf(why, whylen,
			 "fenced: the tenant is attached as generation %llu by node %s, this node "
			 "holds %llu",
			 (unsigned long long)a.generation, a.node, (unsigned long long)gen);
		return -ESTALE;
	}
	a.attached = false;
	a.at_ms = now_ms();
	if ((r = remote_attachment_put(cl, c, t, &a)) < 0) {
		snprintf(why, whylen, "cannot write the tenant's attachment.json: %s (%s)",
			 strerror(-r), s3_client_error(cl, NULL));
		return r;
	}
	execd_log_ids(LOG_NOTICE, t, NULL, "detached in remote storage, generation %llu",
		      (unsigned long long)a.generation);
	return 0;
}
