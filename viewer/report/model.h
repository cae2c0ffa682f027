/* model.h - ortho-report's data model: everything the formatters print, read
 * from one trace database (SQL -> structs), so every output format (text,
 * JSON, SVG, folded, pprof, diff, what-if) works from the same numbers and
 * none of them touches SQLite. Everything is read through the schema's
 * views (schema.sql), the contract ortho-top reads too: class_totals and
 * fragmentation for the classes, class_timeline for the peaks, top_sites
 * for the sites, stack_sites and stack_frames for the stacks, leaks,
 * corruption, call_totals for the split by entry point; processes and
 * size_histogram are plain tables.
 *
 * Memory follows what is shown, not how long the run was: what is bounded
 * by the classes or by what was live at the end (processes, classes, leaks,
 * the size histogram, the split by entry point) is loaded whole by
 * model_load, and so are the
 * corruption counts (corruption_summary: one row per process, kind,
 * detecting stack and class, however many events); sites, stacks and the
 * stored corruption events (up to the collector's cap of 10,000 per
 * process), of which a run may hold millions, stay in the database and are
 * handed out as SQL picks them: a top N (ORDER BY ... LIMIT), a stream
 * (model_each_site, model_each_stack, model_each_corruption), or one stack
 * at a time (model_stack). So the connection stays open until model_free. A read
 * that fails after the load ends the program with one line and status 2,
 * as running out of memory does (report_mem.h): there is no partial report
 * worth keeping.
 *
 * Size classes are the database's: each process has its own table
 * (ORTHO_CLASSES; `classes` keyed by process, LARGE after its last class).
 * The model lists the classes of every process together, one per payload
 * size (a class's name follows its payload, so equal names are one class),
 * ascending, LARGE last; per-process and whole-tree numbers are indexed by
 * that list, so a tree mixing tables sums each class over the processes
 * that have it. No class count is built in. */
#ifndef ORTHO_REPORT_MODEL_H
#define ORTHO_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "suppress.h"
#include "tracedb.h"

/* One class of the run (see above). */
struct model_class_info {
    char *name;             /* B64, B1536, B16M; LARGE */
    int64_t payload_bytes;  /* 0 for LARGE */
    bool large;             /* the large path */
    int64_t class_id;       /* the class_id every process that has it gives it; -1 if they differ */
};

/* One size class of one process (or of the whole tree in model.totals). */
struct model_class {
    int64_t allocs, frees;                 /* blocks */
    int64_t requested_bytes, usable_bytes; /* over all allocations of the run */
    int64_t live_blocks;                   /* at the end of the process */
    int64_t live_requested_bytes, live_usable_bytes;
    int64_t cached_blocks, pooled_blocks;  /* free blocks in thread caches / the central pool */
    int64_t cached_bytes, pooled_bytes;
    int64_t peak_live_usable_bytes;        /* exact per class (class_stats) */
};

/* One traced process image (a row of `processes`). */
struct model_process {
    int64_t process_id, pid, ppid;
    int64_t parent_process_id;   /* 0: the root of the tree */
    char *via, *exe, *cmdline, *end_reason, *mode, *overflow; /* NULL when unknown */
    int64_t start_ns, end_ns;    /* CLOCK_MONOTONIC; end_ns 0: still running */
    int64_t start_unix_ns;       /* wall clock at start; 0 when unknown */
    int64_t sample_bytes;        /* 0: every allocation has a stack */
    int64_t stack_depth;         /* 0: stacks were off */
    int64_t records, dropped_records, lost_no_slot, stacks, stacks_truncated, untracked_frees;
    /* Its numbers by the model's class index (m->class_count of them;
     * zeros for a class its table lacks). */
    struct model_class *classes;
    size_t own_class_count;     /* classes of its own table, LARGE included */
    int *model_class;           /* its class_id -> the model's class index */
    int *class_ids;             /* the model's class index -> its class_id, or -1 */
    /* Peak of live usable bytes over all classes. Exact in ORTHO_TRACE=full
     * (from the allocations); otherwise known only between the highest total
     * at a series sample point and the sum of the exact per-class peaks. */
    bool peak_exact;
    int64_t peak_low_bytes, peak_high_bytes; /* equal when exact */
};

