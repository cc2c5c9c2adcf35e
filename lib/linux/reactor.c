/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor: one ring per runtime, batched submission from the workers, one
 * completion thread for timers and what no worker reaps (seed 003, "Linux Executor"), and idle
 * workers that wait on the ring themselves (tokio's driver; reactor.h).
 *
 * Why this shape:
 *  - A separate completion thread rules out IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN, so
 *    several threads submit to one SQ. Each thread batches its SQEs in a thread-local list (no
 *    lock) and flushes the batch under a short submission lock: one io_uring_enter for many.
 *  - Nothing is ever lost when the ring is full: ops wait in a userspace FIFO (the overflow
 *    queue) when the SQ has no free entry, when the kernel says -EBUSY/-EAGAIN, or when the
 *    number of ops in flight reached the CQ size (so the CQ can never overflow; the kernel's
 *    IORING_FEAT_NODROP is the second line). The completion thread re-flushes that queue after
 *    each reap.
 *  - The completion thread is kicked (ex_reactor_kick): a new earliest timer deadline, an op
 *    deferred to the overflow queue, shutdown. While workers drive it sleeps on a futex; else
 *    on the CQ, woken through an eventfd it polls with a multishot poll (needs no SQE, so it
 *    works even when the ring is full).
 *  - Results are stored in heap op records (struct ex_op) and the task is woken through a
 *    waker cloned at submission; the completion thread holds its own reference to the record,
 *    so it never touches memory the owner may reuse.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <poll.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linux/ex_futex.h"
#include "linux/reactor.h"
#include <executor/time.h>

struct ex_queue {
	struct ex_op *head, *tail;
};

struct ex_reactor {
	struct io_uring ring;
	unsigned cq_limit;        /* bound on bounded ops in flight (the CQ size) */
	pthread_mutex_t sub_lock; /* SQ ring tail, overflow queue, op->state */
	/* Batches handed to whoever holds sub_lock (see batch_flush): a lock-free stack of ops in
	 * reverse order of hand-over, taken whole. */
	_Atomic(struct ex_op *) handoff;
	struct ex_queue pend;      /* overflow queue of bounded ops (FIFO) */
	struct ex_queue pend_free; /* overflow queue of unbounded ops: polls, cancels (FIFO) */
	unsigned inflight;         /* atomic: placed in the SQ ring and not yet reaped */
	unsigned bounded;          /* atomic: the bounded ones among them (<= cq_limit) */
	int need_retry;            /* atomic: overflow queue or SQ ring not empty after a flush */
	int kick_pending;          /* atomic: a kick was written and not yet seen */
	int wake_fd;               /* eventfd: any thread wakes the completion thread, no SQE */
	int stopping;              /* atomic */
	int cancel_all_pending;    /* atomic: set by the completion thread, cleared by a reaper */
	int rearm_wake;            /* atomic: set by a reaper, acted on by the completion thread */
	/* The CQ's consumer side (its head, complete()): the completion thread and, while workers
	 * drive (reactor.h), the worker that waits on the ring or reaps between polls. */
	pthread_mutex_t reap_lock;
	int drive;  /* atomic: workers drive the ring (ex_reactor_set_drive) */
	int driver; /* atomic: 1 = a worker waits in io_uring_enter (ex_reactor_drive_begin) */
	unsigned internal_polls; /* atomic: multishot polls of kick_op and the parkers in flight */
	/* The completion thread's wake-ups: every kick bumps ct_seq; ct_wait says where it sleeps
	 * (ct_wait_kind), so that the kick wakes it there (see ex_reactor_kick). */
	_Atomic uint32_t ct_seq;
	int ct_wait;
	pthread_t thread;
	sem_t started; /* posted by the completion thread once its wake poll is armed */
	struct ex_timers timers;
	struct ex_reactor_hooks hooks; /* the scheduler's, given at construction */
	struct ex_op kick_op;      /* multishot poll on wake_fd, armed by the completion thread */
	struct ex_own_ring **owns; /* the workers' own rings, by op->ring - 1 (set before the
	                             * workers start; reactor.h, "A worker's own ring") */
	unsigned nowns;
	struct ex_op cancel_all_op; /* ASYNC_CANCEL_ANY issued by ex_reactor_free */
	/* statistics (atomic) */
	uint64_t st_enters, st_sqes, st_completions, st_deferred, st_busy, st_max_inflight;
	unsigned fail_submits; /* atomic: ex_reactor_fail_submits (tests) */
	int fail_err;
};

struct tls_batch {
	struct ex_reactor *r;
	struct ex_op *head, *tail;
	unsigned n;
};

static EX_TLS struct ex_reactor *tls_current;
static EX_TLS struct tls_batch tls_batch;
static EX_TLS struct ex_reactor *tls_reaper; /* set on the completion thread */
static EX_TLS struct ex_own_ring *tls_own;   /* the calling worker's own ring, if attached */

static bool own_take(struct ex_op *op);
static void own_flush(struct ex_own_ring *o);
static void own_submit_batch(struct ex_own_ring *o);
static bool own_batched(const struct ex_own_ring *o, bool idle);
static void own_cancel(struct ex_own_ring *o, struct ex_op *op);
static unsigned own_reap(struct ex_own_ring *o, unsigned max);

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define SUB(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_ACQ_REL)
#define STAT(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)

void ex_reactor_set_current(struct ex_reactor *r)
{
	tls_current = r;
}

struct ex_reactor *ex_reactor_current(void)
{
	return tls_current;
}

struct ex_timers *ex_reactor_timers(struct ex_reactor *r)
{
	return &r->timers;
}

/* ---- op records ---- */

static bool op_is_internal(struct ex_reactor *r, struct ex_op *op)
{
	return op == &r->kick_op || op == &r->cancel_all_op || op->is_parker;
}

/*
 * Op records are recycled through a small per-thread cache: a read allocates one on a worker and
 * its last reference is dropped by the owner's next poll, on a worker too, so most are reused on
 * the thread that freed them, without calloc/free. The cache is bounded (EX_OP_CACHE); beyond it,
 * and on threads that exit, records go back to malloc. Not under AddressSanitizer, which should
 * see every use after free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define EX_OP_CACHE_OFF 1
#endif
#define EX_OP_CACHE 128u
struct op_cache {
	struct ex_op *head;
	unsigned n;
	bool registered; /* the thread-exit destructor is set */
};
static EX_TLS struct op_cache op_cache;
static pthread_key_t op_cache_key;
static pthread_once_t op_cache_once = PTHREAD_ONCE_INIT;

static void op_cache_exit(void *arg)
{
	struct op_cache *c = arg;
	while (c->head) {
		struct ex_op *op = c->head;
		c->head = op->next;
		free(op);
	}
	c->n = 0;
}

static void op_cache_key_init(void)
{
	(void)pthread_key_create(&op_cache_key, op_cache_exit);
}

struct ex_op *ex_op_new(struct ex_reactor *r)
{
	struct op_cache *c = &op_cache;
	struct ex_op *op = c->head;
	if (op) {
		c->head = op->next;
		c->n--;
		memset(op, 0, sizeof(*op));
	} else {
		op = calloc(1, sizeof(*op));
		if (!op)
			return NULL;
	}
	op->r = r;
	atomic_store_explicit(&op->refs, 1, memory_order_relaxed);
	return op;
}

static bool op_cache_full(const struct op_cache *c)
{
#ifdef EX_OP_CACHE_OFF
	(void)c;
	return true;
#else
	return c->n >= EX_OP_CACHE;
#endif
}

static void op_free(struct ex_op *op)
{
	struct op_cache *c = &op_cache;
	if (op_cache_full(c)) {
		free(op);
		return;
	}
	if (!c->registered) {
		/* first record cached on this thread: return them to malloc when it exits */
		pthread_once(&op_cache_once, op_cache_key_init);
		(void)pthread_setspecific(op_cache_key, c);
		c->registered = true;
	}
	op->next = c->head;
	c->head = op;
	c->n++;
}

