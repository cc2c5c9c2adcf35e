/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/reactor.h — internal: the io_uring reactor of one runtime (seed 003, "Linux
 * Executor": workers submit SQEs, a dedicated thread reaps the CQ and wakes the task; tokio:
 * an idle worker waits on the I/O driver itself).
 *
 * One ring per runtime. Worker threads (and the test drivers) prepare SQEs into a thread-local
 * batch; ex_reactor_after_poll() flushes the batch with one io_uring_enter for many SQEs. A
 * reaper stores each CQE's result in its heap-allocated op record and wakes the task through a
 * waker cloned at submission: an idle worker waiting on the ring, a worker between polls, or the
 * completion thread (see "Workers that wait on the ring" below).
 */
#ifndef EXECUTOR_LINUX_REACTOR_H
#define EXECUTOR_LINUX_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <liburing.h>
#include <executor/future.h>

struct ex_reactor;

/* Thread-locals of the hot paths: initial-exec, so that reading one is a plain load (no
 * __tls_get_addr call per access in the shared library). */
#ifndef EX_TLS
#define EX_TLS __thread __attribute__((tls_model("initial-exec")))
#endif

/**
 * The scheduler's hooks, given at construction (as Redis's ae reaches its users through the
 * callbacks it was given): the reactor never calls up into the runtime by name, so it builds and
 * tests without it. Each hook is optional (NULL: nothing to do) and is called with @p arg by the
 * thread that reaps or fires timers: the completion thread, or a worker of a driving runtime.
 *  - wake_batch_begin / wake_batch_end bracket one round of wakes (a timer sweep, one reap of the
 *    CQ): the runtime may queue the woken tasks together at the end (one atomic operation, at
 *    most one worker woken) instead of one by one.
 */
struct ex_reactor_hooks {
	void (*wake_batch_begin)(void *arg);
	void (*wake_batch_end)(void *arg);
	void *arg;
};

/** Ring sizes; 0 = default (256 SQ entries, 4 x SQ CQ entries); hooks: see above. */
struct ex_reactor_config {
	unsigned sq_entries;
	unsigned cq_entries;
	struct ex_reactor_hooks hooks;
};

/**
 * Create the ring and start the completion thread; returns once that thread has armed its
 * wake poll (so the statistics start with that one SQE and one io_uring_enter).
 * @return 0 and *out set; -ENOMEM, -ENOSYS (no io_uring, or a kernel without
 * IORING_FEAT_NODROP / IORING_FEAT_EXT_ARG), or the error of io_uring_queue_init_params /
 * pthread_create. Thread-safety: any thread.
 */
int ex_reactor_new(const struct ex_reactor_config *cfg, struct ex_reactor **out);

/**
 * Cancel every operation still in flight (IORING_OP_ASYNC_CANCEL, "any"), wait until all of
 * them completed (their wakers are woken with -ECANCELED or their result), complete pending
 * sleeps with -ECANCELED, stop the completion thread and free the ring. Flushes the calling
 * thread's batch; other threads must have flushed theirs (ex_reactor_after_poll(r, true)) and
 * must not submit any more. NULL is ignored.
 */
void ex_reactor_free(struct ex_reactor *r);

/** Set the calling thread's current reactor (thread-local; NULL clears it). */
void ex_reactor_set_current(struct ex_reactor *r);

/** The calling thread's current reactor, or NULL. */
struct ex_reactor *ex_reactor_current(void);

/*
 * Note: the kernel ties an io_uring request to the thread that submitted it (its io-wq work is
 * cancelled when that thread exits, and poll-driven completions run as task_work on it),
 * so only threads that outlive their operations submit: the workers and the completion thread.
 */

/**
 * Called by a worker after EVERY poll. @p idle: the worker's run queue is now empty (it is about
 * to park). Submits this thread's batched SQEs (one io_uring_enter for many) when @p idle or when
 * EX_REACTOR_BATCH are batched. Never blocks on I/O (takes the short submission lock).
 */
void ex_reactor_after_poll(struct ex_reactor *r, bool idle);
/** Submit this thread's batched SQEs now, however few, and reap nothing: a busy worker's
 * periodic flush, so that a queue that never empties cannot hold a lone submission forever
 * (completions then come through the bounded reap, ex_reactor_reap). */
void ex_reactor_flush_batches(struct ex_reactor *r);

