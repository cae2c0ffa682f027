/* registry.h - the cache records of an allocator: one per thread of the
 * global allocator and one per ortho_cache_create(). See registry.c. */
#ifndef ORTHO_REGISTRY_H
#define ORTHO_REGISTRY_H

#include <stdbool.h>

#include "allocator.h"

/* A new active cache record bound to `a` for the calling thread, or NULL
 * when no memory could be mapped for it. With thread_bound, any record
 * still active for the same kernel thread id is first reclaimed: that
 * thread is dead (ids are unique among live threads) and its exit hook
 * never ran. */
struct ortho_cache *registry_acquire(struct ortho_allocator *a, bool thread_bound);
/* Hands all blocks of the cache to the central pools, folds its counters
 * into the allocator, unregisters it and returns the record for reuse. The
 * caller must drop every pointer to it. */
void registry_release(struct ortho_cache *cache);
/* Reclaims the records of thread-bound caches whose thread no longer exists
 * (their exit hook did not run). Returns how many. */
unsigned registry_reclaim_dead(struct ortho_allocator *a);

/* Retires an active record: its blocks to the pools, its counters into the
 * allocator, the record onto the spare list. Registry lock held. */
void registry_retire_locked(struct ortho_allocator *a, struct ortho_cache *cache);
/* Gives an active record a new thread id (the fork child's survivor runs
 * under a new one), keeping the tid index right. Registry lock held. */
void registry_rekey_locked(struct ortho_allocator *a, struct ortho_cache *cache, uint32_t tid);
/* Unmaps every record chunk (allocator teardown; no cache may be in use). */
void registry_unmap_records(struct ortho_allocator *a);

#endif