void ex_op_set_sqe(struct ex_op *op, const struct io_uring_sqe *sqe)
{
	/* what ex_sqe_lite does not keep must be unused (user_data is set at the flush) */
	assert(!sqe->buf_index && !sqe->personality && !sqe->splice_fd_in && !sqe->addr3 &&
	       !sqe->__pad2[0]);
	op->sqe = (struct ex_sqe_lite){
		.opcode = sqe->opcode,
		.flags = sqe->flags,
		.ioprio = sqe->ioprio,
		.fd = sqe->fd,
		.off = sqe->off,
		.addr = sqe->addr,
		.len = sqe->len,
		.op_flags = sqe->rw_flags,
	};
}

/* Write @p op's SQE into the ring slot @p sqe. */
static void op_fill_sqe(const struct ex_op *op, struct io_uring_sqe *sqe)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op->sqe.opcode;
	sqe->flags = op->sqe.flags;
	sqe->ioprio = op->sqe.ioprio;
	sqe->fd = op->sqe.fd;
	sqe->off = op->sqe.off;
	sqe->addr = op->sqe.addr;
	sqe->len = op->sqe.len;
	sqe->rw_flags = (__kernel_rwf_t)op->sqe.op_flags;
	io_uring_sqe_set_data(sqe, (void *)op);
}