/* An allocation site: a row of the top_sites view, the innermost frame
 * outside the allocator aggregated over every stack that reaches it.
 * function NULL: allocations without a stack (stacks off, or not picked by
 * the sampler). */
struct model_site {
    int64_t process_id;
    char *function, *file;
    int64_t line;
    int64_t stacks;                          /* distinct stacks aggregated */
    bool has_stack;                          /* false: the "no stack" row (stack_id 0) */
    int64_t allocs, alloc_bytes, frees, live_blocks, live_bytes;
    int64_t peak_live_bytes;                 /* the largest of its stacks' peaks */
    double est_allocs, est_bytes;            /* = allocs/alloc_bytes unless sampled */
};

/* One row of `sites`: the numbers of one stack. */
struct model_stack_site {
    int64_t process_id, stack_id;
    int64_t allocs, alloc_bytes, live_blocks, live_bytes;
    double est_allocs, est_bytes;
};

struct model_frame {
    char *function;  /* without glibc's @GLIBC_x suffix; NULL when unknown */
    char *module, *file;
    int64_t line;    /* 0: unknown */
    uint64_t pc;
};

/* One stack, innermost frame first. */
struct model_stack {
    int64_t process_id, stack_id;
    bool truncated;
    size_t frame_count;
    struct model_frame *frames;
};

/* Blocks still live at the end of a process, grouped by allocation stack.
 * Stacks of one site (process, function, file and line) come one after
 * the other, the site's biggest stack first, and sites by their bytes: the
 * leaks first, then the suppressed ones (suppress.h). */
struct model_leak {
    int64_t process_id, stack_id;   /* stack_id 0: no stack */
    int64_t blocks, bytes;          /* requested bytes */
    char *function, *file;          /* the site; NULL without a stack */
    int64_t line;
    char *class_names;              /* e.g. "B256" or "B64,B256" */
    size_t site;                    /* which site: 0 for the first, counting up */
    char *suppressed_by;            /* the rule, "built-in site:_dl_*"; NULL: a leak */
};

/* One stored corruption event (a row of the `corruption` view). */
struct model_corruption {
    int64_t event_id, process_id, thread_id, ts_ns;
    char *kind, *call, *class_name, *function, *file;
    int64_t line;
    uint64_t address;
    int64_t stack_id, alloc_thread_id, alloc_stack_id; /* 0 / -1: unknown */
};

/* Corruption events counted together: a row of corruption_summary, one
 * per process, kind, detecting stack and class. */
struct model_corruption_group {
    int64_t process_id;
    char *kind, *call, *function, *file, *class_name; /* NULL when unknown */
    int64_t line, stack_id;            /* 0: unknown, no stack */
    int64_t events;                    /* every one */
    int64_t stored_events;             /* of them, rows of `corruption` */
    int64_t first_ns, last_ns;
    uint64_t first_address, last_address;
};

/* The events of one kind over the tree. */
struct model_corruption_kind {
    char *kind;
    int64_t events;
};

/* Allocations made through one entry point (call_totals summed over the
 * classes): malloc, calloc, realloc_moved, ... (schema.sql, alloc_calls). */
struct model_call {
    int64_t process_id;          /* 0: over the whole tree */
    char *call;
    int64_t allocs, requested_bytes;
};

/* One row of size_histogram. */
struct model_size {
    int64_t process_id, requested_size, allocs;
    int class_id;  /* the process's own class_id */
};

struct model_stack_cache; /* model.c: the stacks read so far */

struct model {
    const char *path;                   /* the database, as given (to open it) */
    char *path_shown;                   /* the same, safe to print (safetext.h) */
    struct tracedb db;                  /* open until model_free */
    struct model_stack_cache *stacks;   /* model_stack's; mutable behind a const model */
    size_t class_count;
    struct model_class_info *classes;   /* every process's classes: by payload, LARGE last */

    size_t process_count;
    struct model_process *processes;    /* by process_id */
    struct model_class *totals;         /* over all processes, by class index */

