/* state.h - what the collector knows about one traced process image: the
 * exact per-class counters, per-site aggregates, stacks, threads, the live
 * allocation table, the size histogram, lifetimes, cross-thread pairs,
 * corruption events and (full mode) finished allocations waiting to be
 * written. ingest.c fills it from records; db.c writes it. Nothing here
 * touches shared memory or SQLite, so it is unit-tested on records alone. */
#ifndef ORTHO_COLLECTOR_STATE_H
#define ORTHO_COLLECTOR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "liveset.h"
#include "record.h"
#include "tables.h"

#define STATE_LIFETIME_BUCKETS 64
/* Requested sizes below this are counted in a plain array, larger ones in
 * a hash map: the histogram is exact either way, and the array spares the
 * common case a hash lookup per allocation. */
#define STATE_DENSE_SIZES 4096
/* Stack ids above this are refused: ids index the collector's arrays, and
 * a corrupt id near 2^32 would make them tens of GiB. A process hands out
 * ids densely, once per thread per distinct stack. */
#define STATE_MAX_STACK_ID (1u << 24)
/* The delay from an event to the collector that the collector aims to
 * stay under at its sustained rate (trace_health: late_batches). */
#define STATE_LAG_BUDGET_NS (50ull * 1000000ull)

/* The entry points an allocation is counted under (alloc_calls.call):
 * an ALLOC's entry field (RECORD_ENTRY_*, same numbers), and one more for
 * the REALLOC record, a realloc that kept its block. X(name, text). */
#define STATE_CALL_LIST(X)                   \
    X(UNKNOWN, "unknown")                    \
    X(MALLOC, "malloc")                      \
    X(CALLOC, "calloc")                      \
    X(REALLOC_MOVED, "realloc_moved")        \
    X(REALLOC_NULL, "realloc_null")          \
    X(ALIGNED, "aligned")                    \
    X(NEW, "new")                            \
    X(API, "ortho_api")                      \
    X(REALLOC_IN_PLACE, "realloc_in_place")

enum {
#define STATE_CALL_ENUM(name, text) STATE_CALL_##name,
    STATE_CALL_LIST(STATE_CALL_ENUM)
#undef STATE_CALL_ENUM
    STATE_CALLS
};
_Static_assert((unsigned)STATE_CALL_UNKNOWN == RECORD_ENTRY_NONE &&
                   (unsigned)STATE_CALL_MALLOC == RECORD_ENTRY_MALLOC &&
                   (unsigned)STATE_CALL_CALLOC == RECORD_ENTRY_CALLOC &&
                   (unsigned)STATE_CALL_REALLOC_MOVED == RECORD_ENTRY_REALLOC &&
                   (unsigned)STATE_CALL_REALLOC_NULL == RECORD_ENTRY_REALLOC_NULL &&
                   (unsigned)STATE_CALL_ALIGNED == RECORD_ENTRY_ALIGNED &&
                   (unsigned)STATE_CALL_NEW == RECORD_ENTRY_NEW &&
                   (unsigned)STATE_CALL_API == RECORD_ENTRY_API &&
                   (unsigned)STATE_CALL_REALLOC_IN_PLACE == RECORD_ENTRY_COUNT,
               "an ALLOC's entry field is its call; a REALLOC record's call comes after them");

_Static_assert(STATE_CALLS <= 16, "class_state.calls_dirty has a bit per call");

/* The text of a call (STATE_CALL_*) as alloc_calls stores it; "unknown"
 * beyond the list. */
const char *state_call_name(unsigned call);

struct class_state {
    uint64_t allocs, frees, requested, usable, freed_requested, freed_usable;
    uint64_t calls[STATE_CALLS];      /* allocs by entry point (STATE_CALL_*) ... */
    uint64_t call_bytes[STATE_CALLS]; /* ... and their requested bytes */
    uint16_t calls_dirty;             /* bit per call changed since its row was written */
    int64_t live_blocks, live_requested, live_usable, peak_live_usable;
    int64_t cached, pooled;          /* free blocks in thread caches, in the pool */
    uint64_t cached_owed, pooled_owed; /* taken before the record that put them there was read */
    uint64_t refills, refill_blocks, drains, drain_blocks, carves, carved_blocks;
    uint64_t os_released, large_maps, large_mapped, large_unmaps, large_unmapped;
    uint64_t reallocs_in_place, cross_thread_frees;
    bool dirty;        /* changed since the last class_stats write */
    bool series_dirty; /* changed since the last class_series row */
};