static void op_unref(struct ex_op *op)
{
	if (atomic_fetch_sub_explicit(&op->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (op->is_cancel)
		op_unref(op->target);
	else
		ex_waker_drop(&op->waker);
	op_free(op);
}

/* ---- submission ---- */

/* An injected failure (ex_reactor_fail_submits) if one is left, else 0. */
static int submit_fault(struct ex_reactor *r)
{
	unsigned n = LOAD(&r->fail_submits);
	while (n && !__atomic_compare_exchange_n(&r->fail_submits, &n, n - 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return n ? __atomic_load_n(&r->fail_err, __ATOMIC_RELAXED) : 0;
}

void ex_reactor_fail_submits(struct ex_reactor *r, unsigned n, int err)
{
	__atomic_store_n(&r->fail_err, err, __ATOMIC_RELAXED);
	__atomic_store_n(&r->fail_submits, n, __ATOMIC_RELEASE);
}

static void reactor_submit(struct ex_reactor *r)
{
	for (;;) {
		int ret = LOAD(&r->fail_submits) ? submit_fault(r) : 0;
		if (ret == 0)
			ret = io_uring_submit(&r->ring);
		STAT(&r->st_enters, 1);
		if (ret >= 0) {
			STAT(&r->st_sqes, (uint64_t)ret);
			return;
		}
		if (ret == -EINTR)
			continue;
		/* -EBUSY (CQ backlog) / -EAGAIN (no kernel memory): the SQEs stay in the ring and are
		 * submitted again by the completion thread after it reaped (need_retry). Any other
		 * error is a ring-level bug; retrying is still the only way not to lose the ops. */
		STAT(&r->st_busy, 1);
		return;
	}
}

static void q_push(struct ex_queue *q, struct ex_op *op)
{
	op->next = NULL;
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
}

static struct ex_op *q_pop(struct ex_queue *q)
{
	struct ex_op *op = q->head;
	q->head = op->next;
	if (!q->head)
		q->tail = NULL;
	op->next = NULL;
	return op;
}

/* Queue @p op for the kernel. Caller holds sub_lock. */
static void pend_push(struct ex_reactor *r, struct ex_op *op)
{
	q_push(op->unbounded ? &r->pend_free : &r->pend, op);
}

/* How drain_locked() ended. */
enum drain_result {
	DRAIN_EMPTY,   /* the queue is empty: everything went to the SQ ring */
	DRAIN_BOUNDED, /* stopped: cq_limit bounded ops are in flight */
	DRAIN_SQ_FULL, /* stopped: the SQ ring is full and the kernel took nothing */
};

/* Move the ops of queue @p q into the SQ ring while there is room (and, if @p bounded, while
 * the CQ bound allows). Caller holds sub_lock. */
static enum drain_result drain_locked(struct ex_reactor *r, struct ex_queue *q, bool bounded)
{
	while (q->head) {
		struct ex_op *op = q->head;
		if (!op_is_internal(r, op) && !op->is_cancel &&
		    (atomic_load_explicit(&op->flow, memory_order_acquire) & EX_OPF_ABANDONED)) {
			/* released before it reached the kernel: it never will */
			q_pop(q);
			op_unref(op); /* the kernel's reference */
			continue;
		}
		if (bounded && LOAD(&r->bounded) >= r->cq_limit)
			return DRAIN_BOUNDED;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
		if (!sqe) {
			reactor_submit(r);
			sqe = io_uring_get_sqe(&r->ring);
			if (!sqe)
				return DRAIN_SQ_FULL; /* the kernel took nothing (-EBUSY / -EAGAIN) */
		}
		q_pop(q);
		op_fill_sqe(op, sqe);
		op->state = EX_OP_SUBMITTED;
		ADD(&r->inflight, 1);
		if (bounded) {
			unsigned n = ADD(&r->bounded, 1);
			if (n > LOAD(&r->st_max_inflight))
				STORE(&r->st_max_inflight, n);
		}
	}
	return DRAIN_EMPTY;
}

/*
 * Move queued ops into the SQ ring, then one io_uring_enter. Unbounded ops (polls, which may
 * wait for a long time, and cancels, which must never wait behind them) go first and are not
 * counted against the CQ bound; bounded ops (everything that transfers data) wait in the
 * overflow queue while cq_limit of them are in flight. Caller holds sub_lock.
 */
static void flush_locked(struct ex_reactor *r)
{
	enum drain_result stop = drain_locked(r, &r->pend_free, false);
	if (stop == DRAIN_EMPTY)
		stop = drain_locked(r, &r->pend, true);
	if (io_uring_sq_ready(&r->ring))
		reactor_submit(r);
	bool sq_stuck = io_uring_sq_ready(&r->ring) || stop == DRAIN_SQ_FULL;
	bool retry = stop != DRAIN_EMPTY || sq_stuck;
	__atomic_store_n(&r->need_retry, retry ? 1 : 0, __ATOMIC_SEQ_CST);
	if (stop != DRAIN_EMPTY)
		STAT(&r->st_deferred, 1);
	/* The completion thread re-flushes after its next reap. If the kernel took nothing, or no
	 * bounded op is in flight whose CQE would wake it, kick it. Sequentially consistent
	 * store/load here and in the completion thread (which lowers `bounded`, then reads
	 * need_retry): one of the two sides sees the other's store (Dekker). Not needed on the
	 * completion thread itself: it loops anyway. */
	if (retry && !pthread_equal(pthread_self(), r->thread) &&
	    (sq_stuck || __atomic_load_n(&r->bounded, __ATOMIC_SEQ_CST) == 0))
		ex_reactor_kick(r);
}

/*
 * Submission by hand-over (flat combining). With one ring, the kernel submits under its own ring
 * lock and a page-cached read completes inline in io_uring_enter, so two workers submitting at
 * once would only queue for each other: the one that found sub_lock taken used to sleep on it (a
 * futex wait and a context switch per collision). Now a worker pushes its batch onto `handoff`
 * and only tries the lock; if it is taken, the holder submits the batch before it lets go, and
 * the worker goes back to polling tasks.
 *
 * No batch is stranded: the pusher's CAS on handoff, then a seq_cst fence, then its trylock; the
 * holder's unlock, then a seq_cst fence, then its load of handoff (sub_unlock). The two fences
 * are ordered: if the pusher's comes first the holder's load sees the batch, if the holder's
 * comes first the pusher's trylock sees the lock released (and succeeds, or a newer holder
 * takes over the same duty). The ops' contents travel with the CAS (release) and the holder's
 * exchange (acquire).
 *
 * Only a thread that outlives its operations may submit other threads' batches (the kernel ties
 * a request to its submitter, reactor.h): the workers and test drivers (whose current reactor
 * this is) and the completion thread. Any other thread (one that released an op, say) never
 * flushes: what it queues itself (a cancel, submit_now) is handed over too, and whatever was
 * handed over while it held the lock is left to the completion thread, which it kicks. The kick
 * is ordered like the pusher's trylock: kick_pending's read-modify-writes (here and in the
 * completion thread's reset) carry the hand-over to the completion thread's next look at
 * handoff, or the eventfd write wakes it for one more round.
 */
static bool may_combine(struct ex_reactor *r)
{
	return tls_current == r || tls_reaper == r;
}

static void take_handoff_locked(struct ex_reactor *r)
{
	struct ex_op *op = atomic_exchange_explicit(&r->handoff, NULL, memory_order_acquire);
	struct ex_op *fifo = NULL;
	while (op) { /* reverse: hand-over order */
		struct ex_op *next = op->next;
		op->next = fifo;
		fifo = op;
		op = next;
	}
	for (struct ex_op *next; fifo; fifo = next) {
		next = fifo->next;
		pend_push(r, fifo);
	}
}

/* Release sub_lock, first submitting what was handed over meanwhile; see above. */
static void sub_unlock(struct ex_reactor *r)
{
	if (!may_combine(r)) {
		pthread_mutex_unlock(&r->sub_lock);
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&r->handoff, memory_order_relaxed))
			ex_reactor_kick(r);
		return;
	}
	for (;;) {
		if (atomic_load_explicit(&r->handoff, memory_order_relaxed)) {
			take_handoff_locked(r);
			flush_locked(r);
		}
		pthread_mutex_unlock(&r->sub_lock);
		atomic_thread_fence(memory_order_seq_cst);
		if (!atomic_load_explicit(&r->handoff, memory_order_relaxed))
			return;
		if (pthread_mutex_trylock(&r->sub_lock) != 0)
			return; /* the new holder submits it */
	}
}

/* Push the ops @p top .. @p bottom (linked through next, newest first) onto handoff with one CAS
 * (release: their contents travel with it), then the seq_cst fence of the pairing above. */
static void handoff_push(struct ex_reactor *r, struct ex_op *top, struct ex_op *bottom)
{
	struct ex_op *old = atomic_load_explicit(&r->handoff, memory_order_relaxed);
	do
		bottom->next = old;
	while (!atomic_compare_exchange_weak_explicit(&r->handoff, &old, top, memory_order_release,
						      memory_order_relaxed));
	atomic_thread_fence(memory_order_seq_cst);
}

static void batch_flush(void)
{
	struct tls_batch *b = &tls_batch;
	if (!b->n)
		return;
	struct ex_reactor *r = b->r;
	/* link the batch in reverse (the stack's order) and push it with one CAS */
	struct ex_op *rev = NULL, *first = b->head;
	for (struct ex_op *op = b->head, *next; op; op = next) {
		next = op->next;
		op->next = rev;
		rev = op;
	}
	handoff_push(r, rev, first);
	b->head = b->tail = NULL;
	b->n = 0;
	if (!may_combine(r))
		ex_reactor_kick(r); /* see above: the completion thread submits it */
	else if (pthread_mutex_trylock(&r->sub_lock) == 0)
		sub_unlock(r);
}

void ex_reactor_after_poll(struct ex_reactor *r, bool idle)
{
	(void)r; /* the batches know their reactor */
	if (tls_batch.n && (idle || tls_batch.n >= EX_REACTOR_BATCH))
		batch_flush();
	if (tls_own && own_batched(tls_own, idle))
		own_flush(tls_own);
}

void ex_op_submit(struct ex_op *op, const struct ex_waker *w)
{
	struct tls_batch *b = &tls_batch;
	/* Not shared yet: the completion thread first sees op through the SQ (see completion_main
	 * for how that is ordered), so plain stores. */
	op->waker = ex_waker_clone(w);
	atomic_store_explicit(&op->refs, 2, memory_order_relaxed); /* owner + kernel */
	op->state = EX_OP_QUEUED;
	if (own_take(op))
		return; /* a data transfer of a worker: its own ring */
	if (b->n && b->r != op->r)
		batch_flush();
	b->r = op->r;
	op->next = NULL;
	if (b->tail)
		b->tail->next = op;
	else
		b->head = op;
	b->tail = op;
	b->n++;
}

/* Queue an op of the reactor's own (kick, cancel) and flush at once: these are rare and a
 * worker may not call after_poll again soon. */
static void submit_now(struct ex_reactor *r, struct ex_op *op)
{
	if (!may_combine(r)) {
		/* A flush here would also submit the overflow queue's ops of other threads, from a
		 * thread that may exit before they complete: hand it over (see sub_unlock). */
		op->state = EX_OP_QUEUED;
		handoff_push(r, op, op);
		ex_reactor_kick(r);
		return;
	}
	pthread_mutex_lock(&r->sub_lock);
	op->state = EX_OP_QUEUED;
	pend_push(r, op);
	flush_locked(r);
	sub_unlock(r);
}

/* Where the completion thread is (ct_wait). */
enum ct_wait_kind {
	CT_RUNNING,    /* awake: it reads ct_seq again before it waits */
	CT_WAIT_CQ,    /* in io_uring_enter: woken by a CQE (the wake eventfd's poll, say) */
	CT_WAIT_FUTEX, /* workers drive the ring: on ct_seq, with a timeout */
};

/*
 * Wake the completion thread. The kicker bumps ct_seq, then reads where the thread waits; the
 * thread stores where it waits, then reads ct_seq, and does not wait if it changed (both
 * sequentially consistent: one side sees the other). So a kick is never lost, and it costs a
 * syscall only when the thread sleeps: a futex wake, or an eventfd write whose multishot poll
 * ends the CQ wait (needs no SQE, so it works even when the ring is full), coalesced by
 * kick_pending until the completion thread read the eventfd.
 */
void ex_reactor_kick(struct ex_reactor *r)
{
	atomic_fetch_add_explicit(&r->ct_seq, 1, memory_order_seq_cst);
	int where = __atomic_load_n(&r->ct_wait, __ATOMIC_SEQ_CST);
	if (where == CT_WAIT_FUTEX) {
		ex__futex_wake(&r->ct_seq, 1);
		return;
	}
	if (where == CT_RUNNING)
		return;
	if (__atomic_exchange_n(&r->kick_pending, 1, __ATOMIC_ACQ_REL))
		return; /* a kick is on its way and not yet seen: it covers this one */
	eventfd_write(r->wake_fd, 1);
}

/* Completion thread: (re)arm the multishot poll on the wake eventfd. */
static void arm_wake(struct ex_reactor *r)
{
	struct io_uring_sqe sqe;
	io_uring_prep_poll_multishot(&sqe, r->wake_fd, POLLIN);
	ex_op_set_sqe(&r->kick_op, &sqe);
	ADD(&r->internal_polls, 1);
	submit_now(r, &r->kick_op);
}

/*
 * Op state: how the owner (the future's poll and release, on one thread at a time) and the
 * completion thread hand over the waker slot and the result without a lock.
 *
 * op->flow holds three bits. DONE is set once, by the completion thread, after it stored res and
 * cqe_flags; REGISTERING and ABANDONED are set only by the owner. Every transition is one atomic
 * read-modify-write on flow, so all of them are totally ordered, and each side learns from the
 * value it replaced what the other side did before:
 *
 *  - The result: the completion thread writes res, then fetch_or(DONE) (release). The owner
 *    reads res only after it saw DONE with acquire: the result is complete when it is read.
 *  - The waker slot belongs to the owner while DONE is clear and to the completion thread once
 *    its fetch_or(DONE) found flow == 0 (owner not registering, not gone). To write the slot
 *    the owner first sets REGISTERING (fetch_or, acquire); if DONE was already set it does not
 *    touch the slot (the result is there: it returns READY). Else it stores the waker and
 *    clears REGISTERING with a CAS (release). If that CAS fails, DONE arrived meanwhile: the
 *    completion thread saw REGISTERING, left the slot alone and woke nobody, so the owner, which
 *    is running, takes the result at once instead of waiting for a wake. If the completion
 *    thread's fetch_or found flow == 0, the owner's last CAS (release) happened before it, so
 *    it reads the latest waker, and any later owner step sees DONE and keeps out of the slot.
 *    So exactly one wake per completion, or none when the owner sees the result itself, and no
 *    two threads ever write the slot at once.
 *  - Abandon: ex_op_release sets ABANDONED|REGISTERING in one fetch_or. If DONE was set, the
 *    owner hands back what the op produced (closes a new fd). Else the slot is the owner's for
 *    good (the completion thread, seeing ABANDONED, never touches it) and it drops the waker;
 *    the completion thread closes the fd. Exactly one of the two closes it: whichever
 *    read-modify-write came second sees the other's bit.
 *  - Lifetime: refs (owner + kernel), decremented with acq_rel, so whoever frees the record
 *    saw every write of the other side; the slot's waker is dropped then.
 * Being lock-free, it also costs no 40-byte mutex per record (was 168 bytes, now 120).
 */
static ex_poll_t op_take_result(struct ex_op *op, int32_t *res, uint32_t *cqe_flags)
{
	*res = op->res;
	if (cqe_flags)
		*cqe_flags = op->cqe_flags;
	op_unref(op);
	return EX_READY;
}

ex_poll_t ex_op_poll(struct ex_op *op, struct ex_context *cx, int32_t *res, uint32_t *cqe_flags)
{
	if (atomic_load_explicit(&op->flow, memory_order_acquire) & EX_OPF_DONE)
		return op_take_result(op, res, cqe_flags);
	uint32_t prev = atomic_fetch_or_explicit(&op->flow, EX_OPF_REGISTERING,
						 memory_order_acquire);
	if (prev & EX_OPF_DONE)
		return op_take_result(op, res, cqe_flags);
	ex_waker_store(&op->waker, cx->waker);
	uint32_t expected = EX_OPF_REGISTERING;
	if (atomic_compare_exchange_strong_explicit(&op->flow, &expected, 0, memory_order_release,
						    memory_order_acquire))
		return EX_PENDING;
	/* DONE arrived while the waker was stored: nobody woke us, take the result now */
	return op_take_result(op, res, cqe_flags);
}

/* The owner releases an op still in flight: cancel it in the kernel if it got there. */
static void op_cancel_in_kernel(struct ex_reactor *r, struct ex_op *op)
{
	if (op->ring) {
		own_cancel(r->owns[op->ring - 1], op);
		return;
	}
	pthread_mutex_lock(&r->sub_lock);
	bool in_kernel = op->state == EX_OP_SUBMITTED;
	sub_unlock(r);
	if (!in_kernel)
		return; /* still queued in some thread's batch or the overflow queue: the flush drops it */
	/* The cancel op holds a reference to its target so that the user_data it names cannot be
	 * reused by a new op before the cancel ran. If it cannot be allocated, the op simply
	 * completes on its own (its CQE is reaped either way). */
	struct ex_op *c = ex_op_new(r);
	if (!c)
		return;
	atomic_fetch_add_explicit(&op->refs, 1, memory_order_relaxed);
	c->is_cancel = true;
	c->target = op;
	c->unbounded = true;
	struct io_uring_sqe sqe;
	io_uring_prep_cancel64(&sqe, (uint64_t)(uintptr_t)op, 0);
	ex_op_set_sqe(c, &sqe);
	submit_now(r, c);
}

void ex_op_release(struct ex_op *op)
{
	uint32_t prev = atomic_fetch_or_explicit(&op->flow, EX_OPF_ABANDONED | EX_OPF_REGISTERING,
						 memory_order_acq_rel);
	if (prev & EX_OPF_DONE) {
		if (op->res_is_fd && op->res >= 0)
			close(op->res); /* hand back what the op produced */
	} else {
		ex_waker_drop(&op->waker); /* ours for good: the completion thread saw or will see
		                            * ABANDONED and keeps out of the slot */
		op_cancel_in_kernel(op->r, op);
	}
	op_unref(op);
}

/* ---- completion thread ---- */

static void wake_batch_begin(struct ex_reactor *r)
{
	if (r->hooks.wake_batch_begin)
		r->hooks.wake_batch_begin(r->hooks.arg);
}

static void wake_batch_end(struct ex_reactor *r)
{
	if (r->hooks.wake_batch_end)
		r->hooks.wake_batch_end(r->hooks.arg);
}

static void complete(struct ex_reactor *r, struct ex_op *op, int32_t res, uint32_t flags)
{
	if (op == &r->kick_op) {
		eventfd_t v;
		(void)eventfd_read(r->wake_fd, &v); /* reset; -EAGAIN if another CQE already did */
		/* an RMW, so that it is ordered after the kicker's exchange */
		__atomic_exchange_n(&r->kick_pending, 0, __ATOMIC_ACQ_REL);
		if (!(flags & IORING_CQE_F_MORE)) {
			SUB(&r->internal_polls, 1);
			if (!LOAD(&r->stopping))
				STORE(&r->rearm_wake,
				      1); /* multishot ended (CQ overflow): arm again */
		}
		return;
	}
	if (op->is_parker) {
		/* The eventfd is not read here: a read by this (any) reaper could consume a write
		 * whose wake-up is still on its way to the poll, which then finds nothing to
		 * report and the driver sleeps on. Its owner resets it (ex_reactor_parker_reset). */
		if (!(flags & IORING_CQE_F_MORE)) {
			SUB(&r->internal_polls, 1);
			/* the poll ended: its worker arms it again */
			atomic_store_explicit(&op->flow, 0, memory_order_release);
		}
		return;
	}
	if (op == &r->cancel_all_op) {
		STORE(&r->cancel_all_pending, 0);
		return;
	}
	if (op->is_cancel) {
		op_unref(op); /* drops its target too */
		return;
	}
	op->res = res;
	op->cqe_flags = flags;
	/* op state (see ex_op_poll): publish the result; learn whether the owner is registering a
	 * waker (then it takes the result itself) or gone (then the result is ours to undo) */
	uint32_t prev = atomic_fetch_or_explicit(&op->flow, EX_OPF_DONE, memory_order_acq_rel);
	/* From here the owner may see the result; only our own reference keeps op alive. */
	if (prev & EX_OPF_ABANDONED) {
		if (op->res_is_fd && res >= 0)
			close(res);
	} else if (!(prev & EX_OPF_REGISTERING)) {
		struct ex_waker w = op->waker;
		op->waker.vtable = NULL;
		ex_waker_wake(&w);
	}
	op_unref(op);
}

static void ts_from_ns(struct __kernel_timespec *ts, uint64_t ns)
{
	ts->tv_sec = (long long)(ns / 1000000000u);
	ts->tv_nsec = (long long)(ns % 1000000000u);
}

/* CQEs in the CQ not reaped yet. Atomic loads of both indexes, so that it may be asked outside
 * reap_lock (liburing's io_uring_cq_ready reads the head with a plain load). */
static unsigned cq_pending(struct ex_reactor *r)
{
	return __atomic_load_n(r->ring.cq.ktail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(r->ring.cq.khead, __ATOMIC_RELAXED);
}

static bool cq_nonempty(struct ex_reactor *r)
{
	return cq_pending(r) != 0;
}

/*
 * Reap the CQEs that are ready: store each result and wake its task (one wake batch). Caller
 * holds reap_lock. Returns how many.
 */
static unsigned reap_locked(struct ex_reactor *r, unsigned max)
{
	/* Acquire what the flushers published with their release increments of inflight before
	 * they submitted: the op records reach us through the kernel (user_data), which establishes
	 * no happens-before a race detector could see. Only the CQEs counted before that load are
	 * reaped in this round. */
	unsigned ready = io_uring_cq_ready(&r->ring);
	if (ready > max)
		ready = max; /* the rest stay queued, in order, for the next reap */
	if (!ready)
		return 0;
	(void)LOAD(&r->inflight);
	unsigned head, n = 0, ended = 0, ended_bounded = 0;
	/* counted before the wakes: a woken task that reads the statistics sees its CQE */
	STAT(&r->st_completions, ready);
	wake_batch_begin(r);
	struct io_uring_cqe *cqe;
	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		if (n == ready)
			break;
		struct ex_op *op = io_uring_cqe_get_data(cqe);
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			ended++; /* a multishot CQE does not end its op */
			if (!op->unbounded)
				ended_bounded++; /* read before complete() may free op */
		}
		complete(r, op, cqe->res, cqe->flags);
		n++;
	}
	wake_batch_end(r);
	io_uring_cq_advance(&r->ring, n);
	SUB(&r->inflight, ended);
	__atomic_sub_fetch(&r->bounded, ended_bounded, __ATOMIC_SEQ_CST); /* see flush_locked */
	return n;
}

/* After a reap: submit what waited for room in the CQ (the overflow queue) and what was handed
 * over meanwhile. The completion thread and workers only (may_combine). */
static void resubmit(struct ex_reactor *r)
{
	if (!__atomic_load_n(&r->need_retry, __ATOMIC_SEQ_CST) &&
	    !atomic_load_explicit(&r->handoff, memory_order_relaxed))
		return;
	pthread_mutex_lock(&r->sub_lock);
	if (atomic_load_explicit(&r->handoff, memory_order_relaxed))
		take_handoff_locked(r); /* with the retries: one io_uring_enter */
	flush_locked(r);
	sub_unlock(r);
}

/* Completion thread: sleep until a kick (ct_seq moves from @p seq), a CQE (when the workers do
 * not drive) or @p wait_ns (UINT64_MAX: no timeout). */
static void ct_sleep(struct ex_reactor *r, uint32_t seq, uint64_t wait_ns)
{
	/* not on the CQ while a worker still waits there (driving is being turned off): the CQEs
	 * are that worker's, and would only wake this thread for nothing */
	bool drive = LOAD(&r->drive) || LOAD(&r->driver);
	__atomic_store_n(&r->ct_wait, drive ? CT_WAIT_FUTEX : CT_WAIT_CQ, __ATOMIC_SEQ_CST);
	if (atomic_load_explicit(&r->ct_seq, memory_order_seq_cst) != seq) {
		/* kicked meanwhile: look again */
	} else if (drive) {
		if (LOAD(&r->inflight) > LOAD(&r->internal_polls) && wait_ns > EX_REACTOR_RESCUE_NS)
			wait_ns = EX_REACTOR_RESCUE_NS; /* reap what a stuck worker would leave */
		ex__futex_wait(&r->ct_seq, seq, wait_ns);
	} else {
		/* A direct io_uring_enter: liburing's wait reads the CQ head outside reap_lock. */
		struct __kernel_timespec ts;
		struct io_uring_getevents_arg arg = { .sigmask_sz = _NSIG / 8 };
		if (wait_ns != UINT64_MAX) {
			ts_from_ns(&ts, wait_ns);
			arg.ts = (uint64_t)(uintptr_t)&ts;
		}
		(void)io_uring_enter2(r->ring.ring_fd, 0, 1,
				      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
				      (sigset_t *)&arg, sizeof(arg));
	}
	__atomic_store_n(&r->ct_wait, CT_RUNNING, __ATOMIC_SEQ_CST);
}

/* Completion thread, while stopping: cancel whatever is still in flight (again every 10 ms,
 * for ops submitted late; an op already running in io-wq completes on its own). */
static void cancel_all(struct ex_reactor *r, uint64_t now, uint64_t *last)
{
	if (LOAD(&r->cancel_all_pending) || !LOAD(&r->inflight) || now - *last < 10000000)
		return;
	STORE(&r->cancel_all_pending, 1);
	*last = now;
	struct io_uring_sqe sqe;
	io_uring_prep_cancel64(&sqe, 0, IORING_ASYNC_CANCEL_ANY);
	ex_op_set_sqe(&r->cancel_all_op, &sqe);
	submit_now(r, &r->cancel_all_op);
}

static void *completion_main(void *arg)
{
	struct ex_reactor *r = arg;
	uint64_t last_cancel_all = 0;
	tls_reaper = r;
	/* armed from this thread: the kernel ties a poll to the thread that submitted it */
	arm_wake(r);
	sem_post(&r->started);
	for (;;) {
		uint32_t seq = atomic_load_explicit(&r->ct_seq, memory_order_seq_cst);
		uint64_t now = ex_now_ns();
		wake_batch_begin(r);
		uint64_t next = ex_timers_fire(r, now, 0);
		wake_batch_end(r);
		bool stopping = LOAD(&r->stopping);
		if (stopping && LOAD(&r->inflight) == 0 && !LOAD(&r->need_retry) &&
		    !atomic_load_explicit(&r->handoff, memory_order_acquire))
			break;

		uint64_t wait_ns = UINT64_MAX;
		if (next != UINT64_MAX)
			wait_ns = next > now ? next - now : 0;
		if (LOAD(&r->need_retry) && wait_ns > 1000000)
			wait_ns = 1000000; /* -EAGAIN: retry the overflow queue at least every ms */
		if (stopping) {
			cancel_all(r, now, &last_cancel_all);
			if (wait_ns > 10000000)
				wait_ns = 10000000;
		}
		if (wait_ns > 0 && (LOAD(&r->driver) || !cq_nonempty(r)))
			ct_sleep(r, seq, wait_ns);

		/* Never while a worker waits on the ring: that worker must find in the CQ whatever
		 * arrived since it looked (its own wake-up, the parker's CQE, above all), or it
		 * sleeps on. It reaps everything itself when it wakes. */
		if (!LOAD(&r->driver)) {
			pthread_mutex_lock(&r->reap_lock);
			(void)reap_locked(r, UINT_MAX);
			pthread_mutex_unlock(&r->reap_lock);
		}
		if (__atomic_exchange_n(&r->rearm_wake, 0, __ATOMIC_ACQ_REL))
			arm_wake(r);
		resubmit(r);
	}
	return NULL;
}

/* ---- workers that drive the ring (reactor.h) ---- */

static int own_new(struct ex_reactor *r, struct ex_own_ring **out);
static void own_free(struct ex_own_ring *o);

int ex_reactor_parker_init(struct ex_reactor *r, struct ex_reactor_parker *p)
{
	p->own = NULL;
	p->op = calloc(1, sizeof(*p->op));
	if (!p->op)
		return -ENOMEM;
	p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->fd < 0) {
		int err = -errno;
		free(p->op);
		p->op = NULL;
		return err;
	}
	p->op->r = r;
	p->op->is_parker = true;
	p->op->unbounded = true;
	int ret = own_new(r, &p->own);
	if (ret == -ENOMEM) {
		ex_reactor_parker_destroy(p);
		return ret;
	}
	return 0; /* any other error: no own ring, the runtime's ring serves this worker */
}