    size_t leak_count;
    struct model_leak *leaks;           /* by site (largest first), then stack */
    size_t leak_site_count;             /* sites of the leaks that are not suppressed */
    size_t suppressed_site_count;       /* sites of the suppressed ones */
    int64_t corruption_events;          /* every event counted, over the tree */
    int64_t corruption_stored;          /* of them, stored one by one (`corruption`) */
    size_t corruption_group_count;
    struct model_corruption_group *corruption_groups; /* most events first */
    size_t corruption_kind_count;
    struct model_corruption_kind *corruption_kinds;   /* by first appearance */
    size_t size_count;
    struct model_size *sizes;           /* by process, requested_size */
    bool has_calls;                     /* the database splits allocations by entry point
                                           (call_totals; an older file does not) */
    size_t call_count;
    struct model_call *calls;           /* the tree's (process_id 0), then each process's;
                                           each most allocations first */

    bool stacks_off;    /* every process was traced with ORTHO_TRACE_STACKS=0 */
    bool sampled;       /* some process sampled stacks (sample_bytes > 0) */
    bool live;          /* some process has not ended */
};

/* Opens path with tracedb_open and loads it, judging the leaks by the
 * rules of suppressions (NULL: none); refuses a database without
 * processes. 0 on success; -1 with a one-line reason in err (the model is
 * then empty and may be freed). */
int model_load_path(struct model *m, const char *path, const struct suppress_list *suppressions,
                    char *err, size_t err_cap);
void model_free(struct model *m);

const struct model_process *model_process(const struct model *m, int64_t process_id);

/* One stack, innermost frame first, read on first use and kept until
 * model_free; NULL for stack 0 and for a stack the database has no frames
 * of. */
const struct model_stack *model_stack(const struct model *m, int64_t process_id,
                                      int64_t stack_id);

/* The sites (rows of top_sites) for which where_sql holds (NULL: all), in
 * the order of order_sql (NULL: by process, then bytes allocated, largest
 * first), at most limit of them (0: all), one at a time: the site passed
 * to fn lives until fn returns. where_sql and order_sql are SQL over the
 * view as t and the site's process (a row of processes) as p. */
typedef void (*model_site_fn)(const struct model_site *site, void *ctx);
void model_each_site(const struct model *m, const char *where_sql, const char *order_sql,
                     size_t limit, model_site_fn fn, void *ctx);

/* model_each_site for a top: the same, and returns how many sites
 * where_sql holds for in all (counted in the same pass over the view). */
int64_t model_top_sites(const struct model *m, const char *where_sql, const char *order_sql,
                        size_t limit, model_site_fn fn, void *ctx);

/* How many sites where_sql holds for (the same SQL as model_each_site);
 * with processes, how many processes have such a site. */
int64_t model_count_sites(const struct model *m, const char *where_sql, bool processes);

/* The stored corruption events by process and time, at most limit of them
 * (0: all), one at a time: the event lives until fn returns. */
typedef void (*model_corruption_fn)(const struct model_corruption *event, void *ctx);
void model_each_corruption(const struct model *m, size_t limit, model_corruption_fn fn, void *ctx);

/* Every row of `sites` with its stack (NULL for stack 0 and for a stack
 * without frames), by process and stack id, one stack in memory at a time:
 * both live until fn returns. */
typedef void (*model_stack_fn)(const struct model_stack_site *row,
                               const struct model_stack *stack, void *ctx);
void model_each_stack(const struct model *m, model_stack_fn fn, void *ctx);

/* Whole-run figures over every process. Leaks: those not suppressed;
 * suppressed: the others. */
int64_t model_total_leak_blocks(const struct model *m);
int64_t model_total_leak_bytes(const struct model *m);
int64_t model_total_suppressed_blocks(const struct model *m);
int64_t model_total_suppressed_bytes(const struct model *m);
int64_t model_total_dropped(const struct model *m); /* dropped + lost_no_slot */

/* The sum of a class array (a process's or the totals: m->class_count). */
struct model_class model_sum_classes(const struct model_class *classes, size_t count);

/* Whether a class row has anything to show: allocations, live or free blocks. */
bool model_class_active(const struct model_class *c);

/* Waste of handed-out bytes, as the views compute it: 100 * (usable -
 * requested) / usable, 0 when nothing was handed out. */
double model_waste_pct(int64_t requested_bytes, int64_t usable_bytes);

/* Duration from the first start to the last end in ns (0 when unknown). */
int64_t model_duration_ns(const struct model *m);

/* Why the run has no stacks to draw, as the end of a sentence starting with
 * the database path; NULL when it has stacks. */
const char *model_no_stacks_reason(const struct model *m);

#endif
