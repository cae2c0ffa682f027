/* pool.h - the central pool of one size class: free blocks handed between
 * threads in batches. A thread cache drains a batch when it holds too many
 * and refills a batch when it runs dry, so the pool's lock is taken once per
 * batch, never per block. */
#ifndef ORTHO_POOL_H
#define ORTHO_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"
#include "lock.h"

struct pool {
    lock_t lock;                   /* guards batches */
    header_t *batches;             /* stack of batches, linked by next_batch */
    atomic_uint_fast64_t blocks;   /* free blocks held, all batches */
    atomic_uint_fast64_t batch_count; /* batches held */
};

/* A batch: blocks chained through next_free, NULL-terminated; the first
 * block's header carries the batch's length and the link to the next batch
 * (in the words a live block lends the tracer, unused while it is free). */
ORTHO_INLINE void pool_batch_set(header_t *first, uint64_t blocks, header_t *next_batch)
{
    first->batch.blocks = blocks;
    first->batch.next_batch = next_batch;
}

/* Pushes a batch of `blocks` blocks starting at `first`. */
void pool_push(struct pool *pool, header_t *first, uint64_t blocks);
/* Pops one batch; returns its first block and stores its length, or NULL
 * (and 0) when the pool is empty. */
header_t *pool_pop(struct pool *pool, uint64_t *blocks);
/* Detaches every batch (as a chain of batches) for trimming or teardown. */
header_t *pool_take_all(struct pool *pool);
/* Next batch after `first` in a chain from pool_take_all. */
header_t *pool_batch_next(const header_t *first);
uint64_t pool_batch_blocks(const header_t *first);

void pool_fork_prepare(struct pool *pool);
void pool_fork_parent(struct pool *pool);
void pool_fork_child(struct pool *pool);

#endif
