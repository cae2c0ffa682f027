/* fullcheck.h - ORTHO_CHECK=full, the debugging allocator's extra checks. In
 * that mode every allocation and free of the global allocator takes the
 * slow path (its thread caches keep nothing), and there:
 *   - a new block's usable bytes are filled with FULLCHECK_NEW_BYTE, so a read
 *     of memory the program never wrote shows a recognisable value;
 *   - at free, the slack between the requested size and the usable size
 *     must still hold that pattern: a write past the end of the request
 *     that stayed inside the block is an `overflow`, reported with its
 *     offset;
 *   - a freed block's payload (after its first word, the canary) is filled
 *     with FULLCHECK_FREE_BYTE and waits in a FIFO quarantine
 *     (ORTHO_QUARANTINE_BYTES) before it can be reused, so a dangling
 *     pointer meets poisoned memory rather than a new owner;
 *   - a block leaving the quarantine, and a block about to be handed out,
 *     must still hold the free pattern in full: any byte written after the
 *     free is a use_after_free, reported with its offset, and the block is
 *     never reused.
 * The large path (above the last class) is left as in the default mode.
 * The quarantine is one FIFO per allocator under its own lock: this mode
 * has no fast path to protect. Never calls malloc. */
#ifndef ORTHO_FULLCHECK_H
#define ORTHO_FULLCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"
#include "lock.h"

#define FULLCHECK_NEW_BYTE 0xa5u  /* fills new blocks and their slack */
#define FULLCHECK_FREE_BYTE 0xdfu /* fills freed blocks, after the canary */

/* Freed small blocks waiting before reuse, oldest first, in a ring of
 * pointers of its own (mapped on first use): nothing is linked through the
 * blocks, so a dangling write into one cannot reach the others. */
/* One block in the quarantine: its class is kept here, not read back from
 * a header a dangling write may have wiped. */
struct fullcheck_held {
    header_t *block;       /* block-start header */
    uint32_t class_index;  /* its size class */
    uint32_t unused;
};

struct fullcheck_quarantine {
    lock_t lock;           /* guards the rest */
    struct fullcheck_held *ring; /* NULL until first used */
    size_t capacity;       /* slots of ring: budget / smallest block, + 1 */
    size_t first, count;   /* oldest slot, slots in use */
    uint64_t bytes;        /* payload bytes held */
    uint64_t budget_bytes; /* the most it holds (ORTHO_QUARANTINE_BYTES) */
};

/* Fills the usable bytes of a new block with the new pattern. */
void fullcheck_fill_new(void *user, size_t usable);
/* Offset from user of the first slack byte (between requested and usable)
 * that no longer holds the new pattern, or -1 if none. */
int64_t fullcheck_find_overflow(const void *user, size_t requested, size_t usable);
/* Fills a free block's payload (payload_bytes) after its first word with
 * the free pattern. */
void fullcheck_fill_freed(header_t *block, size_t payload_bytes);
/* Offset from the user pointer of the first payload byte after the first
 * word of a free block that no longer holds the free pattern, or -1. */
int64_t fullcheck_find_written(header_t *block, size_t payload_bytes);

/* Adds a freed, filled block of class `cls` to the quarantine and takes
 * out, oldest first, what no longer fits the budget: up to `cap` blocks
 * into out[], returning how many (the caller checks and releases them). A
 * block that cannot be held (no memory for the ring, a budget of 0) comes
 * straight back. */
size_t fullcheck_quarantine_push(struct fullcheck_quarantine *q, header_t *block, unsigned cls,
                                 struct fullcheck_held *out, size_t cap);

/* Fork hooks of the quarantine's lock. */
void fullcheck_quarantine_fork_prepare(struct fullcheck_quarantine *q);
void fullcheck_quarantine_fork_parent(struct fullcheck_quarantine *q);
void fullcheck_quarantine_fork_child(struct fullcheck_quarantine *q);

#endif
