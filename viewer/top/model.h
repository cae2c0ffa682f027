/* model.h - ortho-top's data model: what a trace database holds, read into
 * plain structs (model.c), and what one screen shows at one moment derived
 * from them (snapshot.c). Nothing here knows about ncurses, so the batch
 * mode and the unit tests see exactly what the terminal screens see.
 *
 * Everything is read through the schema's views (schema.sql), the contract
 * ortho-report reads too: class_timeline for the classes, fragmentation for
 * the large path's free bytes, top_sites for the sites, corruption and
 * stack_frames for the events and their stacks; processes and threads are
 * plain tables. Time is CLOCK_MONOTONIC nanoseconds as in the database.
 * Each process has its own size classes (ORTHO_CLASSES; the classes table
 * keyed by process): the model reads each process's table once, and lists
 * the classes of every process together (one row per payload size, LARGE
 * last), so a tree whose processes ran different tables shows each class
 * summed over the processes that have it. No class count is built in.
 * The per-class timeline is kept in memory, one array per process and
 * class, and grows by the rows committed since the last refresh, so a live
 * database is followed without re-reading it. Processes, threads and
 * corruption events are small and are re-read whole on each refresh. Sites
 * are not: a long run may have millions, so the database sums, filters and
 * ranks them (struct top_site_query) and the model holds the first
 * TOP_SITES_MAX, only once a screen has asked for sites. */
#ifndef ORTHO_TOP_MODEL_H
#define ORTHO_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "tracedb.h"

#define TOP_CLASS_NAME_BYTES CLASS_TABLE_NAME_BYTES /* B64, B1536, B16M, LARGE */
#define TOP_HEADER_BYTES 64     /* the block header in front of every small block */
#define TOP_RATE_WINDOW_NS 1000000000LL     /* "now" rates: delta over the last second */
#define TOP_SPARK_WINDOW_NS 60000000000LL   /* the pressure sparkline covers a minute */
#define TOP_SPARK_BUCKETS 12                /* of 5 s each */
#define TOP_ALL_PROCESSES (-1)  /* process selection: the sum over the whole tree */
#define TOP_SITES_MAX 1000      /* sites read per refresh: the first of the screen's order */

/* The cumulative counters of one class_timeline row, in column order. */
enum top_field {
    TOP_F_ALLOCS,
    TOP_F_FREES,
    TOP_F_LIVE_BLOCKS,
    TOP_F_LIVE_REQUESTED,   /* bytes */
    TOP_F_LIVE_USABLE,      /* bytes */
    TOP_F_CACHED_BLOCKS,
    TOP_F_POOLED_BLOCKS,
    TOP_F_REFILLS,
    TOP_F_DRAINS,
    TOP_F_CARVED_BLOCKS,
    TOP_FIELDS
};

struct top_sample {
    int64_t ts_ns;
    int64_t v[TOP_FIELDS];  /* indexed by enum top_field */
};

struct top_series {
    struct top_sample *samples;  /* ascending ts_ns */
    size_t count, cap;
};

struct top_class_info {
    char name[TOP_CLASS_NAME_BYTES]; /* B64 .. B16M, LARGE */
    int64_t payload_bytes;  /* 0 for LARGE */
    int64_t block_bytes;    /* payload + header; 0 for LARGE */
    bool large;             /* the large path (the class after a table's last) */
};


struct top_process {
    int64_t process_id, pid, parent_process_id; /* parent 0: the root */
    char via[8];               /* root, fork or exec */
    char *exe, *cmdline;       /* owned; "" when unknown */
    char end_reason[16];       /* "" while running */
    int64_t start_ns, end_ns;  /* end_ns 0 while running */
    int64_t last_ts_ns;        /* newest event the collector saw */
    int64_t series_ts_ns;      /* newest class_timeline row loaded (refresh watermark) */
    /* Its own classes, by its class_id (0 .. class_count - 1, LARGE last;
     * class_count 0 while the database has none for it). */
    size_t class_count;
    struct top_class_info *classes;
    struct top_series *series;     /* one per class, by its class_id */
    int *model_class;              /* its class_id -> index into the model's classes */
    int *class_of;                 /* the model's class index -> its class_id, or -1 */
    int64_t large_free_bytes;  /* mapped by the large path, not live (fragmentation view) */
    int64_t corruption_events; /* every one counted, stored as a row or not */
};

/* One allocation site: a row of the top_sites view (sites summed over the
 * stacks that share a site), or with every process selected the sum of
 * those rows over the processes. */
struct top_site {
    int64_t process_id;     /* 0: the site is in several processes */
    char *function, *file;  /* owned; function "(no stack)" for the stackless row */
    int64_t line;
    int64_t allocs, alloc_bytes, frees, live_blocks, live_bytes, peak_live_bytes;
    int64_t stacks;         /* how many stacks reach it */
    double allocs_per_s;    /* see top_model_refresh */
};

