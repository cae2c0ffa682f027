/* arena.h - the address space small blocks are carved from: a list of
 * regions, each reserved whole up front (PROT_NONE, costs no memory) and
 * committed lazily in chunks as spans are carved. Ownership checks
 * ("is this pointer ours?") cover every region and only the committed part,
 * so validating a stray pointer never faults. */
#ifndef ORTHO_ARENA_H
#define ORTHO_ARENA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "lock.h"

/* Hard cap on regions (the config's arena_max_regions is checked against
 * it): 256 regions of the default 16 GiB is far beyond any machine here. */
#define ARENA_REGION_LIMIT 256
/* Commit granularity: mprotect is a syscall, so commit ahead in 4 MiB steps
 * (the pages still cost nothing until touched). */
#define ARENA_COMMIT_CHUNK ((size_t)4 << 20)
/* Smallest region accepted: must hold a 16 MiB block with room to spare. */
#define ARENA_REGION_MIN ((size_t)64 << 20)

struct arena_region {
    char *base;                    /* start of the reservation, page aligned */
    size_t reserved_bytes;         /* size of the reservation */
    atomic_size_t committed_bytes; /* [base, base+committed) is read-write */
    size_t carved_bytes;           /* bump offset of the next span (under lock) */
};

struct arena {
    lock_t lock;                    /* guards carving, commit and growth */
    size_t region_bytes;            /* reservation size of each new region */
    uint32_t max_regions;           /* growth limit from the config */
    bool huge_pages;                /* regions reserved with prim_reserve_huge */
    atomic_uint region_count;       /* regions[0..count) are valid */
    atomic_uint_fast64_t released_bytes; /* returned with madvise, total */
    atomic_uint_fast64_t carved_total_bytes; /* carved over all regions */
    struct arena_region regions[ARENA_REGION_LIMIT];
};

/* Sets up an arena and reserves its first region. false if the OS refuses
 * the reservation (nothing is left mapped). huge_pages: every region is
 * aligned to and marked for transparent huge pages (ORTHO_HUGE_PAGES). */
bool arena_init(struct arena *arena, size_t region_bytes, uint32_t max_regions, bool huge_pages);
/* Unmaps every region. */
void arena_destroy(struct arena *arena);

/* Carves `bytes` (a multiple of 64) of fresh, committed memory, 64-aligned.
 * Grows into a new region when the current one is full. NULL when the arena
 * is at max_regions or the OS refuses: out of memory. Takes arena->lock. */
void *arena_carve(struct arena *arena, size_t bytes);

/* Index of the region whose committed memory holds [p - 64, p), i.e. where a
 * header in front of p could be read safely; -1 if none. Lock-free. */
int arena_region_of(const struct arena *arena, const void *p);

/* Quick inline test for region 0, the one nearly all blocks live in. */
ORTHO_INLINE bool arena_in_first_region(const struct arena *arena, const void *p)
{
    uintptr_t offset = (uintptr_t)p - (uintptr_t)arena->regions[0].base;
    size_t committed = atomic_load_explicit(&arena->regions[0].committed_bytes,
                                            memory_order_relaxed);
    /* p < base wraps offset to a huge value, failing the second compare. */
    return offset >= 64 && offset < committed;
}

/* Gives the whole pages inside [p, p+bytes) back to the OS; they read as
 * zero afterwards. Counts them in released_bytes. */
void arena_release(struct arena *arena, void *p, size_t bytes);

struct arena_usage {
    uint64_t reserved_bytes;  /* address space reserved */
    uint64_t committed_bytes; /* made read-write */
    uint64_t carved_bytes;    /* handed out as spans */
    uint64_t released_bytes;  /* returned to the OS, total */
    uint32_t regions;         /* regions reserved */
};
void arena_usage(const struct arena *arena, struct arena_usage *out);

/* Fork hooks: hold the lock across fork(); the child resets it. */
void arena_fork_prepare(struct arena *arena);
void arena_fork_parent(struct arena *arena);
void arena_fork_child(struct arena *arena);

#endif
