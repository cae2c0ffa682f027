/* workloads.h - the benchmark workloads as one table of named rows. Two
 * families: the Rust crate orthotope's own suite (crate.c), reproduced from
 * its bench/src/lib.rs with its names, constants, operation order and
 * units, and a few of ours (extra.c) that show what the crate's do not.
 * Every workload is measured the crate's way: a sample runs a fixed number
 * of iterations (the crate's `operations`) and is timed as a whole; the
 * figure is the sample's time / iterations, in ns or us as the crate quotes
 * it. A sample builds what it needs before its clock starts and releases it
 * after, so samples are independent (under ortho-cache each one even gets a
 * fresh allocator instance, as in the crate). */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

enum workload_unit {
    WORKLOAD_NS, /* figure in ns per iteration */
    WORKLOAD_US, /* figure in us per iteration */
};

struct workload {
    const char *name;        /* selectable name; the crate's own for its workloads */
    const char *origin;      /* "crate" (bench/src/lib.rs) or "ours" */
    enum workload_unit unit; /* unit of the figure, the crate's choice for its rows */
    const char *per;         /* what one iteration is, e.g. "alloc+free" */
    size_t size_bytes;       /* request size of a fixed-size workload, 0 otherwise */
    uint64_t iterations;     /* iterations per sample (the crate's `operations`) */
    /* Runs one sample of `iterations`; returns its timed nanoseconds. */
    uint64_t (*sample_ns)(const struct workload *w, uint64_t iterations);
};

/* The table, in the order the driver reports it, and its length. */
extern const struct workload workloads_table[];
extern const size_t workloads_count;

/* The workload called `name`, or NULL. */
const struct workload *workloads_find(const char *name);
/* "ns" or "us". */
const char *workloads_unit_name(enum workload_unit unit);

/* The crate's workloads (crate.c). */
uint64_t crate_sample_churn_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_embedding_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_mixed_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_large_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_concurrent_large_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_handoff_ns(const struct workload *w, uint64_t iterations);
uint64_t crate_sample_handoff_4x_ns(const struct workload *w, uint64_t iterations);

/* Ours (extra.c). */
uint64_t extra_sample_mixed_ring_ns(const struct workload *w, uint64_t iterations);
uint64_t extra_sample_large_touched_ns(const struct workload *w, uint64_t iterations);
uint64_t extra_sample_handoff_queue_ns(const struct workload *w, uint64_t iterations);
uint64_t extra_sample_handoff_queue_4x_ns(const struct workload *w, uint64_t iterations);

/* The crate's large request, LARGE_REQUEST_BYTES: 20 MiB, above
 * orthotope's largest class (16 MiB), so every allocator takes its large
 * path. */
#define WORKLOADS_LARGE_REQUEST_BYTES ((size_t)20 << 20)

#endif