struct top_thread {
    int64_t process_id, thread_id, start_ns, end_ns;  /* end_ns 0: running */
    char name[20];
    int64_t allocs, frees, alloc_bytes, freed_bytes, cross_thread_frees, dropped_records;
};

struct top_event {
    int64_t event_id, process_id, thread_id, ts_ns, address;
    char kind[32], call[24], class_name[TOP_CLASS_NAME_BYTES];
    char *function, *file;   /* owned; where it was detected ("" unknown) */
    int64_t line;
    int64_t stack_id, alloc_thread_id, alloc_stack_id;  /* 0: unknown */
    unsigned char header[64];
    int header_bytes;        /* how many of header[] the database had */
};

/* Which sites the model reads, in which order: what the sites screen
 * shows (screens.c fills it from its sort column and filter). */
enum top_site_order {
    TOP_SITES_BY_LIVE_BYTES, TOP_SITES_BY_LIVE_BLOCKS, TOP_SITES_BY_RATE, TOP_SITES_BY_ALLOCS,
    TOP_SITES_BY_BYTES, TOP_SITES_BY_FUNCTION, TOP_SITES_BY_FILE, TOP_SITES_BY_FREES,
    TOP_SITES_BY_PEAK, TOP_SITES_BY_STACKS, TOP_SITES_BY_PROCESS, TOP_SITES_ORDERS
};

struct top_site_query {
    bool wanted;               /* false: read no sites (no screen shows them) */
    int64_t process_id;        /* 0: every process, summed per site */
    enum top_site_order order;
    bool descending;
    char filter[64];           /* "": all; else sites whose function or file:line holds it */
};

struct top_frame {
    int64_t level, pc, line;
    char function[128], module[128], file[160];
};

struct top_model {
    struct tracedb *db;                       /* not owned */
    /* The classes of every process, one per payload size, ascending, and
     * LARGE last: the rows of the classes screen. */
    struct top_class_info *classes;
    size_t class_count;
    struct top_process *procs;                /* ascending process_id */
    size_t proc_count;
    struct top_site_query site_query; /* what `sites` holds; set by top_model_set_site_query */
    struct top_site *sites;           /* the first TOP_SITES_MAX of the query, in its order */
    size_t site_count;
    int64_t site_total;               /* how many the query matches (site_count when fewer) */
    struct top_thread *threads;
    size_t thread_count;
    struct top_event *events;         /* the stored ones, in the order read */
    size_t event_count;
    int64_t event_last_id;            /* newest event_id read: a refresh reads only newer */
    int64_t refreshed_data_ns;  /* data_end_ns at the previous refresh (site rates) */
    unsigned refreshes;         /* successful refreshes so far */
};

/* Reads everything from an open, validated database. 0 on success; -1 with
 * one line in err (an empty run: "holds no traced process yet"). On failure
 * the model holds nothing and needs no top_model_free. */
int top_model_open(struct top_model *m, struct tracedb *db, char *err, size_t err_cap);

/* Sets which sites the next refresh reads (a process_id that is not in the
 * database reads none). Returns whether it differs from the current query,
 * in which case the caller refreshes to see them. */
bool top_model_set_site_query(struct top_model *m, const struct top_site_query *q);

/* Re-reads what may have changed and appends new series rows. Site rates:
 * while the run is live, allocations per second since the previous refresh;
 * once it has ended, each site's allocations over its process's lifetime.
 * -1 with one line in err, the model left as it was (a live database may be
 * briefly locked: show it and retry). */
int top_model_refresh(struct top_model *m, char *err, size_t err_cap);
void top_model_free(struct top_model *m);

/* Whether some process has not ended. */
bool top_model_is_live(const struct top_model *m);

/* The earliest process start, and the newest moment the data covers: each
 * process's end, or while it runs its newest event or series row. */
int64_t top_model_begin_ns(const struct top_model *m);
int64_t top_model_data_end_ns(const struct top_model *m);

/* The series of model class c in process p, or NULL when p has no such
 * class. */
const struct top_series *top_process_series(const struct top_process *p, size_t c);

/* Index into procs of a process_id, or -1. */
int top_model_find_process(const struct top_model *m, int64_t process_id);

/* The frames of one stack, innermost first (frames ordered by level).
 * Returns how many were written (at most cap); -1 on a query failure. */
int top_model_stack(const struct top_model *m, int64_t process_id, int64_t stack_id,
                    struct top_frame *out, int cap);

/* The value of field f of one series at time t: the newest sample at or
 * before t carried forward, 0 before the first one. */
int64_t top_series_at(const struct top_series *s, enum top_field f, int64_t t_ns);

#endif