void ex_reactor_parker_destroy(struct ex_reactor_parker *p)
{
	if (!p->op)
		return;
	own_free(p->own);
	p->own = NULL;
	close(p->fd);
	free(p->op);
	p->op = NULL;
}

void ex_reactor_set_drive(struct ex_reactor *r, bool on)
{
	STORE(&r->drive, on ? 1 : 0);
	ex_reactor_kick(r); /* the completion thread changes where it waits */
}

bool ex_reactor_drive_begin(struct ex_reactor *r)
{
	int idle = 0;
	return LOAD(&r->drive) && !LOAD(&r->driver) &&
	       __atomic_compare_exchange_n(&r->driver, &idle, 1, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

void ex_reactor_drive_end(struct ex_reactor *r)
{
	STORE(&r->driver, 0);
	if (!LOAD(&r->drive))
		ex_reactor_kick(r); /* driving was turned off meanwhile: the CQ is the
		                     * completion thread's again */
}

static int own_wake_fd(const struct ex_own_ring *o);

void ex_reactor_unpark(struct ex_reactor_parker *p, bool own)
{
	eventfd_write(own ? own_wake_fd(p->own) : p->fd, 1);
}

void ex_reactor_parker_reset(struct ex_reactor_parker *p, bool own)
{
	eventfd_t v;
	/* -EAGAIN if nothing was written */
	(void)eventfd_read(own ? own_wake_fd(p->own) : p->fd, &v);
}

/* Arm the parker's multishot poll from the worker itself, so that a wake-up runs as task_work
 * on the thread that waits (flow: 1 = armed; complete() clears it when the poll ends). */
static void parker_arm(struct ex_reactor *r, struct ex_reactor_parker *p)
{
	if (atomic_load_explicit(&p->op->flow, memory_order_acquire))
		return;
	atomic_store_explicit(&p->op->flow, 1, memory_order_release);
	ADD(&r->internal_polls, 1);
	struct io_uring_sqe sqe;
	io_uring_prep_poll_multishot(&sqe, p->fd, POLLIN);
	ex_op_set_sqe(p->op, &sqe);
	submit_now(r, p->op);
}

static bool own_watch(struct ex_own_ring *o);

void ex_reactor_drive_wait(struct ex_reactor *r, struct ex_reactor_parker *p)
{
	if (tls_batch.n)
		batch_flush();
	if (p->own && p->own == tls_own && own_watch(p->own))
		return; /* its own ring has completions: reap them instead of waiting */
	parker_arm(r, p);
	/* Returns at once if a CQE is there: only the driver reaps while it holds the place, so
	 * whatever arrived since it last looked (its own wake-up above all) is still in the CQ. */
	if (!cq_nonempty(r))
		(void)io_uring_enter(r->ring.ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL);
}

static bool own_data_inflight(const struct ex_own_ring *o);

bool ex_reactor_data_inflight(struct ex_reactor *r)
{
	return __atomic_load_n(&r->bounded, __ATOMIC_RELAXED) != 0 ||
	       (tls_own && own_data_inflight(tls_own));
}

unsigned ex_reactor_reap(struct ex_reactor *r, unsigned max)
{
	unsigned own = tls_own ? own_reap(tls_own, max) : 0;
	/* A worker waiting on the ring is woken by these CQEs anyway: leave them to it, or it
	 * wakes for nothing (and could miss its own wake-up). */
	if (own >= max || !cq_nonempty(r) || LOAD(&r->driver) || !LOAD(&r->drive) ||
	    pthread_mutex_trylock(&r->reap_lock) != 0)
		return own;
	unsigned n = own + reap_locked(r, max - own);
	pthread_mutex_unlock(&r->reap_lock);
	if (LOAD(&r->rearm_wake))
		ex_reactor_kick(r); /* the completion thread re-arms its wake poll */
	resubmit(r);
	return n;
}

/* ---- lifecycle ---- */

/* io-wq workers per submitting thread (bounded: regular-file I/O such as fdatasync; unbounded:
 * what may block forever, sockets): the kernel starts one per blocked operation otherwise, so
 * 500 streams syncing at once would mean 500 kernel threads. Past the cap the operations queue. */
#define IOWQ_MAX_BOUNDED 8u
#define IOWQ_MAX_UNBOUNDED 8u

/* Cap the ring's io-wq workers (IORING_REGISTER_IOWQ_MAX_WORKERS, Linux 5.15; set on the ring,
 * so that every thread's io-wq inherits it). Best effort: an older kernel keeps its default. */
static void cap_iowq(struct io_uring *ring)
{
	unsigned max[2] = { IOWQ_MAX_BOUNDED, IOWQ_MAX_UNBOUNDED };
	(void)io_uring_register_iowq_max_workers(ring, max);
}

/*
 * The ring, with the setup flags this kernel knows, newest first:
 *  - COOP_TASKRUN (5.19): a completion that runs as task_work (a socket poll's) waits for the
 *    submitting worker's next system call instead of interrupting it with an IPI: a busy worker
 *    is not preempted per readiness event (tokio's workers likewise gather readiness when they
 *    park), and a sleeping one is still woken (TWA_SIGNAL_NO_IPI wakes it). Measured: 1.3x
 *    requests/s at 100 connections (docs/performance-notes.md, "idle workers drive the ring").
 *  - SUBMIT_ALL (5.18): a failing SQE does not stop the rest of its batch.
 */
static int ring_init(struct ex_reactor *r, unsigned sq, unsigned cq, struct io_uring_params *p)
{
	static const unsigned flags[] = {
		IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL,
		IORING_SETUP_CQSIZE,
	};
	int ret = -EINVAL;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]) && ret == -EINVAL; i++) {
		memset(p, 0, sizeof(*p));
		p->flags = flags[i];
		p->cq_entries = cq;
		ret = io_uring_queue_init_params(sq, &r->ring, p);
	}
	return ret;
}

