/* single.c - the single-thread workloads: same-thread churn at one size,
 * the embedding batch, mixed-size churn over a ring of live blocks, and the
 * 20 MiB large path. Each timed loop calls only the allocator under test
 * (bench_api.h) and touches what it allocated; everything else (state,
 * size tables, pre-filling the ring) happens in setup, untimed. State comes
 * from the process's own malloc, never from the API under test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_api.h"
#include "measure.h"
#include "workloads.h"

/* Embedding batch: a typical inference micro-batch of 64 vectors of 768
 * floats (BERT-base's hidden size): 3072 bytes each, plus one 64 x 768
 * float output buffer (192 KiB). */
#define EMBED_BATCH_VECTORS 64
#define EMBED_DIM_FLOATS 768
/* Factor the "layer" applies to each input: any cheap arithmetic that makes
 * the output depend on every input element. */
#define EMBED_LAYER_SCALE 0.5f

/* Mixed churn: live blocks in the ring (a power of two, for masking). With
 * the size distribution below this keeps a few MiB live. */
#define MIXED_RING_SLOTS 256u
/* Precomputed request sizes (a power of two); the size sequence repeats
 * after this many replacements, against a ring of a different length, so
 * slot and size pairings vary. */
#define MIXED_SIZE_TABLE 4096u
/* Request range: from below the smallest class to above 64 KiB (the 70000
 * bytes of the Rust suite, orthotope's 128 KiB class). */
#define MIXED_MIN_BYTES 16u
#define MIXED_MAX_BYTES 70000u
/* log2 of the smallest power-of-two bucket (16 bytes) and number of
 * buckets: sizes are drawn log-uniformly from [16, 2^17), redrawn above the
 * maximum, so small classes get as many requests as large ones. */
#define MIXED_MIN_SHIFT 4u
#define MIXED_BUCKETS 13u
/* Fixed PRNG seed ("orthotop" in ASCII) so every allocator and every run
 * sees the same request sequence. */
#define MIXED_SEED UINT64_C(0x6f7274686f746f70)

/* State of the fixed-size workloads (churn, large path). */
struct single_fixed {
    size_t size_bytes; /* request size */
};

struct single_embedding {
    float *inputs[EMBED_BATCH_VECTORS]; /* this batch's input vectors */
};

struct single_mixed {
    void *ring[MIXED_RING_SLOTS];         /* live blocks */
    uint32_t sizes[MIXED_SIZE_TABLE];     /* request sequence, bytes */
    uint64_t cursor;                      /* replacements so far, across runs */
};

