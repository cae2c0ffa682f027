/* workloads.h - the benchmark workloads (after the Rust crate orthotope's
 * suite) as one table of named entries. Each workload has a setup that
 * builds its state (untimed), a timed run of a given number of ops, and a
 * teardown; one op is the unit its ns figure is quoted in (an alloc+free
 * pair, a batch, a replacement, a message). Runs may be repeated on the same
 * state: that is how calibration, warm-up and samples share threads and
 * live sets. */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

struct workload {
    const char *name;        /* selectable name, e.g. "same_thread_small_churn_64" */
    const char *op_unit;     /* what one op is: "pair", "batch", "replacement", "message" */
    size_t size_bytes;       /* request size for fixed-size workloads, 0 otherwise */
    uint64_t first_chunk_ops; /* ops of the first calibration run: about 1 ms on the slowest
                                 allocator; ortho-bench doubles it until a run is long enough */
    /* Builds the state; returns NULL (with a message on stderr) on failure. */
    void *(*setup)(const struct workload *w);
    /* Runs `ops` ops on the state; returns the elapsed wall time in ns. */
    uint64_t (*run_ns)(void *state, uint64_t ops);
    /* Frees everything setup and the runs left live. */
    void (*teardown)(void *state);
};

/* The table, in the order the driver reports it, and its length. */
extern const struct workload workloads_table[];
extern const size_t workloads_count;

/* The workload called `name`, or NULL. */
const struct workload *workloads_find(const char *name);

/* Single-thread workloads (single.c). */
void *single_setup_churn(const struct workload *w);
uint64_t single_run_churn_ns(void *state, uint64_t ops);
void *single_setup_embedding(const struct workload *w);
uint64_t single_run_embedding_ns(void *state, uint64_t ops);
void *single_setup_mixed(const struct workload *w);
uint64_t single_run_mixed_ns(void *state, uint64_t ops);
uint64_t single_run_large_ns(void *state, uint64_t ops);
void single_teardown_mixed(void *state);
void single_teardown(void *state);

/* Multi-thread workloads (threaded.c). */
void *threaded_setup_large_4x(const struct workload *w);
uint64_t threaded_run_ns(void *state, uint64_t ops);
void *threaded_setup_handoff_1x(const struct workload *w);
void *threaded_setup_handoff_4x(const struct workload *w);
void threaded_teardown(void *state);

/* Request of the large-path workloads: 20 MiB, above orthotope's largest
 * class (16 MiB), so it takes the large path in every allocator. */
#define WORKLOADS_LARGE_REQUEST_BYTES ((size_t)20 << 20)
/* Pages touched per large block: the first byte of each of this many
 * evenly spaced pages, so an allocator that hands back fresh (unmapped or
 * madvised) memory pays its page faults, while the cost stays that of a few
 * pages, not of 20 MiB. */
#define WORKLOADS_LARGE_TOUCH_PAGES 4
/* Touches a large block as described above. */
void workloads_touch_large(unsigned char *p, uint64_t stamp);

#endif
