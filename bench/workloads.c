/* workloads.c - the workload table: names, units and the size of the first
 * calibration run, one row per workload, so adding a workload is one line
 * here plus its functions. Samples are timed, not counted: ortho-bench
 * grows the run until it is long enough, so a fast allocator does more ops
 * per sample than a slow one and both get an equally long sample. Also
 * holds the page-touch helper the single- and multi-thread large paths
 * share. */
#include "workloads.h"

#include <string.h>


/* Page size the touches assume (x86-64 base pages). */
#define WORKLOADS_PAGE_BYTES ((size_t)4096)

/* First calibration run of each family, in ops: about 1 ms with the slowest
 * allocator measured (glibc or jemalloc at 100-400 ns per churn pair,
 * mimalloc at 25 us per 20 MiB pair), so calibration never starts with a
 * long run; fast allocators reach a long enough run after a few doublings. */
#define FIRST_CHUNK_CHURN UINT64_C(4096)   /* pairs: 8-400 ns each */
#define FIRST_CHUNK_EMBEDDING UINT64_C(16) /* batches: 25-110 us each, fill included */
#define FIRST_CHUNK_MIXED UINT64_C(4096)   /* replacements: 10-250 ns each */
#define FIRST_CHUNK_LARGE UINT64_C(32)     /* 20 MiB pairs: 50 ns-30 us each */
#define FIRST_CHUNK_HANDOFF UINT64_C(4096) /* messages: 100-500 ns each */

#define CHURN_ROW(bytes)                                                                     \
    {"same_thread_small_churn_" #bytes, "pair", bytes, FIRST_CHUNK_CHURN, single_setup_churn, \
     single_run_churn_ns, single_teardown}

const struct workload workloads_table[] = {
    CHURN_ROW(32),
    CHURN_ROW(64),
    CHURN_ROW(65),
    CHURN_ROW(4096),
    CHURN_ROW(70000),
    {"embedding_batch", "batch", 0, FIRST_CHUNK_EMBEDDING, single_setup_embedding,
     single_run_embedding_ns, single_teardown},
    {"mixed_size_churn", "replacement", 0, FIRST_CHUNK_MIXED, single_setup_mixed, single_run_mixed_ns,
     single_teardown_mixed},
    {"large_path", "pair", WORKLOADS_LARGE_REQUEST_BYTES, FIRST_CHUNK_LARGE, single_setup_churn,
     single_run_large_ns, single_teardown},
    {"concurrent_large_4x", "pair", WORKLOADS_LARGE_REQUEST_BYTES, FIRST_CHUNK_LARGE,
     threaded_setup_large_4x, threaded_run_ns, threaded_teardown},
    {"long_lived_handoff", "message", 0, FIRST_CHUNK_HANDOFF, threaded_setup_handoff_1x, threaded_run_ns,
     threaded_teardown},
    {"long_lived_handoff_4x", "message", 0, FIRST_CHUNK_HANDOFF, threaded_setup_handoff_4x,
     threaded_run_ns, threaded_teardown},
};

const size_t workloads_count = sizeof workloads_table / sizeof workloads_table[0];

const struct workload *workloads_find(const char *name)
{
    for (size_t i = 0; i < workloads_count; i++)
        if (strcmp(workloads_table[i].name, name) == 0)
            return &workloads_table[i];
    return NULL;
}

void workloads_touch_large(unsigned char *p, uint64_t stamp)
{
    const size_t stride_bytes = WORKLOADS_LARGE_REQUEST_BYTES / WORKLOADS_LARGE_TOUCH_PAGES;
    for (unsigned i = 0; i < WORKLOADS_LARGE_TOUCH_PAGES; i++) {
        /* The last touch lands in the block's final page, so a block shorter
         * than requested would fault here. */
        size_t offset = i + 1 == WORKLOADS_LARGE_TOUCH_PAGES
                            ? WORKLOADS_LARGE_REQUEST_BYTES - WORKLOADS_PAGE_BYTES
                            : i * stride_bytes;
        ((volatile unsigned char *)p)[offset] = (unsigned char)(stamp + i);
    }
}