int ex_reactor_new(const struct ex_reactor_config *cfg, struct ex_reactor **out)
{
	unsigned sq = cfg && cfg->sq_entries ? cfg->sq_entries : 256;
	unsigned cq = cfg && cfg->cq_entries ? cfg->cq_entries : 4 * sq;
	if (cq < sq)
		return -EINVAL;
	struct ex_reactor *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	struct io_uring_params p;
	int ret = ring_init(r, sq, cq, &p);
	if (ret < 0) {
		free(r);
		return ret;
	}
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
		io_uring_queue_exit(&r->ring);
		free(r);
		return -ENOSYS;
	}
	r->cq_limit = p.cq_entries;
	cap_iowq(&r->ring);
	if (cfg)
		r->hooks = cfg->hooks;
	pthread_mutex_init(&r->sub_lock, NULL);
	pthread_mutex_init(&r->reap_lock, NULL);
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	r->kick_op.r = r->cancel_all_op.r = r;
	r->kick_op.unbounded = r->cancel_all_op.unbounded = true;
	ret = ex_timers_init(&r->timers);
	if (ret < 0)
		goto fail;
	sem_init(&r->started, 0, 0);
	ret = -pthread_create(&r->thread, NULL, completion_main, r);
	if (ret < 0) {
		sem_destroy(&r->started);
		ex_timers_destroy(&r->timers);
		goto fail;
	}
	/* Returned once the wake poll is in the ring, so that the statistics a caller reads start
	 * from a settled ring (that SQE is never counted in the caller's first batch). */
	while (sem_wait(&r->started) < 0 && errno == EINTR)
		;
	sem_destroy(&r->started);
	*out = r;
	return 0;