struct site_state {
    uint64_t allocs, alloc_bytes, frees, freed_bytes;
    int64_t live_blocks, live_bytes, peak_live_bytes;
    double est_allocs, est_bytes;
    bool dirty;
};

struct stack_state {
    uint64_t *pcs;     /* innermost first */
    uint32_t depth;
    bool truncated;
    bool written;      /* frames are in the database */
    bool symbolized;   /* every frame had a module when written */
};

struct thread_state {
    uint32_t tid;
    char name[17];
    uint64_t start_ns, end_ns;
    uint64_t allocs, frees, alloc_bytes, freed_bytes, cross_thread_frees, records, dropped;
    uint64_t ring_waits, ring_wait_ns; /* its full-ring waits (lossless), as its ring counts them */
    uint64_t stack_unwinds;            /* stacks it unwound (its stack memo missed), as its ring counts them */
    bool dirty;
    bool row_written;  /* its row is in the database under start_ns: the key stays */
};

struct module_state {
    char *path;
    uint64_t bias;
    bool written;
};

/* Corruption events: every one is counted in its group - (kind, site,
 * class), with first and last time - and the first
 * STATE_CORRUPTION_EVENTS_MAX of an image are also kept one by one; the
 * rest are only counted (corruption_aggregated). Kind and call names come
 * whole from the process and are kept once per image, at most
 * STATE_CORRUPTION_NAMES_MAX distinct ones (more read "unknown"). */
#define STATE_CORRUPTION_EVENTS_MAX 10000u
#define STATE_CORRUPTION_NAMES_MAX 256u

struct corruption_state {
    uint32_t thread_id;
    uint64_t ts_ns, address;
    uint16_t kind, call; /* indexes into proc_state.corruption_names */
    int class_id;       /* -1: unknown */
    uint32_t stack_id;  /* canonical */
    uint32_t alloc_thread_id;
    uint64_t alloc_stack_id;
    bool has_header;
    bool has_alloc;     /* alloc_* known: from the header, or kept by the
                           allocator where the header could not be read
                           (a guard slot's closed pages) */
    uint8_t header[RECORD_CORRUPTION_HEADER_BYTES];
};

struct corruption_group { /* every corruption event of one (kind, site, class) */
    uint16_t kind, call;    /* names; call: the first event's */
    int class_id;           /* -1: unknown */
    uint32_t stack_id;      /* canonical stack where it was detected (0: none) */
    uint64_t events;        /* all of them */
    uint64_t stored;        /* of them, kept one by one (corruptions) */
    uint64_t first_ns, last_ns, first_address, last_address;
    bool dirty;
};

struct pair_state { /* frees by one thread of blocks another allocated */
    uint64_t frees, bytes;
};

struct alloc_row { /* full mode: one finished allocation */
    uint64_t addr, alloc_ts, free_ts, requested, usable;
    uint32_t stack_id, thread_id, free_thread_id;
    uint8_t class_id;
};

struct proc_state {
    uint32_t pid;
    unsigned mode;           /* SEGMENT_MODE_* */
    uint64_t sample_bytes;
    /* The image's size classes: ids 0 .. class_count - 1 are its table's
     * classes, class_count (state_large) is LARGE. */
    struct class_table class_table;
    unsigned class_count;
    struct class_state *classes; /* class_count + 1 entries */
    struct liveset live;
    uint64_t dense_sizes[STATE_DENSE_SIZES]; /* requested size -> allocs, small sizes */
    struct u64map sizes;     /* requested size + 1 -> allocs, sizes from STATE_DENSE_SIZES */
    struct u64map pairs;     /* (alloc tid << 32 | free tid) + 1 -> 1 + index into pair_totals */
    uint64_t last_pair_key;  /* the pairs key counted last, and its index: */
    size_t last_pair_index;  /* a run of frees by one pair of threads skips the map */
    struct pair_state *pair_totals;
    size_t pair_count, pair_cap;
    bool pairs_dirty, sizes_dirty;
    uint64_t (*lifetimes)[STATE_LIFETIME_BUCKETS][2]; /* [class_count + 1]: frees, bytes */
    bool lifetimes_dirty;
    /* Stacks: ids as sent (dense, process-wide) map to canonical ids, the
     * first id seen for each distinct PC sequence. */
    uint32_t *canonical;     /* indexed by sent id */
    size_t canonical_cap;
    struct u64map stack_by_hash; /* PC hash -> canonical id */
    struct stack_state *stacks;  /* indexed by canonical id */
    size_t stacks_cap;
    struct site_state *sites;    /* indexed by canonical id; [0] = no stack */
    size_t sites_cap;
    uint64_t stack_count, stacks_truncated;
    struct thread_state *threads;
    size_t thread_count, thread_cap;
    struct module_state *modules;
    size_t module_count, module_cap;
    bool modules_changed;
    struct corruption_state *corruptions;
    size_t corruption_count, corruption_cap, corruptions_written;
    char **corruption_names;     /* kind and call names, each once */
    size_t corruption_name_count, corruption_name_cap;
    struct corruption_group *corruption_groups;
    size_t corruption_group_count, corruption_group_cap;
    struct u64map corruption_group_by_key; /* (kind, class, stack) + 1 -> 1 + group index */
    uint64_t corruption_events;     /* every corruption event counted */
    uint64_t corruption_aggregated; /* of them, only counted (past the cap) */
    struct alloc_row *rows;  /* full mode, waiting to be written */
    size_t row_count, row_cap;
    uint64_t records, dropped, untracked_frees, last_ts, max_lag_ns;
    uint64_t paired; /* frees counted with their ALLOC from the same batch, without the live table */
    /* Why max_lag_ns may pass STATE_LAG_BUDGET_NS: the program out-ran the
     * collector (its threads waited on full rings that often and that
     * long), or the collector was held up elsewhere (the longest time it
     * did not visit this image's rings). late_batches: batches read more
     * than the budget after their newest event. */
    uint64_t ring_waits, ring_wait_ns, late_batches, max_visit_gap_ns;
    uint64_t stack_unwinds;  /* stacks its threads unwound: allocations the stack memo missed */
    uint64_t slots;          /* thread slots the image's segments hold */
};

