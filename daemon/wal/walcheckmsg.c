/* SPDX-License-Identifier: MIT */
/* daemon/wal/walcheckmsg.c — the sentences of a walcheck report: what is wrong with a timeline's
 * state or files and how to repair it (walcheck.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "wal.h"
#include "walcheck.h"

const char *walcheck_kind_name(enum walcheck_kind k)
{
	static const char *const names[] = {
		[WALCHECK_OK] = "ok",
		[WALCHECK_STATE_DAMAGED] = "state_damaged",
		[WALCHECK_STATE_MISSING] = "state_missing",
		[WALCHECK_MISSING] = "missing_segment",
		[WALCHECK_INCOMPLETE] = "incomplete_segment",
		[WALCHECK_SIZE] = "wrong_size",
		[WALCHECK_ZEROS] = "zeros",
		[WALCHECK_BAD_HEADER] = "bad_page_header",
		[WALCHECK_DUPLICATE] = "duplicate_segment",
	};
	return (unsigned)k < sizeof names / sizeof *names && names[k] ? names[k] : "unknown";
}

void walcheck_describe(struct walcheck_report *o, uint32_t seg_size)
{
	char f[20], at[20], a[20], rs[20], e[20], what[320];
	lsn_format(o->flush_lsn, f);
	lsn_format(o->lsn, at);
	lsn_format(o->disk_start, a);
	lsn_format(o->resume_lsn, rs);
	lsn_format(o->disk_end, e);
	switch (o->kind) {
	case WALCHECK_OK:
		o->message[0] = '\0';
		return;
	case WALCHECK_STATE_DAMAGED:
		snprintf(what, sizeof what,
			 "wal.state is damaged: neither of its two slots is valid "
			 "(slots holding something that fails its checksum or does not parse: %s)",
			 o->bad_slots == 3   ? "both"
			 : o->bad_slots == 1 ? "0"
			 : o->bad_slots == 2 ? "1"
					     : "none, all zeros");
		break;
	case WALCHECK_STATE_MISSING:
		snprintf(what, sizeof what,
			 "wal.state is missing, but %u segment files of PostgreSQL timeline "
			 "%" PRIu32 " are on disk",
			 o->segments, o->tli);
		break;
	case WALCHECK_MISSING:
		snprintf(what, sizeof what,
			 "wal.state says WAL up to %s is on disk, but segment %s (WAL from %s) "
			 "is missing",
			 f, o->segment, at);
		break;
	case WALCHECK_INCOMPLETE:
		snprintf(what, sizeof what,
			 "wal.state says WAL up to %s is on disk, but segment %s (WAL from %s) "
			 "was never completed",
			 f, o->segment, at);
		break;
	case WALCHECK_SIZE:
		snprintf(what, sizeof what, "segment file %s has the wrong size (%s; truncated?)",
			 o->segment, o->detail);
		break;
	case WALCHECK_ZEROS:
		snprintf(what, sizeof what, "segment file %s holds zeros at %s where WAL %s",
			 o->segment, at,
			 o->lsn % seg_size ? "must be (before the flush LSN)" : "must start");
		break;
	case WALCHECK_BAD_HEADER:
		snprintf(what, sizeof what,
			 "the WAL page at %s in segment file %s has an invalid header (%s)", at,
			 o->segment, o->detail);
		break;
	case WALCHECK_DUPLICATE:
		snprintf(what, sizeof what,
			 "segment %.24s is on disk both complete and as .partial", o->segment);
		break;
	}
	if (!o->resume_lsn)
		snprintf(
			o->message, sizeof o->message,
			"%s. No complete WAL segment of the timeline is on disk to "
			"resume from: delete the timeline and create it again, or restore its segments from a WAL "
			"archive.",
			what);
	else
		snprintf(
			o->message, sizeof o->message,
			"%s. The complete segments on disk hold valid WAL from %s to "
			"%s (valid pages up to %s). To resume from %s: `" WALCHECK_REPAIR_CMD
			" <timeline>` "
			"(damaged files are kept as *.damaged; the server must still have WAL from %s), or restore "
			"the segments from a WAL archive and start the timeline again.",
			what, a, rs, e, rs, rs);
}
