/* SPDX-License-Identifier: MIT */
/*
 * The io_uring reactor: one ring per runtime, batched submission from the workers, one
 * completion thread (seed 003, "Linux Executor").
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
 *  - The completion thread is woken through an eventfd it polls with a multishot poll (a kick
 *    needs no SQE, so it works even when the ring is full): a new earliest timer deadline, an
 *    op deferred to the overflow queue, shutdown.
 *  - Results are stored in heap op records (struct ex_op) and the task is woken through a
 *    waker cloned at submission; the completion thread holds its own reference to the record,
 *    so it never touches memory the owner may reuse.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linux/reactor.h"
#include <executor/time.h>

struct ex_queue {
	struct ex_op *head, *tail;
};

struct ex_reactor {
	struct io_uring ring;
	unsigned cq_limit;         /* bound on bounded ops in flight (the CQ size) */
	pthread_mutex_t sub_lock;  /* SQ ring tail, overflow queue, op->state */
	struct ex_queue pend;      /* overflow queue of bounded ops (FIFO) */
	struct ex_queue pend_free; /* overflow queue of unbounded ops: polls, cancels (FIFO) */
	unsigned inflight;         /* atomic: placed in the SQ ring and not yet reaped */
	unsigned bounded;          /* atomic: the bounded ones among them (<= cq_limit) */
	int need_retry;            /* atomic: overflow queue or SQ ring not empty after a flush */
	int kick_pending;          /* atomic: a kick was written and not yet seen */
	int wake_fd;               /* eventfd: any thread wakes the completion thread, no SQE */
	int stopping;              /* atomic */
	int cancel_all_pending;    /* completion thread only */
	int rearm_wake;            /* completion thread only */
	pthread_t thread;
	sem_t started; /* posted by the completion thread once its wake poll is armed */
	struct ex_timers timers;
	struct ex_reactor_hooks hooks; /* the scheduler's, given at construction */
	struct ex_op kick_op;       /* multishot poll on wake_fd, armed by the completion thread */
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
	return op == &r->kick_op || op == &r->cancel_all_op;
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
	pthread_mutex_init(&op->lock, NULL);
	op->r = r;
	op->refs = 1;
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
	pthread_mutex_destroy(&op->lock);
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

