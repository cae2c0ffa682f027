/* cache.h - the thread cache: one free list ("bin") per size class per
 * thread, plus that thread's counters, and the two fast paths everything
 * else exists to feed. cache_alloc_fast pops a block and stamps its header;
 * cache_free_fast validates a header and pushes the block. Neither locks,
 * calls or loops; anything unusual (empty bin, full bin, foreign or
 * over-aligned pointer, failed validation) returns "miss" and the caller
 * takes the out-of-line slow path in allocator.c. A cache is only ever
 * mutated by its own thread; counters are written with relaxed single-writer
 * stores so a stats reader on another thread sees whole values. */
#ifndef ORTHO_CACHE_H
#define ORTHO_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "compiler.h"
#include "header.h"
#include "large.h"
#include "size_class.h"

struct ortho_allocator;

/* 16 bytes, so the fast paths index bins with one shift. */
struct bin {
    header_t *head;         /* free blocks of this class, via next_free */
    _Atomic uint32_t count; /* blocks on the list (read by stats) */
    uint32_t limit;         /* a free beyond this many drains; 0: uncached.
                               Refreshed on each refill and drain: it shrinks
                               as the process's thread count grows */
};
_Static_assert(sizeof(struct bin) == 16, "a bin is two words");

/* Per-class counter of one cache: requested bytes handed out minus taken
 * back (wraps below zero when a thread frees others' blocks; only the sum
 * over all caches means anything). Block counts need no counter: live =
 * carved - cached - pooled, since every carved block is in one place. */
struct class_counters {
    _Atomic uint64_t requested_net; /* bytes, modulo 2^64 */
};

typedef enum {
    CACHE_UNBOUND = 0, /* a sentinel: the thread has no cache yet */
    CACHE_ACTIVE,      /* bound and registered */
    CACHE_RETIRED,     /* flushed and unregistered: uncached from now on */
} cache_state_t;

struct ortho_cache {
    struct bin bins[SIZE_CLASS_SLOTS];   /* [SIZE_CLASS_LARGE] and unused classes stay empty */
    struct class_counters counters[SIZE_CLASS_SLOTS];
    uint32_t refill[SIZE_CLASS_SLOTS];   /* blocks the next refill of each class takes:
                                            starts small and doubles up to the class's
                                            batch (slow start), so a thread that
                                            allocates a few blocks of a class does not
                                            carve hundreds; 0: never refilled */
    struct ortho_allocator *owner; /* allocator the cache is bound to */
    struct ortho_cache *next;      /* registry links, under the owner's lock */
    struct ortho_cache *prev;
    struct ortho_cache *tid_next;  /* the owner's tid index chain (thread-bound only) */
    uint32_t thread_id;            /* thread that bound the cache */
    uint32_t classes_used;         /* bins that have refilled at least once: the
                                      thread's share of the cache budget is split
                                      among them */
    uint8_t state;                 /* cache_state_t */
    bool thread_bound;             /* a thread's implicit cache of the global
                                      allocator (reclaimable once the thread is
                                      gone), not an ortho_cache_create() one */
    struct large_local large;      /* this cache's own large blocks (large.h) */
    uint32_t guard_countdown;      /* fast-path allocations until the next one is
                                      sampled for the guard pool (guard.h);
                                      UINT32_MAX-based when sampling is off */
    uint64_t guard_seed;           /* this cache's random state for those gaps */
};

/* Single-writer counter bump: plain load, add, store (no lock prefix). */
ORTHO_INLINE void counter_bump(_Atomic uint64_t *counter, uint64_t amount)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + amount,
                          memory_order_relaxed);
}

ORTHO_INLINE uint32_t bin_count(struct bin *bin)
{
    return atomic_load_explicit(&bin->count, memory_order_relaxed);
}

ORTHO_INLINE void bin_set_count(struct bin *bin, uint32_t count)
{
    atomic_store_explicit(&bin->count, count, memory_order_relaxed);
}

