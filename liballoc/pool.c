/* pool.c - owns one class's central free list. All mutation happens under
 * pool->lock and is O(1) per batch; the block counters are atomics so stats
 * can read them without the lock. Blocks are never touched beyond the first
 * header of a batch, so a batch whose pages were released to the OS stays
 * cold until a cache takes it. */
#include "pool.h"

void pool_push(struct pool *pool, header_t *first, uint64_t blocks)
{
    lock_acquire(&pool->lock);
    pool_batch_set(first, blocks, pool->batches);
    pool->batches = first;
    atomic_fetch_add_explicit(&pool->blocks, blocks, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->batch_count, 1, memory_order_relaxed);
    lock_release(&pool->lock);
}

header_t *pool_pop(struct pool *pool, uint64_t *blocks)
{
    lock_acquire(&pool->lock);
    header_t *first = pool->batches;
    *blocks = 0;
    if (first != NULL) {
        pool->batches = pool_batch_next(first);
        *blocks = pool_batch_blocks(first);
        atomic_fetch_sub_explicit(&pool->blocks, *blocks, memory_order_relaxed);
        atomic_fetch_sub_explicit(&pool->batch_count, 1, memory_order_relaxed);
    }
    lock_release(&pool->lock);
    return first;
}

header_t *pool_take_all(struct pool *pool)
{
    lock_acquire(&pool->lock);
    header_t *chain = pool->batches;
    pool->batches = NULL;
    atomic_store_explicit(&pool->blocks, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->batch_count, 0, memory_order_relaxed);
    lock_release(&pool->lock);
    return chain;
}

header_t *pool_batch_next(const header_t *first)
{
    return first->batch.next_batch;
}

uint64_t pool_batch_blocks(const header_t *first)
{
    return first->batch.blocks;
}

void pool_fork_prepare(struct pool *pool) { lock_acquire(&pool->lock); }
void pool_fork_parent(struct pool *pool) { lock_release(&pool->lock); }
void pool_fork_child(struct pool *pool) { lock_reset(&pool->lock); }