/*
 * Workers that wait on the ring themselves (tokio's worker drives its own I/O driver). A reap by
 * the completion thread costs a task two thread wake-ups (the kernel wakes the completion thread,
 * which wakes a parked worker) and a socket poll a third (its completion runs as task_work on the
 * parked worker that submitted it). So once the runtime turned it on (ex_reactor_set_drive), an
 * idle worker waits in io_uring_enter itself (at most one at a time: the kernel wakes every
 * waiter of a ring for each CQE) and reaps what arrives into its own queue, busy workers reap
 * between polls, and the completion thread keeps the timers, the overflow queue and shutdown,
 * waiting on a futex instead of the CQ. It still reaps whatever a worker has left in the CQ
 * every EX_REACTOR_RESCUE_NS while ops are in flight, so I/O completes even when every worker is
 * stuck in a long poll. Without a runtime (the io tests' driver) it reaps everything, as before.
 */

/*
 * A worker's own ring. With one ring per runtime the workers' data transfers queue for each
 * other in the kernel: io_uring submits under the ring's lock, and a page-cached read is copied
 * inline in the io_uring_enter that submits it, so two workers' reads were copied by one CPU at
 * a time (2 workers read no faster than 1; fio with two jobs, a ring each, reads twice as fast
 * as with one). So each worker also has a small ring of its own for the data transfers it
 * submits (bounded ops: reads, writes, syncs, sends; polls, receives and cancels of the
 * reactor's stay on the runtime's ring). Only the owner submits there and reaps there (other
 * threads may add a cancel, under the ring's lock), so nothing is handed between threads on
 * the hot path: a page-cached read is submitted, copied and reaped by the worker that polled
 * it. An idle owner with transfers in flight waits for them: as the runtime ring's driver,
 * with a poll on its own ring's fd armed there (the ring fd is readable while its CQ is not
 * empty); otherwise in io_uring_enter on its own ring, woken by its completions or by an
 * eventfd of its own (ex_reactor_unpark(p, true)). Before the worker exits it cancels what is
 * still in flight there and reaps every completion (ex_reactor_own_detach). A runtime whose
 * kernel lacks IORING_SETUP_COOP_TASKRUN, or that could not make the ring, runs without it.
 */
struct ex_own_ring;

/** A worker's place to wait on the ring: an eventfd with a multishot poll the worker arms itself
 * (its wake-up then runs as task_work on the very thread that waits); and its own ring. */
struct ex_reactor_parker {
	struct ex_op *op;        /* the poll's record (internal, no waker; flow 1 = armed) */
	int fd;                  /* eventfd written by ex_reactor_unpark */
	struct ex_own_ring *own; /* the worker's own ring, or NULL (see above) */
};

/** Make @p p (eventfd; the poll is armed at its first wait) and, if the kernel allows, its own
 * ring. Before the workers start (not thread-safe against ops in flight). 0 or -errno. */
int ex_reactor_parker_init(struct ex_reactor *r, struct ex_reactor_parker *p);
/** Close @p p's eventfd and own ring; call after ex_reactor_free (its poll's record is freed
 * there) and after its worker's ex_reactor_own_detach. */
void ex_reactor_parker_destroy(struct ex_reactor_parker *p);
/** The calling worker's data transfers go to @p p's own ring from now on (if it has one). */
void ex_reactor_own_attach(struct ex_reactor_parker *p);
/** Before the worker exits: submit what it batched, cancel what is in flight on its own ring
 * (IORING_OP_ASYNC_CANCEL, "any"; what never reached the kernel completes with -ECANCELED) and
 * reap every completion; its transfers go to the runtime's ring afterwards. */
void ex_reactor_own_detach(struct ex_reactor_parker *p);
/** Transfers of the calling worker in flight or waiting on its own ring: it must then park where
 * their completions wake it (as the driver, or ex_reactor_own_wait), not on a futex. */
bool ex_reactor_own_busy(struct ex_reactor_parker *p);
/** Regular-file transfers (a write, a sync) of the calling worker in flight on its own ring.
 * Lock-free; the owner only. */
bool ex_reactor_own_data_inflight(struct ex_reactor_parker *p);
/** Wait in io_uring_enter on the own ring until a completion or ex_reactor_unpark(p, true); it
 * reaps after (ex_reactor_reap). Owner only. */
void ex_reactor_own_wait(struct ex_reactor_parker *p);

/** Workers drive the ring from now on (@p on) or no longer (before they exit). Any thread. */
void ex_reactor_set_drive(struct ex_reactor *r, bool on);

/**
 * A parking worker takes the ring's one waiting place: true if it is now the driver (then it
 * must call ex_reactor_drive_wait and ex_reactor_drive_end), false if driving is off or another
 * worker waits there (then it parks on its futex as before).
 */