fail:
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_mutex_destroy(&r->sub_lock);
	pthread_mutex_destroy(&r->reap_lock);
	io_uring_queue_exit(&r->ring);
	free(r);
	return ret;
}

void ex_reactor_free(struct ex_reactor *r)
{
	if (!r)
		return;
	if (tls_batch.r == r)
		batch_flush();
	STORE(&r->stopping, 1);
	/* wake the completion thread (a kick already on its way does that too); it cancels what is
	 * in flight and waits for the rest */
	ex_reactor_kick(r);
	pthread_join(r->thread, NULL);
	/* sleeps still armed complete with -ECANCELED */
	ex_timers_fire(r, UINT64_MAX, -ECANCELED);
	ex_timers_destroy(&r->timers);
	if (tls_batch.r == r)
		tls_batch.r = NULL;
	if (tls_current == r)
		tls_current = NULL;
	pthread_mutex_destroy(&r->sub_lock);
	pthread_mutex_destroy(&r->reap_lock);
	close(r->wake_fd);
	io_uring_queue_exit(&r->ring);
	free(r->owns);
	free(r);
}

static unsigned own_inflight(const struct ex_own_ring *o);

void ex_reactor_get_stats(struct ex_reactor *r, struct ex_reactor_stats *st)
{
	st->enters = LOAD(&r->st_enters);
	st->sqes = LOAD(&r->st_sqes);
	st->completions = LOAD(&r->st_completions);
	st->deferred = LOAD(&r->st_deferred);
	st->busy = LOAD(&r->st_busy);
	st->max_inflight = LOAD(&r->st_max_inflight);
	st->inflight = LOAD(&r->inflight);
	for (unsigned i = 0; i < r->nowns; i++)
		st->inflight += own_inflight(r->owns[i]);
	st->cq_ready = cq_pending(r);
	st->cq_limit = r->cq_limit;
}

