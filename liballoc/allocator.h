/* allocator.h - one allocator: its arena, the central pool of each class,
 * the large path, the registry of caches bound to it, and the slow paths
 * behind cache.h's fast paths. The process-global allocator (global.c) and
 * every ortho_allocator_create() instance are this same struct. */
#ifndef ORTHO_ALLOCATOR_H
#define ORTHO_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "cache.h"
#include "fullcheck.h"
#include "guard.h"
#include "header.h"
#include "large.h"
#include "lock.h"
#include "orthotope.h"
#include "pool.h"

/* Buckets of the thread id index of cache records: a thread binding its
 * cache finds a stale record of its tid in O(1), not by walking every
 * thread's record. */
#define ALLOCATOR_TID_BUCKETS 1024u
/* A bin's first refill takes this many blocks (fewer if the batch is smaller). */
#define ALLOCATOR_REFILL_START 4u

struct ortho_allocator {
    struct arena arena;
    struct pool pools[SIZE_CLASS_SLOTS];
    struct large large;
    ortho_config_t config;
    uint32_t class_limit[SIZE_CLASS_SLOTS];  /* cache limit per class, blocks (one thread alone) */
    uint32_t class_refill[SIZE_CLASS_SLOTS]; /* largest refill/drain batch, blocks */
    uint64_t pool_retain_blocks[SIZE_CLASS_SLOTS]; /* pool keeps these resident */
    _Atomic uint64_t carved_blocks[SIZE_CLASS_SLOTS]; /* blocks ever carved */
    lock_t registry_lock;            /* guards the cache records below */
    struct ortho_cache *caches;      /* active cache records */
    _Atomic uint32_t cache_count;    /* entries in caches (read without the lock
                                        to size each thread's caches) */
    struct ortho_cache *tid_index[ALLOCATOR_TID_BUCKETS]; /* thread-bound records by
                                        tid % buckets, chained by tid_next */
    struct ortho_cache *spare_records; /* released records for reuse (via next) */
    struct cache_chunk *record_chunks; /* mappings that hold cache records */
    struct class_counters retired[SIZE_CLASS_SLOTS]; /* of caches gone */
    bool mapped;                     /* instance: lives in its own mapping */
    bool is_global;                  /* the process-global allocator: its events
                                        go to the tracer while trace_port_on */
    bool full_check;                 /* ORTHO_CHECK=full (global only): caches keep
                                        nothing, fullcheck.h's patterns and quarantine */
    struct fullcheck_quarantine quarantine; /* full_check: freed blocks before reuse */
    struct guard_pool *guard;        /* ORTHO_GUARD_SAMPLE (global only): the sampled
                                        blocks' pool; NULL when sampling is off */
};

/* Whether `a`'s internal events go to the tracer now: only the global
 * allocator's, only while tracing (instances are never traced). */
ORTHO_INLINE bool allocator_traced(const struct ortho_allocator *a)
{
    return ORTHO_UNLIKELY(trace_port_on) && a->is_global;
}

/* Gives `blocks` free blocks of `cls` from a thread cache (first, linked
 * by next_free, the last link NULL) to the central pool, where any thread
 * may take them. While traced, the tracer hears of it before they become
 * visible there (trace_port_handoff) and after (a CACHE_DRAIN). */
ORTHO_INLINE void allocator_drain_to_pool(struct ortho_allocator *a, unsigned cls, header_t *first,
                                          uint64_t blocks)
{
    if (allocator_traced(a))
        trace_port_handoff();
    pool_push(&a->pools[cls], first, blocks);
    if (allocator_traced(a))
        trace_port_event(TRACE_PORT_CACHE_DRAIN, cls, 0, blocks);
}

/* A mapping that holds cache records (see registry.h). Records live in allocator-owned
 * memory, never in thread-local storage: a thread can exit without our
 * exit hook running (glibc runs TSD destructors for a bounded number of
 * rounds), and its record must then stay valid until it is reclaimed. */