bool ex_reactor_drive_begin(struct ex_reactor *r);
/** The driver waits in io_uring_enter until a CQE arrives (a completion, or @p p's eventfd
 * written by ex_reactor_unpark); it reaps after ex_reactor_drive_end (ex_reactor_reap). Submits
 * the calling thread's batch first. */
void ex_reactor_drive_wait(struct ex_reactor *r, struct ex_reactor_parker *p);
/** Give the waiting place back (the driver woke up). */
void ex_reactor_drive_end(struct ex_reactor *r);
/** Wake the worker that waits with @p p (an eventfd write: one syscall): as the driver, or on
 * its own ring if @p own. Any thread. */
void ex_reactor_unpark(struct ex_reactor_parker *p, bool own);
/** The owner of @p p, awake after a wait (on its own ring if @p own) in which it was unparked:
 * read the eventfd back to 0 (only the owner does, once it is awake, so no write meant to wake
 * it is ever consumed before its wait ended). */
void ex_reactor_parker_reset(struct ex_reactor_parker *p, bool own);
/** Between polls: reap the calling worker's own ring, and what is in the runtime ring's CQ if no
 * worker waits on the ring and another thread is not at it; at most @p max CQEs (the room in the
 * worker's queue: the rest wait in the CQs, in arrival order); returns the count. Four loads when
 * both CQs are empty. Worker threads only; the runtime ring not while workers do not drive (its
 * CQ is then the completion thread's alone). */
unsigned ex_reactor_reap(struct ex_reactor *r, unsigned max);
/** Whether a data transfer (a bounded op: a read, a write, a sync, a send...) is in flight on
 * the runtime's ring (submitted by any thread) or on the calling worker's own ring. Relaxed
 * loads; a hint, stale by the time it returns. */
bool ex_reactor_data_inflight(struct ex_reactor *r);

/** The completion thread's longest wait while workers drive and ops are in flight (ns). */
#define EX_REACTOR_RESCUE_NS 10000000u

/* ---- Below: internals shared by reactor*.c, io*.c and time*.c (not for the runtime). ---- */

/** Batched SQEs that make a thread flush without being idle. */
#define EX_REACTOR_BATCH 32

/** Counters for tests and benchmarks (monotonic since ex_reactor_new). */
struct ex_reactor_stats {
	uint64_t enters;      /**< io_uring_enter calls that submitted (io_uring_submit) */
	uint64_t sqes;        /**< SQEs the kernel accepted */
	uint64_t completions; /**< CQEs reaped */
	uint64_t
		deferred; /**< times an op waited in the userspace overflow queue (ring or CQ full) */
	uint64_t busy;    /**< submits that returned -EBUSY / -EAGAIN */
	uint64_t max_inflight; /**< highest number of bounded ops in flight at once */
	uint64_t inflight;     /**< ops in the SQ ring and not yet reaped, now (a gauge) */
	uint64_t cq_ready;     /**< CQEs in the CQ not yet reaped, now (a gauge) */
	unsigned cq_limit;     /**< bound on bounded ops in flight (the CQ size) */
};
void ex_reactor_get_stats(struct ex_reactor *r, struct ex_reactor_stats *st);

/**
 * Fault injection for tests: the next @p n submissions (io_uring_enter calls) fail with @p err
 * (-EBUSY or -EAGAIN, what the kernel answers when its CQ backlog or memory is short) without
 * reaching the kernel, so that the retry path runs on demand. Thread-safety: any thread.
 */
void ex_reactor_fail_submits(struct ex_reactor *r, unsigned n, int err);

enum ex_op_state { EX_OP_NEW = 0, EX_OP_QUEUED, EX_OP_SUBMITTED };

/*
 * Bits of ex_op.flow, the op's lock-free state word (the protocol is described in reactor.c,
 * "op state"). DONE: the result is stored; REGISTERING: the owner is writing the waker slot;
 * ABANDONED: the owner released the op before taking its result.
 */
#define EX_OPF_DONE 1u
#define EX_OPF_REGISTERING 2u
#define EX_OPF_ABANDONED 4u

/*
 * The SQE fields the reactor's operations use, kept in the op record instead of a whole 64-byte
 * SQE until the flush copies them into the ring: 32 bytes (an idle connection's poll record
 * shrinks with it). ex_op_set_sqe() takes them from an SQE prepared by liburing.
 */
struct ex_sqe_lite {
	uint8_t opcode, flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off;  /* off / addr2 */
	uint64_t addr; /* addr / splice_off_in */
	uint32_t len;
	uint32_t op_flags; /* rw_flags, poll32_events, cancel_flags, open_flags, ... */
};

