/* guard.h - sampled guard pages (ORTHO_GUARD_SAMPLE=N), in the spirit of
 * GWP-ASan: about one allocation in N (up to GUARD_MAX_BYTES) is served from
 * a slot of its own in a small fixed pool, right-aligned against a PROT_NONE
 * page, so an access past its end faults at the guilty instruction; once
 * freed, the slot's pages are PROT_NONE too and stay so while GUARD_SLOTS
 * other sampled blocks come and go, so a use after free faults as well.
 * A SIGSEGV handler (installed only when sampling is on, chaining to the one
 * it replaced) recognises a fault in the pool and reports it in one line -
 * the access, the offset from the block, its size and class, the faulting,
 * allocating and (after a free) freeing stacks - with a corruption row
 * (overflow or use_after_free), then re-raises; ORTHO_ON_CORRUPTION=report
 * opens the slot's pages instead, retires the slot and lets the program go
 * on.
 *
 * A sampled block is right-aligned to 64 bytes, as every block of ours is:
 * the bytes between the request and the 64-byte boundary hold a pattern
 * checked at free, so an overflow that stops short of the guard page is
 * still caught, there. Everything about a slot (the block, its stacks) is
 * kept in the pool's own memory, never in the guarded pages, so the handler
 * reads nothing that could fault. The pool is one mapping reserved at
 * set-up; its lock is taken only by sampled allocations and frees, never on
 * the unsampled paths, which pay one counter decrement (cache.h). */
#ifndef ORTHO_GUARD_H
#define ORTHO_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"
#include "lock.h"

#define GUARD_SLOTS 256u          /* sampled blocks at once, live or freed */
#define GUARD_DATA_PAGES 4u       /* pages of a slot before its guard page */
#define GUARD_STACK_FRAMES 12u    /* frames kept of each stack */
/* The largest request sampled: a slot's data pages less the header. */
#define GUARD_MAX_BYTES (GUARD_DATA_PAGES * 4096u - ORTHO_HEADER_SIZE)
#define GUARD_PAD_BYTE 0x6bu      /* fills the alignment padding after a request */

typedef enum {
    GUARD_SLOT_UNUSED = 0, /* never handed out */
    GUARD_SLOT_LIVE,       /* holds a live block */
    GUARD_SLOT_FREED,      /* freed; its pages are PROT_NONE until reused */
} guard_slot_state_t;

struct guard_slot {
    uint8_t state;              /* guard_slot_state_t */
    bool retired;               /* a fault here was reported and the program went
                                   on (ORTHO_ON_CORRUPTION=report): its pages stay
                                   open and the slot is never handed out again */
    uint8_t class_index;        /* the class the request would have had */
    uint32_t alloc_tid, free_tid;
    void *user;                 /* the block's user pointer */
    uint64_t requested_bytes;
    uint32_t alloc_frames, free_frames;
    void *alloc_stack[GUARD_STACK_FRAMES]; /* return addresses, innermost first */
    void *free_stack[GUARD_STACK_FRAMES];
    trace_port_tag_t trace;     /* the tracer's words of the allocation, kept at
                                   free (the header's pages close then), so a
                                   fault on the freed block still names its
                                   allocation in the trace */
};

struct guard_pool {
    lock_t lock;                /* guards the slots and the freed ring */
    char *base;                 /* GUARD_SLOTS slots, NULL while sampling is off */
    size_t slot_bytes;          /* data pages + one guard page */
    size_t data_bytes;          /* data pages */
    uint32_t sample_every;      /* ORTHO_GUARD_SAMPLE: mean allocations between samples */
    uint32_t next_unused;       /* slots never used yet start here */
    uint32_t freed[GUARD_SLOTS]; /* freed slots, oldest first (a ring) */
    uint32_t freed_first, freed_count;
    struct guard_slot slots[GUARD_SLOTS];
};

/* Turns sampling on (sample_every > 0): reserves the pool and installs the
 * SIGSEGV handler. false (sampling stays off) if the pool cannot be
 * reserved. Once per process, at the global allocator's set-up. */
bool guard_enable(struct guard_pool *g, uint32_t sample_every);

/* Allocations to skip before the next sample: uniform on [1, 2N - 1], so
 * the mean is N; never 0. `seed` is the caller's own state. */
uint32_t guard_next_gap(const struct guard_pool *g, uint64_t *seed);

/* Whether p lies in the pool (so it is not the arena's or the large path's). */
static inline bool guard_owns(const struct guard_pool *g, const void *p)
{
    return g->base != NULL && (uintptr_t)p - (uintptr_t)g->base < (uintptr_t)GUARD_SLOTS * g->slot_bytes;
}

/* A sampled block of n bytes (1 <= n <= GUARD_MAX_BYTES) of class `cls`,
 * stamped and 64-aligned, or NULL when no slot is free (the caller serves
 * the request the usual way). */
void *guard_alloc(struct guard_pool *g, size_t n, unsigned cls);

/* What guard_free found. */
typedef enum {
    GUARD_FREED = 0,      /* freed; the slot's pages are closed */
    GUARD_NOT_A_BLOCK,    /* in the pool, but not a live block's user pointer */
    GUARD_DOUBLE_FREE,    /* the block was freed already */
    GUARD_SIZE_MISMATCH,  /* expected_size given and not the requested size */
    GUARD_OVERFLOW,       /* freed, but the padding after the request was written */
} guard_free_result_t;

/* Frees the sampled block p (guard_owns(p)); expected_size 0 is unchecked.
 * On GUARD_OVERFLOW *offset is the first written byte's offset from p. */
guard_free_result_t guard_free(struct guard_pool *g, void *p, size_t expected_size,
                               int64_t *offset);

/* The live sampled block at p, or NULL (not one, or freed). */
header_t *guard_live_header(struct guard_pool *g, const void *p);

#endif