/* ---- a worker's own ring (reactor.h, "A worker's own ring") ---- */

#define EX_OWN_SQ 64u
#define EX_OWN_CQ 512u

struct ex_own_ring {
	struct io_uring ring;
	struct ex_reactor *r;
	/* The SQ, and op->state of the ring's ops: taken by the owner's flush and by other
	 * threads' cancels. The CQ and the queues below are the owner's alone. */
	pthread_mutex_t lock;
	struct ex_queue batch; /* queued since the owner's last flush */
	unsigned nbatch;
	struct ex_queue pend;    /* waiting for room under `limit` or for an SQ entry */
	unsigned inflight;       /* atomic: in the SQ ring and not reaped (transfers and cancels) */
	unsigned bounded;        /* atomic: the transfers among them (<= limit) */
	unsigned limit;          /* half the CQ: the other half is for the cancels of those */
	int retry;               /* atomic: the kernel took nothing at the last flush (-EAGAIN) */
	uint16_t index;          /* op->ring of its ops */
	int wake_fd;             /* eventfd of ex_reactor_unpark(p, true) */
	struct ex_op wake;       /* multishot poll of wake_fd on this ring (flow 1 = armed) */
	struct ex_op watch;      /* oneshot poll of this ring's fd on the runtime's ring (flow 1 =
	                       * armed; complete() clears it): wakes the driver */
	struct ex_op cancel_any; /* ex_reactor_own_detach's ASYNC_CANCEL_ANY */
};

static int own_wake_fd(const struct ex_own_ring *o)
{
	return o->wake_fd;
}

static unsigned own_inflight(const struct ex_own_ring *o)
{
	return __atomic_load_n(&o->inflight, __ATOMIC_RELAXED);
}

static bool own_data_inflight(const struct ex_own_ring *o)
{
	return __atomic_load_n(&o->bounded, __ATOMIC_RELAXED) != 0;
}

static int own_new(struct ex_reactor *r, struct ex_own_ring **out)
{
	*out = NULL;
	if (r->nowns >= UINT16_MAX)
		return -ERANGE;
	struct ex_own_ring **owns = realloc(r->owns, (r->nowns + 1) * sizeof(*owns));
	if (!owns)
		return -ENOMEM;
	r->owns = owns;
	struct ex_own_ring *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	/* COOP_TASKRUN for the reason the runtime's ring has it; without it, no own ring */
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		.cq_entries = EX_OWN_CQ,
	};
	int ret = io_uring_queue_init_params(EX_OWN_SQ, &o->ring, &p);
	if (ret < 0) {
		free(o);
		return ret;
	}
	o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG) ||
	    o->wake_fd < 0) {
		ret = o->wake_fd < 0 ? -errno : -ENOSYS;
		io_uring_queue_exit(&o->ring);
		free(o);
		return ret;
	}
	cap_iowq(&o->ring);
	pthread_mutex_init(&o->lock, NULL);
	o->r = r;
	o->limit = p.cq_entries / 2;
	o->index = (uint16_t)(r->nowns + 1);
	o->wake.r = o->watch.r = o->cancel_any.r = r;
	o->wake.is_parker = o->watch.is_parker = true; /* internal: complete() ends a watch */
	o->wake.unbounded = o->watch.unbounded = o->cancel_any.unbounded = true;
	r->owns[r->nowns++] = o;
	*out = o;
	return 0;
}

static void own_free(struct ex_own_ring *o)
{
	if (!o)
		return;
	close(o->wake_fd);
	io_uring_queue_exit(&o->ring);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* ex_op_submit: queue a data transfer of a worker for its own ring (not yet shared: plain). */
static bool own_take(struct ex_op *op)
{
	struct ex_own_ring *o = tls_own;
	if (!o || op->unbounded || op->r != o->r)
		return false;
	op->ring = o->index;
	q_push(&o->batch, op);
	o->nbatch++;
	return true;
}

static bool own_batched(const struct ex_own_ring *o, bool idle)
{
	return o->nbatch && (idle || o->nbatch >= EX_REACTOR_BATCH);
}

static bool own_busy(const struct ex_own_ring *o)
{
	return LOAD(&o->inflight) || o->pend.head || o->nbatch || LOAD(&o->retry);
}

static void own_submit(struct ex_own_ring *o)
{
	for (;;) {
		int ret = io_uring_submit(&o->ring);
		STAT(&o->r->st_enters, 1);
		if (ret >= 0) {
			STAT(&o->r->st_sqes, (uint64_t)ret);
			return;
		}
		if (ret != -EINTR) {
			STAT(&o->r->st_busy, 1); /* the SQEs stay in the ring for the next flush */
			return;
		}
	}
}

/* Write @p op into an SQ entry (submitting first if the SQ is full); false if none is free. */
static bool own_put_locked(struct ex_own_ring *o, struct ex_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&o->ring);
	if (!sqe) {
		own_submit(o);
		sqe = io_uring_get_sqe(&o->ring);
		if (!sqe)
			return false;
	}
	op_fill_sqe(op, sqe);
	op->state = EX_OP_SUBMITTED;
	return true;
}

/* Move waiting transfers into the SQ while the bound allows, then one io_uring_enter. */
static void own_drain_locked(struct ex_own_ring *o)
{
	while (o->pend.head) {
		struct ex_op *op = o->pend.head;
		if (atomic_load_explicit(&op->flow, memory_order_acquire) & EX_OPF_ABANDONED) {
			q_pop(&o->pend); /* released before it reached the kernel: it never will */
			op_unref(op);
			continue;
		}
		if (LOAD(&o->bounded) >= o->limit) {
			STAT(&o->r->st_deferred, 1); /* a completion makes room (own_reap) */
			break;
		}
		if (!own_put_locked(o, op))
			break;
		q_pop(&o->pend);
		ADD(&o->inflight, 1);
		ADD(&o->bounded, 1);
	}
	if (io_uring_sq_ready(&o->ring))
		own_submit(o);
	bool stuck = io_uring_sq_ready(&o->ring) || (o->pend.head && !LOAD(&o->bounded));
	STORE(&o->retry, stuck ? 1 : 0);
}

/* Owner: submit what it batched (and what waited for room), reaping nothing. */
static void own_submit_batch(struct ex_own_ring *o)
{
	if (o->nbatch) {
		if (o->pend.tail)
			o->pend.tail->next = o->batch.head;
		else
			o->pend.head = o->batch.head;
		o->pend.tail = o->batch.tail;
		o->batch.head = o->batch.tail = NULL;
		o->nbatch = 0;
	}
	pthread_mutex_lock(&o->lock);
	own_drain_locked(o);
	pthread_mutex_unlock(&o->lock);
}

/* Owner: submit, then reap what completed (inline, mostly: page-cached reads). */
static void own_flush(struct ex_own_ring *o)
{
	own_submit_batch(o);
	(void)own_reap(o, UINT_MAX);
}

void ex_reactor_flush_batches(struct ex_reactor *r)
{
	(void)r;
	if (tls_batch.n)
		batch_flush();
	if (tls_own && tls_own->nbatch)
		own_submit_batch(tls_own);
}