/* Pops a block of the class serving n (n >= 1 and in a class for a hit).
 * NULL means miss: the caller must take the slow path. The lookup needs no
 * range test: whatever has no class here (too large, n == 0, a bucket the
 * slow path must search) lands on a slot whose bin is always empty. */
ORTHO_INLINE void *cache_alloc_fast(struct ortho_cache *cache, size_t n)
{
    unsigned cls = size_class_lookup(n);
    struct bin *bin = &cache->bins[cls];
    header_t *h = bin->head;
    /* A block written after its free goes to the slow path, which reports
     * it. */
    if (ORTHO_UNLIKELY(h == NULL || !header_is_free_intact(h, cls)))
        return NULL;
    /* The one cost of guard sampling here: the slow path serves the
     * sampled allocation (sentinel caches never get this far). */
    if (ORTHO_UNLIKELY(--cache->guard_countdown == 0))
        return NULL;
    header_t *next = h->next_free;
    /* The next pop reads that block's header and first payload lines; a
     * free list handed back by other threads or left since long is cold,
     * and every pop would wait for memory (a prefetch of NULL is harmless). */
    __builtin_prefetch(next, 1);
    __builtin_prefetch((char *)next + ORTHO_HEADER_SIZE, 1);
    bin->head = next;
    bin_set_count(bin, bin_count(bin) - 1);
    header_stamp_small_fast(h, cls, n);
    counter_bump(&cache->counters[cls].requested_net, n);
    return header_user(h);
}

/* The header of p if p is a live, non-over-aligned small block in the
 * first arena region (its class in *cls), else NULL: the cheap test free's
 * fast path trusts. NULL only means "not this cheap way"; the slow path
 * validates fully. */
ORTHO_INLINE header_t *cache_live_small(const struct arena *arena, const void *p, unsigned *cls)
{
    if (ORTHO_UNLIKELY(!arena_in_first_region(arena, p) || ((uintptr_t)p % ORTHO_MIN_ALIGN) != 0))
        return NULL;
    header_t *h = header_of_user(p);
    return ORTHO_LIKELY(header_is_live_small(h, cls)) ? h : NULL;
}

/* Takes back the live small block h, whose header cache_live_small
 * returned (class cls), if its bin has room. false: its bin is full, nothing
 * changed. */
ORTHO_INLINE bool cache_keep_live_small(struct ortho_cache *cache, header_t *h, unsigned cls)
{
    struct bin *bin = &cache->bins[cls];
    uint32_t count = bin_count(bin);
    if (ORTHO_UNLIKELY(count >= bin->limit))
        return false;
    counter_bump(&cache->counters[cls].requested_net, -h->requested_bytes);
    header_mark_freed_small(h, cls);
    header_link(h, bin->head);
    bin->head = h;
    bin_set_count(bin, count + 1);
    return true;
}

/* Takes back p if it is a live, non-over-aligned small block in the first
 * arena region and its bin has room, and, with `expected_size` (0: no
 * check), if that is the size it was asked for: a sized free (C++'s sized
 * delete, ortho_free_sized) keeps the fast path. false means miss (nothing
 * changed): the caller must take the slow path, which validates fully and
 * reports a mismatch. */
ORTHO_INLINE bool cache_free_fast_sized(const struct arena *arena, struct ortho_cache *cache, void *p,
                                        size_t expected_size)
{
    unsigned cls;
    header_t *h = cache_live_small(arena, p, &cls);
    if (ORTHO_UNLIKELY(h == NULL))
        return false;
    if (expected_size != 0 && ORTHO_UNLIKELY(h->requested_bytes != expected_size))
        return false;
    return cache_keep_live_small(cache, h, cls);
}

/* cache_free_fast_sized without a size to check (free, ortho_free). */
ORTHO_INLINE bool cache_free_fast(const struct arena *arena, struct ortho_cache *cache, void *p)
{
    return cache_free_fast_sized(arena, cache, p, 0);
}

#endif
