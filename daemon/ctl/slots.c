/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/slots.c — connection slots of the control socket (docs/protocol.md "Limits").
 *
 * One client must not be able to keep another out: a uid other than root and the daemon's own
 * holds at most --max-connections-per-uid slots, and the last --reserved-connections of
 * --max-connections are kept for root and the daemon's uid (PostgreSQL's
 * superuser_reserved_connections). Those two are trusted with mutating commands already and are
 * limited only by the total. A slot is taken before the connection's task is spawned and given
 * back when the task is dropped.
 */
#include <pthread.h>
#include <stdlib.h>

#include "conf.h"
#include "ctl.h"

struct uid_count {
	uid_t uid;
	unsigned n;
};

static struct {
	pthread_mutex_t lock;
	unsigned total;
	struct uid_count *uids; /* the uids with at least one slot */
	size_t n_uids, cap;
} slots = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The entry of @p uid, created with n = 0 if @p create; NULL if absent or out of memory. */
static struct uid_count *find(uid_t uid, bool create)
{
	for (size_t i = 0; i < slots.n_uids; i++)
		if (slots.uids[i].uid == uid)
			return &slots.uids[i];
	if (!create)
		return NULL;
	if (slots.n_uids == slots.cap) {
		size_t cap = slots.cap ? 2 * slots.cap : 8;
		struct uid_count *u = realloc(slots.uids, cap * sizeof *u);
		if (!u)
			return NULL;
		slots.uids = u;
		slots.cap = cap;
	}
	slots.uids[slots.n_uids] = (struct uid_count){ .uid = uid, .n = 0 };
	return &slots.uids[slots.n_uids++];
}

static enum ctl_slot_result admit(const struct ctl_peer *p, unsigned n_uid)
{
	unsigned max = execd_config.max_connections, reserved = execd_config.reserved_connections;
	if (slots.total >= max)
		return CTL_SLOT_FULL;
	if (p->can_write)
		return CTL_SLOT_OK; /* root and the daemon's uid: only the total limits them */
	if (slots.total >= max - reserved)
		return CTL_SLOT_RESERVED;
	if (n_uid >= execd_config.max_connections_per_uid)
		return CTL_SLOT_UID_LIMIT;
	return CTL_SLOT_OK;
}

enum ctl_slot_result ctl_slot_acquire(const struct ctl_peer *p)
{
	enum ctl_slot_result res;
	struct uid_count *u;

	pthread_mutex_lock(&slots.lock);
	u = find(p->uid, false);
	res = admit(p, u ? u->n : 0);
	if (res == CTL_SLOT_OK) {
		if (!u && !(u = find(p->uid, true))) {
			res = CTL_SLOT_NOMEM;
		} else {
			u->n++;
			slots.total++;
		}
	}
	pthread_mutex_unlock(&slots.lock);
	return res;
}

void ctl_slot_release(uid_t uid)
{
	struct uid_count *u;
	pthread_mutex_lock(&slots.lock);
	if ((u = find(uid, false)) && u->n > 0) {
		slots.total--;
		if (--u->n == 0)
			*u = slots.uids[--slots.n_uids]; /* order does not matter */
	}
	pthread_mutex_unlock(&slots.lock);
}

unsigned ctl_slots_used(void)
{
	pthread_mutex_lock(&slots.lock);
	unsigned n = slots.total;
	pthread_mutex_unlock(&slots.lock);
	return n;
}

const char *ctl_slot_refusal(enum ctl_slot_result res)
{
	switch (res) {
	case CTL_SLOT_OK:
		return "admitted";
	case CTL_SLOT_FULL:
		return "too many connections (--max-connections)";
	case CTL_SLOT_RESERVED:
		return "too many connections: the remaining ones are reserved for root and the "
		       "daemon's user (--reserved-connections)";
	case CTL_SLOT_UID_LIMIT:
		return "too many connections of this uid (--max-connections-per-uid)";
	case CTL_SLOT_NOMEM:
		break;
	}
	return "out of memory";
}