/* Owner: reap the own ring's CQ (one wake batch; the woken tasks go to the owner's queue), then
 * submit what waited for room. Two loads when it is empty. */
static unsigned own_reap(struct ex_own_ring *o, unsigned max)
{
	unsigned ready = io_uring_cq_ready(&o->ring);
	if (ready > max)
		ready = max;
	if (!ready)
		return 0;
	/* acquire what other threads' cancels published with their increment (see reap_locked) */
	(void)LOAD(&o->inflight);
	struct ex_reactor *r = o->r;
	unsigned head, n = 0, ended = 0, ended_bounded = 0;
	STAT(&r->st_completions, ready);
	wake_batch_begin(r);
	struct io_uring_cqe *cqe;
	io_uring_for_each_cqe(&o->ring, head, cqe)
	{
		if (n == ready)
			break;
		n++;
		struct ex_op *op = io_uring_cqe_get_data(cqe);
		if (op == &o->wake || op == &o->cancel_any) {
			/* the eventfd is reset by its owner (see complete()); a poll that ended is
			 * armed again at the next wait */
			if (op == &o->wake && !(cqe->flags & IORING_CQE_F_MORE))
				atomic_store_explicit(&o->wake.flow, 0, memory_order_release);
			continue;
		}
		ended++;
		if (!op->unbounded)
			ended_bounded++; /* read before complete() may free op */
		complete(r, op, cqe->res, cqe->flags);
	}
	wake_batch_end(r);
	io_uring_cq_advance(&o->ring, n);
	SUB(&o->inflight, ended);
	SUB(&o->bounded, ended_bounded);
	if (o->pend.head) {
		pthread_mutex_lock(&o->lock);
		own_drain_locked(o);
		pthread_mutex_unlock(&o->lock);
	}
	return n;
}

/*
 * Another thread (or the owner) releases @p op, in flight on @p o: cancel it there. Under the
 * lock, so that it sees whether the owner's flush put the op in the SQ. The kernel completes an
 * ASYNC_CANCEL inline, so the submitting thread need not outlive it (reactor.h's note).
 */
static void own_cancel(struct ex_own_ring *o, struct ex_op *op)
{
	struct ex_op *c = ex_op_new(o->r);
	if (!c)
		return; /* the op completes on its own; its CQE is reaped either way */
	atomic_fetch_add_explicit(&op->refs, 1, memory_order_relaxed);
	c->is_cancel = true;
	c->target = op;
	c->unbounded = true;
	c->ring = o->index;
	struct io_uring_sqe sqe;
	io_uring_prep_cancel64(&sqe, (uint64_t)(uintptr_t)op, 0);
	ex_op_set_sqe(c, &sqe);
	pthread_mutex_lock(&o->lock);
	bool sent = op->state == EX_OP_SUBMITTED && own_put_locked(o, c);
	if (sent) {
		ADD(&o->inflight, 1); /* release: the owner's reap reads c (see own_reap) */
		own_submit(o);
	}
	pthread_mutex_unlock(&o->lock);
	/* not in the kernel yet (the owner's flush drops it), or no SQ entry */
	if (!sent)
		op_unref(c);
}

/* Owner: arm the multishot poll of its wake eventfd on the own ring. */
static void own_arm_wake(struct ex_own_ring *o)
{
	if (atomic_load_explicit(&o->wake.flow, memory_order_acquire))
		return;
	struct io_uring_sqe sqe;
	io_uring_prep_poll_multishot(&sqe, o->wake_fd, POLLIN);
	ex_op_set_sqe(&o->wake, &sqe);
	pthread_mutex_lock(&o->lock);
	bool armed = own_put_locked(o, &o->wake);
	if (armed)
		own_submit(o);
	else
		STORE(&o->retry, 1); /* wait with a timeout instead */
	pthread_mutex_unlock(&o->lock);
	if (armed)
		atomic_store_explicit(&o->wake.flow, 1, memory_order_release);
}

static bool own_cq_nonempty(struct ex_own_ring *o)
{
	return io_uring_cq_ready(&o->ring) != 0;
}

/* Owner: wait in io_uring_enter on the own ring for a CQE, at most @p ns (UINT64_MAX: none). */
static void own_enter_wait(struct ex_own_ring *o, uint64_t ns)
{
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg = { .sigmask_sz = _NSIG / 8 };
	if (ns != UINT64_MAX) {
		ts_from_ns(&ts, ns);
		arg.ts = (uint64_t)(uintptr_t)&ts;
	}
	(void)io_uring_enter2(o->ring.ring_fd, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
			      (sigset_t *)&arg, sizeof(arg));
}

/*
 * The driver, before it waits on the runtime's ring: its own transfers must wake it too. Submit
 * what it batched; if completions are there, reap them and do not wait (true); else, if some are
 * in flight, arm a poll of the own ring's fd on the runtime's ring (readable once a CQE is
 * posted; armed after the last look, so a CQE posted in between completes it at once).
 */
static bool own_watch(struct ex_own_ring *o)
{
	if (o->nbatch)
		own_flush(o);
	if (own_reap(o, UINT_MAX))
		return true;
	if (LOAD(&o->retry))
		return true; /* the kernel took nothing: try again rather than sleep */
	if (!LOAD(&o->inflight) || atomic_load_explicit(&o->watch.flow, memory_order_acquire))
		return false;
	atomic_store_explicit(&o->watch.flow, 1, memory_order_release);
	struct io_uring_sqe sqe;
	io_uring_prep_poll_add(&sqe, o->ring.ring_fd, POLLIN);
	ex_op_set_sqe(&o->watch, &sqe);
	ADD(&o->r->internal_polls, 1);
	submit_now(o->r, &o->watch);
	return false;
}

void ex_reactor_own_attach(struct ex_reactor_parker *p)
{
	tls_own = p->own;
}

bool ex_reactor_own_data_inflight(struct ex_reactor_parker *p)
{
	return p->own && p->own == tls_own && own_data_inflight(p->own);
}

bool ex_reactor_own_busy(struct ex_reactor_parker *p)
{
	return p->own && p->own == tls_own && own_busy(p->own);
}

void ex_reactor_own_wait(struct ex_reactor_parker *p)
{
	struct ex_own_ring *o = p->own;
	if (o->nbatch)
		own_flush(o);
	if (own_reap(o, UINT_MAX))
		return;
	own_arm_wake(o);
	if (own_cq_nonempty(o))
		return;
	/* -EAGAIN at the last flush: nothing in flight may wake us, so look again in 1 ms */
	own_enter_wait(o, LOAD(&o->retry) ? 1000000u : UINT64_MAX);
}

void ex_reactor_own_detach(struct ex_reactor_parker *p)
{
	struct ex_own_ring *o = p->own;
	if (!o || tls_own != o)
		return;
	own_flush(o);
	struct ex_reactor *r = o->r;
	if (o->pend.head) { /* never to be submitted now */
		wake_batch_begin(r);
		while (o->pend.head)
			complete(r, q_pop(&o->pend), -ECANCELED, 0);
		wake_batch_end(r);
	}
	uint64_t last = 0;
	while (LOAD(&o->inflight)) {
		if (own_reap(o, UINT_MAX))
			continue;
		uint64_t now = ex_now_ns();
		if (now - last >= 10000000u) { /* again for ops another thread's cancel raced */
			last = now;
			struct io_uring_sqe sqe;
			io_uring_prep_cancel64(&sqe, 0, IORING_ASYNC_CANCEL_ANY);
			ex_op_set_sqe(&o->cancel_any, &sqe);
			pthread_mutex_lock(&o->lock);
			if (own_put_locked(o, &o->cancel_any))
				own_submit(o);
			pthread_mutex_unlock(&o->lock);
		}
		own_enter_wait(o, 10000000u);
	}
	tls_own = NULL;
}
