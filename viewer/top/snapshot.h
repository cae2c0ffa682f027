/* snapshot.h - what ortho-top shows at one moment for one process
 * selection, computed from the model (snapshot.c): the class rows with
 * their rates and sparklines, where the bytes are, and the sites, threads
 * and corruption events to list. Screens draw a snapshot and the batch mode
 * prints one; neither goes back to the database. */
#ifndef ORTHO_TOP_SNAPSHOT_H
#define ORTHO_TOP_SNAPSHOT_H

#include "model.h"

struct top_class_row {
    int class_id;                        /* index into the model's classes */
    char name[TOP_CLASS_NAME_BYTES];
    bool large;                          /* the large path */
    double allocs_per_s, frees_per_s, refills_per_s, drains_per_s;  /* over the rate window */
    int64_t allocs, frees;               /* cumulative at the time shown */
    int64_t live_blocks, live_requested_bytes, live_usable_bytes;
    double waste_pct;                    /* of live usable bytes; 0 with nothing live */
    int64_t cached_blocks, pooled_blocks, carved_blocks;
    double spark[TOP_SPARK_BUCKETS];     /* allocs/s per 5 s bucket, oldest first */
};

/* Where the bytes of one class (or of all) are, at the time shown. */
struct top_frag {
    int64_t requested;      /* live requested bytes */
    int64_t waste;          /* live usable minus requested: padding up to the class size */
    int64_t headers;        /* 64-byte headers of live, cached and pooled small blocks */
    int64_t cached;         /* free payload bytes in thread caches */
    int64_t pooled;         /* free payload bytes in the central pool */
    int64_t arena_unused;   /* carved blocks that are neither live, cached nor pooled */
    int64_t large_live;     /* usable bytes of live large blocks */
    int64_t large_free;     /* mapped by the large path, not live (-1: only known at the end) */
};

enum top_frag_part {
    TOP_FRAG_REQUESTED,
    TOP_FRAG_WASTE,
    TOP_FRAG_HEADERS,
    TOP_FRAG_CACHED,
    TOP_FRAG_POOLED,
    TOP_FRAG_ARENA_UNUSED,
    TOP_FRAG_LARGE_LIVE,
    TOP_FRAG_LARGE_FREE,
    TOP_FRAG_PARTS
};

struct top_snapshot {
    int64_t at_ns;                 /* the time shown */
    int64_t begin_ns, end_ns;      /* the run's extent (end: newest data) */
    int64_t rate_window_ns;        /* what the rates were divided by (<= 1 s near the start) */
    bool live;                     /* some process still running */
    int selection;                 /* TOP_ALL_PROCESSES or an index into model procs */
    char process_label[160];       /* "all 3 processes (root pid 12: cmd)" / "process 2 ..." */
    /* One row per class the selected processes have (the model's classes
     * in its order: by payload, LARGE last); frag[k] is classes[k]'s. */
    size_t class_count;
    struct top_class_row *classes;       /* owned */
    struct top_frag *frag;               /* owned */
    struct top_frag frag_total;
    struct top_site *sites;        /* owned array; the model's top_site_query, in its order */
    size_t site_count;
    int64_t site_total;            /* sites the query matches (more than site_count: a top) */
    const struct top_thread **threads;  /* owned array of pointers into the model */
    size_t thread_count;
    const struct top_event **events;    /* events at or before at_ns */
    size_t event_count;
    int64_t event_total;        /* every corruption event of the selection in the whole
                                   run, rows past the collector's cap included */
};

/* Fills snap for the processes selected at time at_ns, clamped into the
 * run (a live run: not before its start; later than its newest event is
 * allowed, as an idle program's time goes on). 0, or -1 when out of memory
 * (snap then holds nothing to free). */
int top_snapshot_take(struct top_snapshot *snap, const struct top_model *m, int selection,
                      int64_t at_ns);
void top_snapshot_free(struct top_snapshot *snap);

/* The time of the largest total live usable bytes of the selection (the
 * first such time), or the run's start when nothing was ever live. */
int64_t top_snapshot_peak_ns(const struct top_model *m, int selection);

/* Value of one part of a struct top_frag, by enum top_frag_part. */
int64_t top_frag_part(const struct top_frag *f, enum top_frag_part part);
const char *top_frag_part_name(enum top_frag_part part);

#endif
