/* SPDX-License-Identifier: MIT */
/*
 * Task headers come from slabs, through a per-thread cache, instead of calloc/free: spawning and
 * freeing a task is a pop and a push on a thread-local list. Headers freed on one thread (the
 * joiner's) and allocated on another (the spawner's) travel through a global pool in batches of
 * EX_HDR_BATCH, one short lock per batch. A thread's cache goes back to the pool when it exits.
 *
 * Slabs are 2 MiB of anonymous memory (transparent huge pages where the system allows them: one
 * fault instead of 512) and are never returned to the system: the memory kept is the peak number
 * of task headers, as most allocators would keep it too.
 *
 * Under AddressSanitizer the headers are plain calloc/free, so that a use after free of a task
 * header is still caught.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define EX_HDR_PLAIN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EX_HDR_PLAIN_MALLOC 1
#endif
#endif

#ifdef EX_HDR_PLAIN_MALLOC

struct ex_task *ex__task_alloc(void)
{
	return calloc(1, sizeof(struct ex_task));
}

void ex__task_free(struct ex_task *t)
{
	free(t);
}

#else

#define EX_HDR_BATCH 64u
#define EX_SLAB_BYTES (2u << 20)

/* A free header, overlaid on the header's memory. */
struct free_hdr {
	struct free_hdr *next;       /* in a cache or a batch */
	struct free_hdr *next_batch; /* the pool's list of batches (first header of each) */
	unsigned n;                  /* first header of a batch: its length */
};
_Static_assert(sizeof(struct free_hdr) <= sizeof(struct ex_task), "a free header fits a task");

struct hdr_cache {
	struct free_hdr *head;
	unsigned n;
	bool registered; /* the thread-exit destructor is set */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_hdr *pool; /* batches of free headers */
static char *bump, *bump_end; /* the rest of the newest slab */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static EX_TLS struct hdr_cache cache;

/* Give the list @p head (@p n headers) back to the pool as one batch. */
static void pool_put(struct free_hdr *head, unsigned n)
{
	if (!n)
		return;
	head->n = n;
	pthread_mutex_lock(&pool_lock);
	head->next_batch = pool;
	pool = head;
	pthread_mutex_unlock(&pool_lock);
}

static void thread_exit(void *arg)
{
	struct hdr_cache *c = arg;
	pool_put(c->head, c->n);
	c->head = NULL;
	c->n = 0;
}

static void make_exit_key(void)
{
	(void)pthread_key_create(&exit_key, thread_exit);
}

/* An empty cache takes a batch from the pool, or carves one from a slab. */
static bool refill(struct hdr_cache *c)
{
	if (!c->registered) {
		pthread_once(&exit_once, make_exit_key);
		(void)pthread_setspecific(exit_key, c);
		c->registered = true;
	}
	pthread_mutex_lock(&pool_lock);
	struct free_hdr *b = pool;
	if (b) {
		pool = b->next_batch;
		pthread_mutex_unlock(&pool_lock);
		c->head = b;
		c->n = b->n;
		return true;
	}
	size_t need = (size_t)EX_HDR_BATCH * sizeof(struct ex_task);
	if ((size_t)(bump_end - bump) < need) {
		void *m = mmap(NULL, EX_SLAB_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			pthread_mutex_unlock(&pool_lock);
			return false;
		}
		(void)madvise(m, EX_SLAB_BYTES, MADV_HUGEPAGE);
		bump = m;
		bump_end = bump + EX_SLAB_BYTES;
	}
	char *p = bump;
	bump += need;
	pthread_mutex_unlock(&pool_lock);
	struct free_hdr *head = NULL;
	for (unsigned i = EX_HDR_BATCH; i-- > 0;) {
		struct free_hdr *h = (struct free_hdr *)(void *)(p + i * sizeof(struct ex_task));
		h->next = head;
		head = h;
	}
	c->head = head;
	c->n = EX_HDR_BATCH;
	return true;
}

struct ex_task *ex__task_alloc(void)
{
	struct hdr_cache *c = &cache;
	if (!c->head && !refill(c))
		return NULL;
	struct free_hdr *h = c->head;
	c->head = h->next;
	c->n--;
	struct ex_task *t = (struct ex_task *)(void *)h;
	memset(t, 0, sizeof(*t));
	return t;
}

void ex__task_free(struct ex_task *t)
{
	struct hdr_cache *c = &cache;
	struct free_hdr *h = (struct free_hdr *)(void *)t;
	h->next = c->head;
	c->head = h;
	c->n++;
	if (c->n >= 2 * EX_HDR_BATCH) {
		/* Keep one batch here, give the other back: a thread that only frees (a joiner) feeds
		 * the threads that only allocate (spawners). */
		struct free_hdr *first = c->head, *last = first;
		for (unsigned i = 1; i < EX_HDR_BATCH; i++)
			last = last->next;
		c->head = last->next;
		c->n -= EX_HDR_BATCH;
		last->next = NULL;
		pool_put(first, EX_HDR_BATCH);
	}
}

#endif