static void op_unref(struct ex_op *op)
{
	if (SUB(&op->refs, 1) != 0)
		return;
	ex_waker_drop(&op->waker);
	if (op->target)
		op_unref(op->target);
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
		if (!op_is_internal(r, op) && !op->target && LOAD(&op->abandoned)) {
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
		*sqe = op->sqe;
		io_uring_sqe_set_data(sqe, op);
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

static void batch_flush(void)
{
	struct tls_batch *b = &tls_batch;
	if (!b->n)
		return;
	struct ex_reactor *r = b->r;
	pthread_mutex_lock(&r->sub_lock);
	for (struct ex_op *op = b->head, *next; op; op = next) {
		next = op->next;
		pend_push(r, op);
	}
	flush_locked(r);
	pthread_mutex_unlock(&r->sub_lock);
	b->head = b->tail = NULL;
	b->n = 0;
}

void ex_reactor_after_poll(struct ex_reactor *r, bool idle)
{
	(void)r; /* the batch knows its reactor */
	if (tls_batch.n && (idle || tls_batch.n >= EX_REACTOR_BATCH))
		batch_flush();
}

void ex_op_submit(struct ex_op *op, const struct ex_waker *w)
{
	struct tls_batch *b = &tls_batch;
	pthread_mutex_lock(&op->lock);
	op->waker = ex_waker_clone(w);
	op->refs = 2; /* owner + kernel */
	op->state = EX_OP_QUEUED;
	pthread_mutex_unlock(&op->lock);
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
	pthread_mutex_lock(&r->sub_lock);
	op->state = EX_OP_QUEUED;
	pend_push(r, op);
	flush_locked(r);
	pthread_mutex_unlock(&r->sub_lock);
}

void ex_reactor_kick(struct ex_reactor *r)
{
	if (__atomic_exchange_n(&r->kick_pending, 1, __ATOMIC_ACQ_REL))
		return; /* a kick is on its way and not yet seen: it covers this one */
	eventfd_write(r->wake_fd, 1);
}

/* Completion thread: (re)arm the multishot poll on the wake eventfd. */
static void arm_wake(struct ex_reactor *r)
{
	io_uring_prep_poll_multishot(&r->kick_op.sqe, r->wake_fd, POLLIN);
	submit_now(r, &r->kick_op);
}

ex_poll_t ex_op_poll(struct ex_op *op, struct ex_context *cx, int32_t *res, uint32_t *cqe_flags)
{
	pthread_mutex_lock(&op->lock);
	if (op->done) {
		*res = op->res;
		if (cqe_flags)
			*cqe_flags = op->cqe_flags;
		pthread_mutex_unlock(&op->lock);
		op_unref(op);
		return EX_READY;
	}
	ex_waker_store(&op->waker, cx->waker);
	pthread_mutex_unlock(&op->lock);
	return EX_PENDING;
}

void ex_op_release(struct ex_op *op)
{
	struct ex_reactor *r = op->r;
	pthread_mutex_lock(&op->lock);
	if (op->done) {
		int32_t res = op->res;
		bool fd = op->res_is_fd;
		pthread_mutex_unlock(&op->lock);
		if (fd && res >= 0)
			close(res); /* hand back what the op produced */
		op_unref(op);
		return;
	}
	STORE(&op->abandoned, 1);
	ex_waker_drop(&op->waker);
	pthread_mutex_unlock(&op->lock);

	pthread_mutex_lock(&r->sub_lock);
	bool in_kernel = op->state == EX_OP_SUBMITTED;
	pthread_mutex_unlock(&r->sub_lock);
	if (in_kernel) {
		/* The cancel op holds a reference to its target so that the user_data it names cannot
		 * be reused by a new op before the cancel ran. If it cannot be allocated, the op
		 * simply completes on its own (its CQE is reaped either way). */
		struct ex_op *c = ex_op_new(r);
		if (c) {
			__atomic_add_fetch(&op->refs, 1, __ATOMIC_ACQ_REL);
			c->target = op;
			c->unbounded = true;
			io_uring_prep_cancel64(&c->sqe, (uint64_t)(uintptr_t)op, 0);
			submit_now(r, c);
		}
	}
	/* else still queued in some thread's batch or the overflow queue: the flush drops it */
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
		/* an RMW, so that it is ordered after the kicker's exchange: whatever the kicker
		 * published before kicking (need_retry, a timer) is seen by this loop iteration */
		__atomic_exchange_n(&r->kick_pending, 0, __ATOMIC_ACQ_REL);
		if (!(flags & IORING_CQE_F_MORE) && !LOAD(&r->stopping))
			r->rearm_wake = 1; /* multishot ended (e.g. CQ overflow): arm it again */
		return;
	}
	if (op == &r->cancel_all_op) {
		r->cancel_all_pending = 0;
		return;
	}
	pthread_mutex_lock(&op->lock);
	if (op->target) {
		pthread_mutex_unlock(&op->lock);
		op_unref(op); /* drops its target too */
		return;
	}
	op->res = res;
	op->cqe_flags = flags;
	op->done = true;
	struct ex_waker w = op->waker;
	op->waker.vtable = NULL;
	bool close_it = LOAD(&op->abandoned) && op->res_is_fd && res >= 0;
	pthread_mutex_unlock(&op->lock);
	/* From here the owner may see the result; only our own reference keeps op alive. */
	if (close_it)
		close(res);
	ex_waker_wake(&w);
	op_unref(op);
}

static void ts_from_ns(struct __kernel_timespec *ts, uint64_t ns)
{
	ts->tv_sec = (long long)(ns / 1000000000u);
	ts->tv_nsec = (long long)(ns % 1000000000u);
}

static void *completion_main(void *arg)
{
	struct ex_reactor *r = arg;
	uint64_t last_cancel_all = 0;
	/* armed from this thread: the kernel ties a poll to the thread that submitted it */
	arm_wake(r);
	sem_post(&r->started);
	for (;;) {
		uint64_t now = ex_now_ns();
		wake_batch_begin(r);
		uint64_t next = ex_timers_fire(r, now, 0);
		wake_batch_end(r);
		bool stopping = LOAD(&r->stopping);
		if (stopping && LOAD(&r->inflight) == 0 && !LOAD(&r->need_retry))
			break;

		uint64_t wait_ns = UINT64_MAX;
		if (next != UINT64_MAX)
			wait_ns = next > now ? next - now : 0;
		if (LOAD(&r->need_retry) && wait_ns > 1000000)
			wait_ns = 1000000; /* -EAGAIN: retry the overflow queue at least every ms */
		if (stopping) {
			if (!r->cancel_all_pending && LOAD(&r->inflight) > 0 &&
			    now - last_cancel_all >= 10000000) {
				/* cancel whatever is still in flight (again every 10 ms, for ops submitted
				 * late; an op already running in io-wq completes on its own) */
				r->cancel_all_pending = 1;
				last_cancel_all = now;
				io_uring_prep_cancel64(&r->cancel_all_op.sqe, 0,
						       IORING_ASYNC_CANCEL_ANY);
				submit_now(r, &r->cancel_all_op);
			}
			if (wait_ns > 10000000)
				wait_ns = 10000000;
		}

		struct io_uring_cqe *cqe = NULL;
		if (wait_ns > 0) {
			struct __kernel_timespec ts, *tsp = NULL;
			if (wait_ns != UINT64_MAX) {
				ts_from_ns(&ts, wait_ns);
				tsp = &ts;
			}
			/* With IORING_FEAT_EXT_ARG this passes the timeout to io_uring_enter and never
			 * touches the SQ, so it is safe next to the submitting workers. */
			(void)io_uring_wait_cqes(&r->ring, &cqe, 1, tsp, NULL);
		}

		/* Acquire what the flushers published with their release increments of inflight
		 * before they submitted: the op records reach us through the kernel (user_data),
		 * which establishes no happens-before a race detector could see.
		 * Only the CQEs counted before that load are reaped in this round. */
		unsigned ready = io_uring_cq_ready(&r->ring);
		(void)LOAD(&r->inflight);
		unsigned head, n = 0, ended = 0, ended_bounded = 0;
		/* counted before the wakes: a woken task that reads the statistics sees its CQE */
		if (ready)
			STAT(&r->st_completions, ready);
		wake_batch_begin(r);
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
		if (n) {
			io_uring_cq_advance(&r->ring, n);
			SUB(&r->inflight, ended);
			__atomic_sub_fetch(&r->bounded, ended_bounded,
					   __ATOMIC_SEQ_CST); /* see flush_locked */
		}
		if (r->rearm_wake) {
			r->rearm_wake = 0;
			arm_wake(r);
		}
		if (__atomic_load_n(&r->need_retry, __ATOMIC_SEQ_CST)) {
			pthread_mutex_lock(&r->sub_lock);
			flush_locked(r);
			pthread_mutex_unlock(&r->sub_lock);
		}
	}
	return NULL;
}

/* ---- lifecycle ---- */

/* io-wq workers per submitting thread (bounded: regular-file I/O such as fdatasync; unbounded:
 * what may block forever, sockets): the kernel starts one per blocked operation otherwise, so
 * 500 streams syncing at once would mean 500 kernel threads. Past the cap the operations queue. */
#define IOWQ_MAX_BOUNDED 8u
#define IOWQ_MAX_UNBOUNDED 8u

/* Cap the ring's io-wq workers (IORING_REGISTER_IOWQ_MAX_WORKERS, Linux 5.15; set on the ring,
 * so that every thread's io-wq inherits it). Best effort: an older kernel keeps its default. */
static void cap_iowq(struct ex_reactor *r)
{
	unsigned max[2] = { IOWQ_MAX_BOUNDED, IOWQ_MAX_UNBOUNDED };
	(void)io_uring_register_iowq_max_workers(&r->ring, max);
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
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = cq;
	int ret = io_uring_queue_init_params(sq, &r->ring, &p);
	if (ret == -EINVAL) {
		/* kernel older than 5.18: no SUBMIT_ALL */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = cq;
		ret = io_uring_queue_init_params(sq, &r->ring, &p);
	}
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
	cap_iowq(r);
	if (cfg)
		r->hooks = cfg->hooks;
	pthread_mutex_init(&r->sub_lock, NULL);
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	pthread_mutex_init(&r->kick_op.lock, NULL);
	pthread_mutex_init(&r->cancel_all_op.lock, NULL);
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
	pthread_mutex_destroy(&r->kick_op.lock);
	pthread_mutex_destroy(&r->cancel_all_op.lock);
	pthread_mutex_destroy(&r->sub_lock);
	close(r->wake_fd);
	io_uring_queue_exit(&r->ring);
	free(r);
}

void ex_reactor_get_stats(struct ex_reactor *r, struct ex_reactor_stats *st)
{
	st->enters = LOAD(&r->st_enters);
	st->sqes = LOAD(&r->st_sqes);
	st->completions = LOAD(&r->st_completions);
	st->deferred = LOAD(&r->st_deferred);
	st->busy = LOAD(&r->st_busy);
	st->max_inflight = LOAD(&r->st_max_inflight);
	st->inflight = LOAD(&r->inflight);
	st->cq_limit = r->cq_limit;
}