/**
 * The kernel-facing part of one io_uring operation. Heap-allocated and reference-counted: one
 * reference for the future that owns it, one for the kernel (dropped by the completion thread
 * after it stored the result), so an owner that abandons the op never races the completion.
 * No lock: the waker slot and the result are handed between the owner and the completion
 * thread through `flow` (reactor.c, "op state").
 */
struct ex_op {
	struct ex_sqe_lite
		sqe;        /* set by the owner (ex_op_set_sqe); copied into the ring at flush */
	struct ex_op *next; /* batch / overflow queue link (submission lock or owning thread) */
	struct ex_reactor *r;
	union {
		struct ex_waker waker; /* cloned at submission; woken by the completion thread */
		struct ex_op *target;  /* an ASYNC_CANCEL op (is_cancel): the op it cancels (holds
		                          a reference); such an op has no waker */
	};
	int32_t res;
	uint32_t cqe_flags;
	_Atomic uint32_t flow; /* EX_OPF_* */
	_Atomic uint32_t refs; /* owner + kernel (+ a cancel op naming this one) */
	uint8_t state;         /* enum ex_op_state, under the submission lock */
	bool is_cancel;        /* an ASYNC_CANCEL op of ex_op_release: target, not waker */
	bool is_parker;        /* a worker's parker poll (ex_reactor_parker): internal, no waker */
	bool res_is_fd;        /* a result >= 0 is a new fd: closed if the owner abandoned the op */
	bool unbounded;        /* a poll or a cancel: not counted against the CQ bound (a poll may
	                           * wait for hours; a cancel must not wait behind anything) */
	uint16_t ring;         /* 0: the runtime's ring; i: the own ring of the i-th parker
	                        * (set at submission, before the op is shared; never changes) */
};

/** A new op for reactor @p r with one (owner) reference; NULL on -ENOMEM. */
struct ex_op *ex_op_new(struct ex_reactor *r);
/**
 * Store the SQE @p sqe (prepared with liburing's io_uring_prep_*) in @p op. Only the fields of
 * struct ex_sqe_lite are kept: every other field must be zero (asserted).
 */
void ex_op_set_sqe(struct ex_op *op, const struct io_uring_sqe *sqe);
/** Queue @p op (its sqe prepared) in the calling thread's batch; wakes a clone of @p w. */
void ex_op_submit(struct ex_op *op, const struct ex_waker *w);
/**
 * Poll @p op: EX_READY with *res (and *cqe_flags if not NULL) once completed — the owner's
 * reference is then dropped and @p op must not be used again; else stores cx's waker.
 */
ex_poll_t ex_op_poll(struct ex_op *op, struct ex_context *cx, int32_t *res, uint32_t *cqe_flags);
/** The owner abandons @p op: cancel it if in flight (its CQE is still reaped), drop the owner ref. */
void ex_op_release(struct ex_op *op);

/* Timers (reactor_timers.c): a userspace sorted list + min-heap per reactor, armed as the
 * completion thread's single io_uring wait timeout (IORING_FEAT_EXT_ARG). */
struct ex_sleep;
struct ex_timers {
	pthread_mutex_t lock;
	struct ex_sleep *head, *tail; /* sleeps armed in deadline order: a sorted list */
	struct ex_sleep **heap;       /* the others: a min-heap */
	size_t n, cap;
	uint64_t armed; /* deadline the completion thread waits for (UINT64_MAX: none) */
};
int ex_timers_init(struct ex_timers *t);
void ex_timers_destroy(struct ex_timers *t);
/** Insert @p s (armed with cx's waker); -ENOMEM. Kicks the completion thread if it is earliest. */
int ex_timers_add(struct ex_reactor *r, struct ex_sleep *s, const struct ex_waker *w);
/** Poll an armed sleep: true once fired; else (re)stores @p w. */
bool ex_timers_poll(struct ex_reactor *r, struct ex_sleep *s, const struct ex_waker *w);
/** Remove @p s if still armed (release of a pending sleep). */
void ex_timers_remove(struct ex_reactor *r, struct ex_sleep *s);
/** Completion thread: fire every sleep due at @p now; returns the next deadline (UINT64_MAX). */
uint64_t ex_timers_fire(struct ex_reactor *r, uint64_t now, int64_t result);
struct ex_timers *ex_reactor_timers(struct ex_reactor *r);
/** Wake the completion thread (eventfd write, coalesced; needs no SQE): it re-reads the earliest
 * deadline and re-flushes the overflow queue. Thread-safe. */
void ex_reactor_kick(struct ex_reactor *r);

#endif /* EXECUTOR_LINUX_REACTOR_H */
