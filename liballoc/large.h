/* large.h - the large path: requests above 16 MiB get their own mapping with
 * a header in front, are tracked in a live registry (so a free can be checked
 * before any header is read), and freed mappings are kept for reuse by fit
 * within a byte and count budget; what exceeds it goes back to the OS.
 *
 * Two levels, like the small path: the shared registry (struct large, one
 * lock), and each cache's own corner of it (struct large_local) holding the
 * few large blocks that cache's thread has live plus one freed mapping kept
 * for its next request. A thread that allocates and frees a scratch buffer
 * per batch thus never takes the shared lock, which several such threads
 * would otherwise fight over. Lock order: the allocator's registry lock,
 * then a large_local lock, then the shared lock; a large_local lock is
 * never held while the shared lock is taken. */
#ifndef ORTHO_LARGE_H
#define ORTHO_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "header.h"
#include "lock.h"
#include "orthotope.h"
#include "ptrset.h"

/* Freed mappings kept for reuse, at most (config may ask for fewer). */
#define LARGE_RETAIN_SLOTS 64
/* User pointers of blocks whose mapping went back to the OS, remembered so
 * a late second free is still named a double free. */
#define LARGE_RECENT_SLOTS 64

struct large_span {
    char *base;       /* start of the mapping */
    size_t map_bytes; /* length of the mapping */
    uintptr_t user;   /* user pointer of the block that lived there */
};

/* Large blocks one cache may hold live in its own slots; more go to the
 * shared registry. Two covers a scratch buffer plus one in flight. */
#define LARGE_LOCAL_SLOTS 2

/* One cache's share of the large path. Its thread takes `lock`
 * uncontended; other threads take it only to free a block of this cache
 * cross-thread, and for stats, trim, retirement and fork. */
struct large_local {
    lock_t lock;
    uintptr_t live[LARGE_LOCAL_SLOTS]; /* user pointers of live blocks, 0: free slot */
    struct large_span stash;           /* freed mapping kept for reuse; base NULL: none */
    uint64_t allocs;                   /* blocks registered here */
    uint64_t frees;                    /* blocks freed from here */
    uint64_t live_requested_bytes;     /* modulo 2^64 (see large_note_resize) */
    uint64_t live_mapped_bytes;
};

struct large {
    lock_t lock;                /* guards everything below */
    struct ptrset live;         /* user pointers of live large blocks */
    struct large_span retained[LARGE_RETAIN_SLOTS]; /* oldest first */
    uint32_t retained_count;    /* valid entries of retained */
    uint32_t retain_count_max;  /* config: keep at most this many */
    size_t retain_bytes_max;    /* config: keep at most this many bytes */
    uint64_t retained_bytes;    /* bytes in retained */
    uint64_t allocs;            /* large allocations, total */
    uint64_t frees;             /* large frees, total */
    uint64_t live_requested_bytes; /* requested bytes of live blocks */
    uint64_t live_mapped_bytes; /* mapped bytes of live blocks */
    uint64_t unmapped_bytes;    /* returned to the OS, total */
    uintptr_t recent_unmapped[LARGE_RECENT_SLOTS]; /* user pointers, ring */
    uint32_t recent_next;       /* next slot of recent_unmapped to fill */
    bool is_global;             /* the global allocator's: map/unmap events go
                                   to the tracer while trace_port_on */
};

/* Whether map/unmap events go to the tracer now (see allocator_traced). */
ORTHO_INLINE bool large_traced(const struct large *large)
{
    return ORTHO_UNLIKELY(trace_port_on) && large->is_global;
}

void large_init(struct large *large, size_t retain_bytes, uint32_t retain_count);
/* Unmaps every mapping, live or retained. */
void large_destroy(struct large *large);

/* Allocates `size` bytes aligned to `align` (a power of two; values below 64
 * mean 64). *fresh tells whether the memory is known zero (a new mapping).
 * NULL when the OS refuses or the size overflows: out of memory. */
void *large_alloc(struct large *large, size_t size, size_t align, bool *fresh);

/* Frees a large block. ORTHO_E_FOREIGN if p is no live large block (and not
 * a freed one we still hold: that is ORTHO_E_DOUBLE_FREE), ORTHO_E_CORRUPT
 * if its header fails validation (*verdict says how), ORTHO_E_SIZE_MISMATCH
 * if expected_size is not 0 and differs from the requested size. The block
 * stays untouched on any failure. */
ortho_status_t large_free(struct large *large, void *p, size_t expected_size,
                          header_verdict_t *verdict);

/* Validates p as a live large block without freeing it: ORTHO_OK, or the
 * status large_free would give (FOREIGN, DOUBLE_FREE, CORRUPT). */
ortho_status_t large_check(struct large *large, const void *p, header_verdict_t *verdict);

/* Records that a live large block's requested size changed in place. */
void large_note_resize(struct large *large, uint64_t old_requested, uint64_t new_requested);

/* Whether p is a live large block (registry lookup only). */
bool large_owns(struct large *large, const void *p);

/* Unmaps all retained mappings; returns the bytes released. */
size_t large_trim(struct large *large);

/* ---- a cache's own share (struct large_local) ---- */

/* large_alloc for the thread that owns `local`: the stashed mapping is
 * reused if it fits, without the shared lock, and the block is registered
 * in `local` if it has a free slot (else in the shared registry). */
void *large_local_alloc(struct large *large, struct large_local *local, size_t size, size_t align,
                        bool *fresh);
/* If p is a live block of `local`, frees it like large_free and returns true
 * with *status (the block stays live on any failure). Its mapping becomes
 * local's stash when `keep` (the owner frees; an older stash goes to the
 * shared retained list), else it goes to the shared retained list. false:
 * p is none of local's live blocks (nothing changed). */
bool large_local_free(struct large *large, struct large_local *local, void *p, size_t expected_size,
                      bool keep, ortho_status_t *status, header_verdict_t *verdict);
/* What large_check would say of p if local's blocks were in the shared
 * registry: true with *status when p is a live block of local, inside one,
 * or in its stash; false when local knows nothing of p. */
bool large_local_check(struct large_local *local, const void *p, ortho_status_t *status,
                       header_verdict_t *verdict);
/* The cache is retiring: its live blocks move to the shared registry, its
 * stash to the shared retained list, its counters into the shared ones. */
void large_local_flush(struct large *large, struct large_local *local);
/* Unmaps local's stash; returns the bytes released. */
size_t large_local_trim(struct large *large, struct large_local *local);
/* Adds local's counters and stash to the large_* fields of a stats snapshot. */
void large_local_add_stats(struct large_local *local, ortho_stats_t *out);

/* large_free without the verdict on unknown pointers: true with *status when
 * p is in the shared registry; false when it is not (nothing changed). */
bool large_free_registered(struct large *large, void *p, size_t expected_size,
                           ortho_status_t *status, header_verdict_t *verdict);

void large_fork_prepare(struct large *large);
void large_fork_parent(struct large *large);
void large_fork_child(struct large *large);

#endif