struct cache_chunk {
    struct cache_chunk *next; /* older chunks */
    size_t bytes;             /* size of this mapping */
};

/* What a rejected free looked like, for diagnostics. */
struct free_failure {
    header_verdict_t verdict; /* header problem, HEADER_OK if not about the header */
    unsigned class_index;     /* class of the block if known, else SIZE_CLASS_LARGE */
};

/* The cache limit of class `cls` for `cache` now: the configured one,
 * lowered so that all threads' caches together stay within
 * config.cache_total_bytes (each thread's share split among the classes it
 * uses); at least one block. 0 in full-check mode: every call takes the
 * slow path. */
uint32_t allocator_cache_limit(const struct ortho_allocator *a, const struct ortho_cache *cache,
                               unsigned cls);

/* Turns the full-check mode on for `a` (ORTHO_CHECK=full), holding up to
 * quarantine_bytes of freed blocks before reuse. Call before any cache is
 * bound. */
void allocator_enable_full_check(struct ortho_allocator *a, uint64_t quarantine_bytes);

/* Initialises `a` in place from a validated config. false: the first region
 * could not be reserved (nothing left mapped). */
bool allocator_setup(struct ortho_allocator *a, const ortho_config_t *config);
/* Unmaps all memory of `a` (caches must be gone). */
void allocator_teardown(struct ortho_allocator *a);

/* Slow allocation: zero size, alignment above 64, large requests, empty
 * bins (refill from pool, then arena), retired caches. NULL with
 * ortho_last_status()/errno set on failure. `align` is a valid power of two
 * (64 or less means the natural 64). *fresh_zero, if given, is set true when
 * the memory is known to read as zero. */
void *allocator_alloc_slow(struct ortho_allocator *a, struct ortho_cache *cache, size_t n,
                           size_t align, bool *fresh_zero);
/* Slow free: every pointer the fast path did not take. expected_size 0
 * means unchecked. On failure nothing is changed and *why is filled. */
ortho_status_t allocator_free_slow(struct ortho_allocator *a, struct ortho_cache *cache,
                                   void *p, size_t expected_size, struct free_failure *why);

/* Validates p as a live block of `a` without freeing it. ORTHO_OK and *h
 * set, or the status a free would fail with and *why. */
ortho_status_t allocator_check_live(struct ortho_allocator *a, const void *p, header_t **h,
                                    struct free_failure *why);
/* Changes the requested size of the live block `h` to n (>= 1) without
 * moving it, when n still belongs in the block (same class for small blocks
 * at offset 0; at least half the usable size for large ones). false: the
 * caller must move the block. */
bool allocator_resize_in_place(struct ortho_allocator *a, struct ortho_cache *cache, header_t *h,
                               size_t n);

/* Usable size of a live block, 0 if p does not validate. */
size_t allocator_usable_size(struct ortho_allocator *a, const void *p);
/* Whether p is a live block of this allocator (validated header). */
bool allocator_owns_live(struct ortho_allocator *a, const void *p);
/* Fills a stats snapshot. */
void allocator_stats(struct ortho_allocator *a, ortho_stats_t *out);
/* Releases idle memory; returns bytes given back to the OS. */
size_t allocator_trim(struct ortho_allocator *a);

/* Fork: take every lock in a fixed order, release in the parent; in the
 * child reset them and fold the caches of threads that did not survive
 * (all but `survivor`) back into the pools. */
void allocator_fork_prepare(struct ortho_allocator *a);
void allocator_fork_parent(struct ortho_allocator *a);
void allocator_fork_child(struct ortho_allocator *a, struct ortho_cache *survivor);

/* Records the failure reason of this thread's last allocation. */
void allocator_set_status(ortho_status_t status);
ortho_status_t allocator_last_status(void);

/* The corruption kind name of a failed free ("double_free"). */
const char *allocator_failure_kind(ortho_status_t status, const struct free_failure *why);

#endif
