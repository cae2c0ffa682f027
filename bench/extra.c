/* extra.c - workloads of ours, under names the crate does not use, kept
 * because they show what its suite does not:
 *   mixed_ring_256      a live set: 256 blocks of log-uniform sizes
 *                       (16..70000 bytes, fixed seed) replaced oldest first,
 *                       so frees do not come back in the reverse order of
 *                       the allocations (the crate's rounds are LIFO);
 *   large_path_touched  the crate's 20 MiB large path, but writing 4 pages
 *                       of every block, so an allocator that hands back
 *                       fresh (unmapped or madvised) memory pays its faults;
 *   handoff_queue(_4x)  the handoff through a 256-slot queue instead of a
 *                       rendezvous: the producer runs ahead, so the figure
 *                       is the cross-thread free path's throughput rather
 *                       than two thread wake-ups per message.
 * Same sample structure as crate.c; these loops write into their blocks.
 * The handoff's pairs live in handoff.c, shared with the crate's. */

#include "bench_api.h"
#include "handoff.h"
#include "measure.h"
#include "workloads.h"

/* mixed_ring_256: live blocks (a power of two, for masking). */
#define EXTRA_RING_SLOTS 256u
/* Precomputed request sizes (a power of two); the sequence repeats after
 * this many replacements, against a ring of a different length, so slot and
 * size pairings vary. */
#define EXTRA_RING_SIZES 4096u
/* Sizes are drawn log-uniformly from [2^4, 2^17) and redrawn above 70000
 * bytes (the crate's largest small request), so small classes get as many
 * requests as large ones. */
#define EXTRA_RING_MIN_SHIFT 4u
#define EXTRA_RING_BUCKETS 13u
#define EXTRA_RING_MAX_BYTES 70000u
/* Fixed PRNG seed ("orthotop" in ASCII): every allocator, every run sees
 * the same request sequence. */
#define EXTRA_RING_SEED UINT64_C(0x6f7274686f746f70)

/* large_path_touched: pages written per block, evenly spaced, the last in
 * the block's final page (a short block would fault there). */
#define EXTRA_TOUCH_PAGES 4u
#define EXTRA_PAGE_BYTES ((size_t)4096)

/* handoff_queue_4x: pairs. */
#define EXTRA_HANDOFF_4X_PAIRS 4

/* The ring's state: static, never from the allocator under test. */
static struct {
    void *blocks[EXTRA_RING_SLOTS];   /* live blocks */
    uint32_t sizes[EXTRA_RING_SIZES]; /* request sequence, bytes */
    int sizes_ready;                  /* sizes filled (once per process) */
} extra_ring;

/* splitmix64: a tiny, well-mixed PRNG; only its determinism matters. */
static uint64_t extra_next_random(uint64_t *seed)
{
    uint64_t z = (*seed += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void extra_ring_fill_sizes(void)
{
    uint64_t seed = EXTRA_RING_SEED;
    for (unsigned i = 0; i < EXTRA_RING_SIZES; i++) {
        uint64_t size_bytes;
        do {
            uint64_t r = extra_next_random(&seed);
            uint64_t bucket_bytes = UINT64_C(1) << (EXTRA_RING_MIN_SHIFT + r % EXTRA_RING_BUCKETS);
            size_bytes = bucket_bytes + (r >> 32) % bucket_bytes;
        } while (size_bytes > EXTRA_RING_MAX_BYTES);
        extra_ring.sizes[i] = (uint32_t)size_bytes;
    }
    extra_ring.sizes_ready = 1;
}

__attribute__((noinline, noclone)) static void extra_loop_ring(struct bench_route *r, uint64_t n)
{
    for (uint64_t i = EXTRA_RING_SLOTS; i < EXTRA_RING_SLOTS + n; i++) {
        void **slot = &extra_ring.blocks[i & (EXTRA_RING_SLOTS - 1)];
        bench_api_free(r, *slot, extra_ring.sizes[(i - EXTRA_RING_SLOTS) & (EXTRA_RING_SIZES - 1)]);
        unsigned char *p = bench_api_alloc(r, extra_ring.sizes[i & (EXTRA_RING_SIZES - 1)]);
        *(volatile unsigned char *)p = (unsigned char)i;
        *slot = p;
    }
}

uint64_t extra_sample_mixed_ring_ns(const struct workload *w, uint64_t iterations)
{
    (void)w;
    struct bench_route route;
    if (!extra_ring.sizes_ready)
        extra_ring_fill_sizes();
    bench_api_sample_begin();
    bench_api_route_open(&route);
    for (unsigned i = 0; i < EXTRA_RING_SLOTS; i++)
        extra_ring.blocks[i] = bench_api_alloc(&route, extra_ring.sizes[i]);
    uint64_t start_ns = measure_now_ns();
    extra_loop_ring(&route, iterations);
    uint64_t elapsed_ns = measure_now_ns() - start_ns;
    /* Slot s now holds the block of the last replacement i with
     * i % SLOTS == s; its size index is i % SIZES. */
    for (uint64_t i = iterations; i < iterations + EXTRA_RING_SLOTS; i++)
        bench_api_free(&route, extra_ring.blocks[i & (EXTRA_RING_SLOTS - 1)],
                       extra_ring.sizes[i & (EXTRA_RING_SIZES - 1)]);
    bench_api_route_close(&route);
    bench_api_sample_end();
    return elapsed_ns;
}

uint64_t extra_sample_large_touched_ns(const struct workload *w, uint64_t iterations)
{
    const size_t stride_bytes = w->size_bytes / EXTRA_TOUCH_PAGES;
    struct bench_route route;
    bench_api_sample_begin();
    bench_api_route_open(&route);
    uint64_t start_ns = measure_now_ns();
    for (uint64_t i = 0; i < iterations; i++) {
        volatile unsigned char *p = bench_api_alloc(&route, w->size_bytes);
        for (unsigned k = 0; k + 1 < EXTRA_TOUCH_PAGES; k++)
            p[k * stride_bytes] = (unsigned char)(i + k);
        p[w->size_bytes - EXTRA_PAGE_BYTES] = (unsigned char)i;
        bench_api_free(&route, (void *)p, w->size_bytes);
    }
    uint64_t elapsed_ns = measure_now_ns() - start_ns;
    bench_api_route_close(&route);
    bench_api_sample_end();
    return elapsed_ns;
}

uint64_t extra_sample_handoff_queue_ns(const struct workload *w, uint64_t iterations)
{
    (void)w;
    return handoff_sample_ns(1, iterations, HANDOFF_QUEUE);
}

uint64_t extra_sample_handoff_queue_4x_ns(const struct workload *w, uint64_t iterations)
{
    (void)w;
    return handoff_sample_ns(EXTRA_HANDOFF_4X_PAIRS, iterations, HANDOFF_QUEUE);
}