/* splitmix64: a tiny, well-mixed PRNG; only its determinism matters here. */
static uint64_t single_next_random(uint64_t *seed)
{
    uint64_t z = (*seed += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void *single_calloc_state(size_t bytes, const char *name)
{
    void *state = calloc(1, bytes);
    if (state == NULL)
        fprintf(stderr, "ortho-bench: %s: cannot allocate %zu bytes of workload state\n", name,
                bytes);
    return state;
}

void *single_setup_churn(const struct workload *w)
{
    struct single_fixed *s = single_calloc_state(sizeof *s, w->name);
    if (s != NULL)
        s->size_bytes = w->size_bytes;
    return s;
}

uint64_t single_run_churn_ns(void *state, uint64_t ops)
{
    const size_t size_bytes = ((struct single_fixed *)state)->size_bytes;
    uint64_t start_ns = measure_now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        unsigned char *p = bench_api_alloc(size_bytes);
        *(volatile unsigned char *)p = (unsigned char)i;
        measure_escape(p);
        bench_api_free(p);
    }
    return measure_now_ns() - start_ns;
}

uint64_t single_run_large_ns(void *state, uint64_t ops)
{
    const size_t size_bytes = ((struct single_fixed *)state)->size_bytes;
    uint64_t start_ns = measure_now_ns();
    for (uint64_t i = 0; i < ops; i++) {
        unsigned char *p = bench_api_alloc(size_bytes);
        workloads_touch_large(p, i);
        measure_escape(p);
        bench_api_free(p);
    }
    return measure_now_ns() - start_ns;
}

void *single_setup_embedding(const struct workload *w)
{
    return single_calloc_state(sizeof(struct single_embedding), w->name);
}

uint64_t single_run_embedding_ns(void *state, uint64_t ops)
{
    struct single_embedding *s = state;
    const size_t vector_bytes = EMBED_DIM_FLOATS * sizeof(float);
    const size_t output_bytes = (size_t)EMBED_BATCH_VECTORS * vector_bytes;
    uint64_t checksum = 0;
    uint64_t start_ns = measure_now_ns();
    for (uint64_t batch = 0; batch < ops; batch++) {
        const float base = (float)(batch & 0xff); /* varies per batch, stays exact */
        for (unsigned v = 0; v < EMBED_BATCH_VECTORS; v++) {
            float *in = bench_api_alloc(vector_bytes);
            for (unsigned d = 0; d < EMBED_DIM_FLOATS; d++)
                in[d] = base + (float)d;
            s->inputs[v] = in;
        }
        float *out = bench_api_alloc(output_bytes);
        for (unsigned v = 0; v < EMBED_BATCH_VECTORS; v++) {
            const float *in = s->inputs[v];
            float *row = out + (size_t)v * EMBED_DIM_FLOATS;
            for (unsigned d = 0; d < EMBED_DIM_FLOATS; d++)
                row[d] = in[d] * EMBED_LAYER_SCALE + (float)v;
        }
        measure_escape(out);
        checksum += (uint64_t)out[(batch % EMBED_BATCH_VECTORS) * EMBED_DIM_FLOATS +
                                  batch % EMBED_DIM_FLOATS];
        for (unsigned v = 0; v < EMBED_BATCH_VECTORS; v++)
            bench_api_free(s->inputs[v]);
        bench_api_free(out);
    }
    uint64_t elapsed_ns = measure_now_ns() - start_ns;
    measure_consume(checksum);
    return elapsed_ns;
}

void *single_setup_mixed(const struct workload *w)
{
    struct single_mixed *s = single_calloc_state(sizeof *s, w->name);
    if (s == NULL)
        return NULL;
    uint64_t seed = MIXED_SEED;
    for (unsigned i = 0; i < MIXED_SIZE_TABLE; i++) {
        uint64_t size_bytes;
        do {
            uint64_t r = single_next_random(&seed);
            unsigned shift = MIXED_MIN_SHIFT + (unsigned)(r % MIXED_BUCKETS);
            uint64_t bucket_bytes = UINT64_C(1) << shift;
            size_bytes = bucket_bytes + (r >> 32) % bucket_bytes;
        } while (size_bytes > MIXED_MAX_BYTES);
        s->sizes[i] = (uint32_t)size_bytes;
    }
    for (unsigned i = 0; i < MIXED_RING_SLOTS; i++) {
        unsigned char *p = bench_api_alloc(s->sizes[i]);
        p[0] = (unsigned char)i;
        s->ring[i] = p;
    }
    s->cursor = MIXED_RING_SLOTS;
    return s;
}

uint64_t single_run_mixed_ns(void *state, uint64_t ops)
{
    struct single_mixed *s = state;
    uint64_t cursor = s->cursor;
    uint64_t start_ns = measure_now_ns();
    for (uint64_t i = 0; i < ops; i++, cursor++) {
        void **slot = &s->ring[cursor & (MIXED_RING_SLOTS - 1)];
        bench_api_free(*slot);
        unsigned char *p = bench_api_alloc(s->sizes[cursor & (MIXED_SIZE_TABLE - 1)]);
        *(volatile unsigned char *)p = (unsigned char)cursor;
        *slot = p;
    }
    uint64_t elapsed_ns = measure_now_ns() - start_ns;
    s->cursor = cursor;
    return elapsed_ns;
}

void single_teardown_mixed(void *state)
{
    struct single_mixed *s = state;
    for (unsigned i = 0; i < MIXED_RING_SLOTS; i++)
        bench_api_free(s->ring[i]);
    free(s);
}

void single_teardown(void *state)
{
    free(state);
}
