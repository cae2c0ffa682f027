/* weights.h - what one stack weighs in the stack-based outputs (flame
 * graph, folded stacks, pprof), and how a frame is named there, so the
 * three agree with each other and with the database. Exact runs weigh a
 * stack by its row of `sites`. Sampled runs (processes.sample_bytes > 0)
 * weigh a sampled stack by its estimates (sites.est_*), which already stand
 * for the unsampled allocations of that site, so the "no stack" row
 * (stack_id 0) of a sampled process weighs nothing; live figures of a
 * sampled stack are scaled by the same factor as its totals. */
#ifndef ORTHO_REPORT_WEIGHTS_H
#define ORTHO_REPORT_WEIGHTS_H

#include <stddef.h>

#include "model.h"

enum weight_kind {
    WEIGHT_ALLOC_BYTES, /* bytes allocated over the run (requested) */
    WEIGHT_ALLOCS,      /* allocations over the run */
    WEIGHT_LIVE_BYTES,  /* bytes still live when the process ended */
    WEIGHT_LIVE_BLOCKS, /* blocks still live when the process ended */
};

/* The weight of one stack's row; 0 for rows that stand for nothing. */
double weight_of(const struct model *m, const struct model_stack_site *s, enum weight_kind kind);

/* The same rule for an aggregated site: its estimates in a sampled
 * process, its exact counts otherwise; the "no stack" site of a sampled
 * process weighs nothing. */
double weight_site(const struct model *m, const struct model_site *s, enum weight_kind kind);

/* weight_site's rule as an SQL expression over a row of the top_sites view
 * as t and its process as p (model_each_site), so that SQL can rank the
 * sites the way the outputs weigh them. */
const char *weight_site_sql(enum weight_kind kind);

/* "allocated bytes", "allocations", "live bytes at exit", "live blocks at exit". */
const char *weight_describe(enum weight_kind kind);

/* Parses the --weight words alloc-bytes, allocs, live-bytes; -1 otherwise. */
int weight_parse(const char *word);

/* A frame's name in a stack: its function, else "0x<pc> (<module file name>)". */
const char *weight_frame_name(const struct model_frame *f, char *buf, size_t cap);

/* The name of the frame standing for allocations without a stack. */
#define WEIGHT_NO_STACK "(no stack)"

/* The root frame naming a process when a graph holds several: "exe (process N)". */
const char *weight_process_name(const struct model_process *p, char *buf, size_t cap);

/* How many processes have a site of non-zero weight (one root per process
 * is drawn only when this is above one). */
size_t weight_process_count(const struct model *m, enum weight_kind kind);

#endif
