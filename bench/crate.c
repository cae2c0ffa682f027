/* crate.c - the workloads of the Rust crate orthotope's benchmark
 * (erayack/orthotope, bench/src/lib.rs), reproduced from their definitions:
 * the same constants, the same order of allocations and frees, nothing
 * written into the blocks (the crate only passes them to black_box, which
 * measure_escape stands for here), one sample timed as a whole. Each
 * sample sets up its route (and under ortho-cache a fresh instance, as the
 * crate builds a new Allocator per sample) before the clock starts. The
 * timed loops are separate non-inlined functions named crate_loop_*, so
 * callgrind can count exactly their instructions (--toggle-collect). The
 * handoff's pairs live in handoff.c, shared with ours. */
#include "bench_api.h"
#include "crew.h"
#include "handoff.h"
#include "measure.h"
#include "workloads.h"

/* EMBEDDING_BATCH_SIZE and EMBEDDING_BYTES (1,536 f32) of the crate. */
#define CRATE_EMBEDDING_BATCH 8
#define CRATE_EMBEDDING_BYTES ((size_t)1536 * sizeof(float))
/* MIXED_SIZES of the crate, allocated in this order, freed in reverse. */
static const size_t crate_mixed_sizes[] = {32, 64, 65, 128, 512, 4096, 16384, 70000};
#define CRATE_MIXED_COUNT (sizeof crate_mixed_sizes / sizeof crate_mixed_sizes[0])
/* CONCURRENT_LARGE_4X_THREADS and LONG_LIVED_HANDOFF_4X_PAIRS. */
#define CRATE_LARGE_THREADS 4
#define CRATE_HANDOFF_4X_PAIRS 4

/* Loops are kept out of line and uncloned: callgrind counts them by name. */
#define CRATE_LOOP __attribute__((noinline, noclone))

CRATE_LOOP static void crate_loop_churn(struct bench_route *r, size_t size_bytes, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = bench_api_alloc(r, size_bytes);
        measure_escape(p);
        bench_api_free(r, p, size_bytes);
    }
}

CRATE_LOOP static void crate_loop_embedding(struct bench_route *r, size_t size_bytes, uint64_t n)
{
    (void)size_bytes; /* EMBEDDING_BYTES */
    void *batch[CRATE_EMBEDDING_BATCH];
    for (uint64_t i = 0; i < n; i++) {
        for (unsigned v = 0; v < CRATE_EMBEDDING_BATCH; v++)
            batch[v] = bench_api_alloc(r, CRATE_EMBEDDING_BYTES);
        measure_escape(batch);
        for (unsigned v = CRATE_EMBEDDING_BATCH; v-- > 0;) /* Vec::pop: last first */
            bench_api_free(r, batch[v], CRATE_EMBEDDING_BYTES);
    }
}

CRATE_LOOP static void crate_loop_mixed(struct bench_route *r, size_t size_bytes, uint64_t n)
{
    (void)size_bytes; /* MIXED_SIZES */
    void *live[CRATE_MIXED_COUNT];
    for (uint64_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < CRATE_MIXED_COUNT; k++)
            live[k] = bench_api_alloc(r, crate_mixed_sizes[k]);
        measure_escape(live);
        for (unsigned k = CRATE_MIXED_COUNT; k-- > 0;)
            bench_api_free(r, live[k], crate_mixed_sizes[k]);
    }
}

/* The signature every single-thread loop shares (size unused by some). */
typedef void (*crate_loop_fn)(struct bench_route *r, size_t size_bytes, uint64_t n);

/* One single-thread sample of `loop`: instance and route are made before
 * the clock starts and released after it stops, as the crate's
 * with_backend does around its timed closure. */
static uint64_t crate_single_ns(crate_loop_fn loop, size_t size_bytes, uint64_t iterations)
{
    struct bench_route route;
    bench_api_sample_begin();
    bench_api_route_open(&route);
    uint64_t start_ns = measure_now_ns();
    loop(&route, size_bytes, iterations);
    uint64_t elapsed_ns = measure_now_ns() - start_ns;
    bench_api_route_close(&route);
    bench_api_sample_end();
    return elapsed_ns;
}

uint64_t crate_sample_churn_ns(const struct workload *w, uint64_t iterations)
{
    return crate_single_ns(crate_loop_churn, w->size_bytes, iterations);
}

uint64_t crate_sample_large_ns(const struct workload *w, uint64_t iterations)
{
    /* run_large_path is the churn loop at LARGE_REQUEST_BYTES. */
    return crate_single_ns(crate_loop_churn, w->size_bytes, iterations);
}

uint64_t crate_sample_embedding_ns(const struct workload *w, uint64_t iterations)
{
    return crate_single_ns(crate_loop_embedding, w->size_bytes, iterations);
}

uint64_t crate_sample_mixed_ns(const struct workload *w, uint64_t iterations)
{
    return crate_single_ns(crate_loop_mixed, w->size_bytes, iterations);
}

/* ---- multi-thread ------------------------------------------------------- */

struct crate_large_job {
    size_t size_bytes;   /* LARGE_REQUEST_BYTES */
    uint64_t iterations; /* all threads together */
};

static void crate_large_task(void *arg, unsigned index, struct bench_route *route)
{
    const struct crate_large_job *job = arg;
    crate_loop_churn(route, job->size_bytes,
                     crew_share(job->iterations, CRATE_LARGE_THREADS, index));
}

uint64_t crate_sample_concurrent_large_ns(const struct workload *w, uint64_t iterations)
{
    /* The crate gives each of the 4 threads CONCURRENT_LARGE_ITERATIONS / 4
     * and divides the wall time by CONCURRENT_LARGE_ITERATIONS. */
    struct crate_large_job job = {w->size_bytes, iterations};
    bench_api_sample_begin();
    uint64_t elapsed_ns = crew_run_ns(CRATE_LARGE_THREADS, crate_large_task, &job);
    bench_api_sample_end();
    return elapsed_ns;
}

uint64_t crate_sample_handoff_ns(const struct workload *w, uint64_t iterations)
{
    (void)w;
    return handoff_sample_ns(1, iterations, HANDOFF_RENDEZVOUS);
}

uint64_t crate_sample_handoff_4x_ns(const struct workload *w, uint64_t iterations)
{
    (void)w;
    return handoff_sample_ns(CRATE_HANDOFF_4X_PAIRS, iterations, HANDOFF_RENDEZVOUS);
}
