/* registry.c - owns the cache records of an allocator: where they live
 * (mmap'd chunks, never thread-local storage, so a thread that exits without
 * our exit hook leaves a valid record behind), handing them out, retiring
 * them (blocks to the pools, counters folded into the allocator) and
 * reclaiming those of threads that are gone. Every list operation runs under
 * the allocator's registry_lock; retiring takes pool and large locks inside
 * it, never the other way round. Never calls malloc. */
#include "registry.h"

#include <string.h>

#include "prim.h"

/* Records per chunk mapping: one mapping serves many threads. */
#define REGISTRY_RECORDS_PER_CHUNK 64

/* Adds one cache's counters into `into` and zeroes them (registry lock
 * held, or the caller is alone). */
static void registry_fold_counters(struct class_counters *into, struct class_counters *from)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        atomic_fetch_add_explicit(&into[cls].requested_net,
                                  atomic_load(&from[cls].requested_net), memory_order_relaxed);
        atomic_store(&from[cls].requested_net, 0);
    }
}

/* Moves every cached block of `cache` to the pools. */
static void registry_empty_cache(struct ortho_allocator *a, struct ortho_cache *cache)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        struct bin *bin = &cache->bins[cls];
        if (bin->head != NULL)
            allocator_drain_to_pool(a, cls, bin->head, bin_count(bin));
        bin->head = NULL;
        bin_set_count(bin, 0);
    }
}

/* The tid index bucket of tid. */
static struct ortho_cache **registry_tid_bucket(struct ortho_allocator *a, uint32_t tid)
{
    return &a->tid_index[tid % ALLOCATOR_TID_BUCKETS];
}

/* Links a thread-bound record into the tid index. Registry lock held. */
static void registry_tid_link(struct ortho_allocator *a, struct ortho_cache *cache)
{
    struct ortho_cache **bucket = registry_tid_bucket(a, cache->thread_id);
    cache->tid_next = *bucket;
    *bucket = cache;
}

/* Unlinks a thread-bound record from the tid index. Registry lock held. */
static void registry_tid_unlink(struct ortho_allocator *a, struct ortho_cache *cache)
{
    for (struct ortho_cache **at = registry_tid_bucket(a, cache->thread_id); *at != NULL;
         at = &(*at)->tid_next) {
        if (*at == cache) {
            *at = cache->tid_next;
            break;
        }
    }
    cache->tid_next = NULL;
}

void registry_rekey_locked(struct ortho_allocator *a, struct ortho_cache *cache, uint32_t tid)
{
    if (cache->thread_bound)
        registry_tid_unlink(a, cache);
    cache->thread_id = tid;
    if (cache->thread_bound)
        registry_tid_link(a, cache);
}

void registry_retire_locked(struct ortho_allocator *a, struct ortho_cache *cache)
{
    registry_empty_cache(a, cache);
    if (cache->thread_bound)
        registry_tid_unlink(a, cache);
    large_local_flush(&a->large, &cache->large);
    if (cache->prev != NULL)
        cache->prev->next = cache->next;
    else
        a->caches = cache->next;
    if (cache->next != NULL)
        cache->next->prev = cache->prev;
    atomic_store_explicit(&a->cache_count,
                          atomic_load_explicit(&a->cache_count, memory_order_relaxed) - 1,
                          memory_order_relaxed);
    registry_fold_counters(a->retired, cache->counters);
    cache->state = CACHE_RETIRED;
    cache->prev = NULL;
    cache->next = a->spare_records;
    a->spare_records = cache;
}

/* Maps a chunk of records onto the spare list. Registry lock held. */
static bool registry_add_chunk(struct ortho_allocator *a)
{
    size_t bytes = sizeof(struct cache_chunk) + REGISTRY_RECORDS_PER_CHUNK * sizeof(struct ortho_cache);
    struct cache_chunk *chunk = prim_map(bytes);
    if (chunk == NULL)
        return false;
    chunk->bytes = bytes;
    chunk->next = a->record_chunks;
    a->record_chunks = chunk;
    struct ortho_cache *records = (struct ortho_cache *)(chunk + 1);
    for (unsigned i = 0; i < REGISTRY_RECORDS_PER_CHUNK; i++) {
        records[i].next = a->spare_records;
        a->spare_records = &records[i];
    }
    return true;
}

struct ortho_cache *registry_acquire(struct ortho_allocator *a, bool thread_bound)
{
    uint32_t tid = prim_thread_id();
    lock_acquire(&a->registry_lock);
    if (thread_bound) {
        /* A record of this tid is a dead thread's (tids are unique among
         * live threads) whose exit hook never ran. */
        for (struct ortho_cache *c = *registry_tid_bucket(a, tid); c != NULL;) {
            struct ortho_cache *next = c->tid_next;
            if (c->thread_id == tid)
                registry_retire_locked(a, c);
            c = next;
        }
    }
    if (a->spare_records == NULL && !registry_add_chunk(a)) {
        lock_release(&a->registry_lock);
        return NULL;
    }
    struct ortho_cache *cache = a->spare_records;
    a->spare_records = cache->next;
    memset(cache, 0, sizeof *cache);
    cache->owner = a;
    cache->thread_id = tid;
    cache->thread_bound = thread_bound;
    cache->state = CACHE_ACTIVE;
    cache->next = a->caches;
    if (a->caches != NULL)
        a->caches->prev = cache;
    a->caches = cache;
    if (thread_bound)
        registry_tid_link(a, cache);
    atomic_store_explicit(&a->cache_count,
                          atomic_load_explicit(&a->cache_count, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* Limits for the thread count including this one; each bin's refill
     * starts small (allocator_take_block). */
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        cache->bins[cls].limit = allocator_cache_limit(a, cache, cls);
    cache->guard_seed = ((uint64_t)tid << 32) ^ prim_now_ns();
    cache->guard_countdown = a->guard != NULL ? guard_next_gap(a->guard, &cache->guard_seed)
                                              : UINT32_MAX;
    lock_release(&a->registry_lock);
    return cache;
}

void registry_release(struct ortho_cache *cache)
{
    struct ortho_allocator *a = cache->owner;
    if (a == NULL || cache->state != CACHE_ACTIVE)
        return;
    lock_acquire(&a->registry_lock);
    registry_retire_locked(a, cache);
    lock_release(&a->registry_lock);
}

unsigned registry_reclaim_dead(struct ortho_allocator *a)
{
    unsigned reclaimed = 0;
    lock_acquire(&a->registry_lock);
    for (struct ortho_cache *c = a->caches; c != NULL;) {
        struct ortho_cache *next = c->next;
        if (c->thread_bound && !prim_thread_alive(c->thread_id)) {
            registry_retire_locked(a, c);
            reclaimed++;
        }
        c = next;
    }
    lock_release(&a->registry_lock);
    return reclaimed;
}

void registry_unmap_records(struct ortho_allocator *a)
{
    for (struct cache_chunk *chunk = a->record_chunks; chunk != NULL;) {
        struct cache_chunk *next = chunk->next;
        prim_unmap(chunk, chunk->bytes);
        chunk = next;
    }
    a->record_chunks = NULL;
    a->spare_records = NULL;
}
