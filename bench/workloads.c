/* workloads.c - the workload table: one row per workload, so adding one is
 * a line here plus its sample function. The crate's rows carry its names,
 * iteration counts and units from bench/src/lib.rs (repository
 * erayack/orthotope, bench/src/lib.rs: workload_table and
 * same_thread_iterations); bench/README.md says where each comes from. */
#include "workloads.h"

#include <string.h>

/* same_thread_iterations() of the crate: 6 M iterations up to 64 bytes,
 * 3 M up to 4096, 600,000 above. */
#define CRATE_CHURN_ITERATIONS_TO_64 UINT64_C(6000000)
#define CRATE_CHURN_ITERATIONS_TO_4096 UINT64_C(3000000)
#define CRATE_CHURN_ITERATIONS_ABOVE UINT64_C(600000)
/* The crate's other per-sample counts. */
#define CRATE_EMBEDDING_ITERATIONS UINT64_C(200000)
#define CRATE_MIXED_ITERATIONS UINT64_C(120000)
#define CRATE_LARGE_ITERATIONS UINT64_C(1200)            /* large_path */
#define CRATE_CONCURRENT_LARGE_ITERATIONS UINT64_C(1200) /* all 4 threads together */
#define CRATE_HANDOFF_ITERATIONS UINT64_C(80000)         /* all pairs together */

/* Ours: about as long a sample as the crate's rows on a fast allocator. */
#define EXTRA_MIXED_RING_ITERATIONS UINT64_C(1000000)
#define EXTRA_LARGE_TOUCHED_ITERATIONS UINT64_C(1200)
#define EXTRA_HANDOFF_QUEUE_ITERATIONS UINT64_C(80000)

#define CRATE_CHURN_ROW(bytes, iterations)                                               \
    {"same_thread_small_churn/" #bytes, "crate", WORKLOAD_NS, "alloc+free", bytes,       \
     iterations, crate_sample_churn_ns}

const struct workload workloads_table[] = {
    CRATE_CHURN_ROW(32, CRATE_CHURN_ITERATIONS_TO_64),
    CRATE_CHURN_ROW(64, CRATE_CHURN_ITERATIONS_TO_64),
    CRATE_CHURN_ROW(65, CRATE_CHURN_ITERATIONS_TO_4096),
    CRATE_CHURN_ROW(4096, CRATE_CHURN_ITERATIONS_TO_4096),
    CRATE_CHURN_ROW(70000, CRATE_CHURN_ITERATIONS_ABOVE),
    {"embedding_batch", "crate", WORKLOAD_NS, "batch of 8 allocs + 8 frees", 0,
     CRATE_EMBEDDING_ITERATIONS, crate_sample_embedding_ns},
    {"mixed_size_churn", "crate", WORKLOAD_NS, "round of 8 allocs + 8 frees", 0,
     CRATE_MIXED_ITERATIONS, crate_sample_mixed_ns},
    {"large_path", "crate", WORKLOAD_US, "alloc+free", WORKLOADS_LARGE_REQUEST_BYTES,
     CRATE_LARGE_ITERATIONS, crate_sample_large_ns},
    {"concurrent_large_4x", "crate", WORKLOAD_US, "alloc+free (wall, 4 threads)",
     WORKLOADS_LARGE_REQUEST_BYTES, CRATE_CONCURRENT_LARGE_ITERATIONS,
     crate_sample_concurrent_large_ns},
    {"long_lived_handoff", "crate", WORKLOAD_US, "message (wall)", 0, CRATE_HANDOFF_ITERATIONS,
     crate_sample_handoff_ns},
    {"long_lived_handoff_4x", "crate", WORKLOAD_US, "message (wall, 4 pairs)", 0,
     CRATE_HANDOFF_ITERATIONS, crate_sample_handoff_4x_ns},
    {"mixed_ring_256", "ours", WORKLOAD_NS, "replacement", 0, EXTRA_MIXED_RING_ITERATIONS,
     extra_sample_mixed_ring_ns},
    {"large_path_touched", "ours", WORKLOAD_US, "alloc+touch+free",
     WORKLOADS_LARGE_REQUEST_BYTES, EXTRA_LARGE_TOUCHED_ITERATIONS,
     extra_sample_large_touched_ns},
    {"handoff_queue", "ours", WORKLOAD_NS, "message (wall)", 0, EXTRA_HANDOFF_QUEUE_ITERATIONS,
     extra_sample_handoff_queue_ns},
    {"handoff_queue_4x", "ours", WORKLOAD_NS, "message (wall, 4 pairs)", 0,
     EXTRA_HANDOFF_QUEUE_ITERATIONS, extra_sample_handoff_queue_4x_ns},
};

const size_t workloads_count = sizeof workloads_table / sizeof workloads_table[0];

const struct workload *workloads_find(const char *name)
{
    for (size_t i = 0; i < workloads_count; i++)
        if (strcmp(workloads_table[i].name, name) == 0)
            return &workloads_table[i];
    return NULL;
}

const char *workloads_unit_name(enum workload_unit unit)
{
    return unit == WORKLOAD_US ? "us" : "ns";
}