/* A new image's state under the default class table (orthotope).
 * false: no memory (p is then empty; state_free is still fine). */
bool state_init(struct proc_state *p, uint32_t pid, unsigned mode, uint64_t sample_bytes);
/* Gives the image the class table it runs with (before any record).
 * false: the table breaks class_table.h's rules, or no memory; the state
 * keeps its table. */
bool state_set_classes(struct proc_state *p, const struct class_table *table);
void state_free(struct proc_state *p);

/* Feeds one framed event (head plus payload_records continuations, as
 * popped from a ring) produced by thread `thread` (an index into
 * p->threads, see state_thread). */
void state_ingest(struct proc_state *p, size_t thread, const record_t *recs, size_t n);

/* Feeds a batch of count records popped from one thread's ring, frame by
 * frame as state_ingest does, but faster: an allocation whose FREE comes
 * within the next 8 ALLOCs of the same 512-record chunk is counted without
 * going through the live table, and the table's slots of records further
 * on are prefetched. The result is the same for records as the tracer
 * writes them; records no tracer writes (an identity allocated twice, a
 * block freed twice by two threads at once) can end with a free credited
 * to another thread, never with a read outside the batch. Returns the time
 * of the batch's newest event (0 if none). */
uint64_t state_ingest_batch(struct proc_state *p, size_t thread, const record_t *recs, size_t count);

/* Index of a new thread record for tid (a ring's producer). */
size_t state_thread(struct proc_state *p, uint32_t tid, uint64_t start_ns);

/* Frees still waiting for their ALLOC when the process ended were of
 * blocks allocated before tracing began: count and drop them. */
void state_settle(struct proc_state *p);

/* The corruption kind or call name of index `name` ("unknown" if none). */
const char *state_corruption_name(const struct proc_state *p, unsigned name);

/* Calls fn for every live allocation (pending frees are not live). */
void state_live_each(const struct proc_state *p, void (*fn)(const struct live_entry *e, void *arg),
                     void *arg);

/* The exact histogram of requested sizes: allocations of exactly
 * `requested` bytes so far, and every (size, count) with count > 0. */
uint64_t state_size_count(const struct proc_state *p, uint64_t requested);
void state_sizes_each(const struct proc_state *p,
                      void (*fn)(uint64_t requested, uint64_t count, void *arg), void *arg);

/* The LARGE class id of the image: one past its last size class. */
static inline unsigned state_large(const struct proc_state *p)
{
    return p->class_count;
}
/* Display name of a class id ("B64", "B384", ..., "LARGE"; "unknown"
 * beyond) in the image's table, written into out. */
const char *state_class_name(const struct proc_state *p, unsigned class_id,
                             char out[CLASS_TABLE_NAME_BYTES]);
/* Payload bytes of a class id (0 for LARGE and unknown ids). */
uint64_t state_class_payload(const struct proc_state *p, unsigned class_id);
/* Class id serving a request of `size` bytes (LARGE above the last class). */
unsigned state_class_of(const struct proc_state *p, uint64_t size);

#endif
