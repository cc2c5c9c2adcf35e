/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/upload_int.h — internal to the remote_upload task (upload*.c): the per-timeline
 * upload state, the pass and its parts.
 */
#ifndef EXECD_REMOTE_UPLOAD_INT_H
#define EXECD_REMOTE_UPLOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "remote/rconf.h"
#include "remote/rindex.h"

struct ex_cancel_token;
struct s3_client;
struct timeline;

/** What timeline.show says of the uploads. */
enum upload_phase { UP_STARTING, UP_OK, UP_BACKOFF, UP_FENCED };

/** Objects bigger than this go in multipart, in parts of UPLOAD_PART_BYTES (bytes). */
#define UPLOAD_SINGLE_MAX (16u << 20)
#define UPLOAD_PART_BYTES (8u << 20)
/** A plain (uncompressed) complete segment is uploaded as it is once this old (s): WalCompress
 * normally replaces it with its ".zst" within milliseconds. */
#define UPLOAD_PLAIN_AFTER_S 10

/** One timeline's upload state: created by the spawn hook, freed by the free hook. */
struct upload_state {
	struct timeline *tl; /* borrowed: its WAL state owns this (freed before it) */
	char *tldir, *waldir;
	struct remote_conf conf; /* with the generation this execd holds */
	pthread_mutex_t run;     /* held by a pass (the task's job, or the final upload) */
	pthread_mutex_t lock;    /* guards what follows */
	struct remote_index idx; /* the last index PUT (remote and durable) */
	bool have_idx;
	enum upload_phase phase;
	char last_error[256];
	int64_t retry_at_ms;       /* Unix ms of the next pass after an error; 0 = none */
	int64_t oldest_pending_ms; /* Unix ms: oldest complete segment not yet remote; 0 = none */
	uint64_t uploaded;         /* objects uploaded since the start */
	_Atomic(struct ex_cancel_token *) token; /* the task's, checked between objects */
	/* multipart uploads whose abort failed (the object store down): aborted again by the
	 * next pass, so that none stays on the server (under run: passes alone touch them) */
	struct s3_multipart **orphans;
	size_t n_orphans;
	/* the next pass first aborts every multipart upload in progress under the timeline's
	 * prefix (set at the start and after a failed pass: a create whose reply was lost) */
	bool sweep;
	struct upload_state *next;
};

/* upload_state.c */
/** The state of @p tl, or NULL. Thread-safe. */
struct upload_state *upload_state_find(struct timeline *tl);
/** The state of @p tl, created with @p conf (copied) if absent. NULL on -ENOMEM. */
struct upload_state *upload_state_get(struct timeline *tl, const struct remote_conf *conf);
/** Record the pass's outcome @p e for show (under lock). */
void upload_state_outcome(struct upload_state *st, int e, const char *what);
bool upload_cancelled(struct upload_state *st);
/** Unix time, ms. */
int64_t upload_now_ms(void);
/** wal.h's hooks (upload_hooks.c, upload_state.c). */
void upload_state_forget(struct timeline *tl);
int upload_hook_may_remove(struct timeline *tl, const char *name, uint64_t size);
struct cJSON;
int upload_hook_show(struct timeline *tl, struct cJSON *obj);

/* upload_pass.c */
/** One pass (final: the detach's, see upload.h). Blocking. @return 0 or -errno (-ESTALE:
 * fenced, -ECANCELED: stopped between objects). */
int upload_pass(struct upload_state *st, bool final);

/* upload_obj.c */
/**
 * Upload @p len bytes of @p fd as @p key (single PUT up to UPLOAD_SINGLE_MAX, multipart above,
 * aborted on an error or a cancellation), then HEAD it: @p etag (80 bytes) gets its ETag.
 * @return 0, -ECANCELED, -EBADMSG (size or ETag not as sent), -errno of s3.h.
 */
int upload_fd(struct upload_state *st, struct s3_client *cl, const char *key, int fd, uint64_t len,
	      char etag[80]);

/** Abort the multipart uploads a failed abort left (st->orphans). Under st->run. */
void upload_abort_orphans(struct upload_state *st, struct s3_client *cl);

/* upload_wal.c */
/** Upload the complete segments and history files not in @p work; adds them. */
int upload_wal(struct upload_state *st, struct s3_client *cl, struct remote_index *work, bool final,
	       bool *changed);
/** The open segment as "<seg>.partial" (final upload). */
int upload_partial(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
		   bool *changed);
/** The LSN below which every WAL byte is in @p idx's segments, at most @p flush. */
uint64_t upload_remote_flush(const struct remote_index *idx, uint64_t flush);

/* upload_backup.c */
/** Upload the complete base backups not in @p work; adds them. */
int upload_backups(struct upload_state *st, struct s3_client *cl, struct remote_index *work,
		   bool *changed);

/* upload_index.c */
/** Make st->idx what is remote: the local copy, or the newest remote index of ours or an older
 * generation (a restart resumes), or an empty one. -ESTALE if a newer generation wrote one. */
int upload_index_load(struct upload_state *st, struct s3_client *cl);
/** Is this execd's generation still the newest (attachment.json)? 0, -ESTALE, -errno. */
int upload_check_fence(struct upload_state *st, struct s3_client *cl);
/** Fill @p work's header, check the fence, PUT it, write the local copy, publish it. */
int upload_index_commit(struct upload_state *st, struct s3_client *cl, struct remote_index *work);

#endif /* EXECD_REMOTE_UPLOAD_INT_H */
