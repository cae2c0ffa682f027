/* embedding_batch.c - the batch loop of an embedding service on the C API:
 * each batch allocates 64 input vectors of 768 floats (3072 B each, class
 * B4K) and one 64 x 768 float output (192 KiB, class B256K), fills the
 * inputs, runs a cheap layer over them, and frees everything. The point is
 * what the allocator does with that: the first batch carves its blocks
 * from the arena, and every later batch gets the same blocks back from the
 * thread cache, so the arena never grows again. It prints a checksum of the
 * outputs (the same on every run) and, from ortho_stats, the blocks each
 * class carved after the first batch and at the end: the two columns are
 * equal. (A carve cuts a whole span into blocks at once, so the first batch
 * carves more blocks than it uses; the rest wait in the cache.)
 * Run: ./build/examples/ortho-embedding-batch [batches] (default 20). */
#include "example_args.h"

#include <orthotope.h>
#include <stdio.h>
#include <stdlib.h>

#define EMBED_ROWS 64          /* vectors per batch */
#define EMBED_DIM 768          /* floats per vector */
#define EMBED_DEFAULT_BATCHES 20
#define EMBED_MAX_BATCHES 100000

#define EMBED_INPUT_BYTES (EMBED_DIM * sizeof(float))               /* 3072 */
#define EMBED_OUTPUT_BYTES (EMBED_ROWS * EMBED_DIM * sizeof(float)) /* 196608 */

/* Deterministic layer parameters in [-0.5, 0.5): a cheap hash of the
 * position, so the checksum is the same on every run and machine. */
static float embed_param(unsigned salt, size_t j)
{
    unsigned x = (unsigned)(j * 2654435761u) ^ (salt * 40503u);
    return (float)(x % 1000) / 1000.0f - 0.5f;
}

/* The request's token features for vector `row` of batch `batch`. */
static void embed_fill(float *vec, int batch, size_t row)
{
    for (size_t j = 0; j < EMBED_DIM; j++)
        vec[j] = (float)((row * 31 + j * 7 + (size_t)batch) % 101) / 101.0f;
}

/* out_row = relu(scale * x + mix * x shifted by one + bias): a stand-in for
 * the model, cheap enough that the allocation pattern stays visible. */
static void embed_layer(const float *x, float *out_row)
{
    for (size_t j = 0; j < EMBED_DIM; j++) {
        float y = embed_param(1, j) * x[j] + embed_param(2, j) * x[(j + 1) % EMBED_DIM] +
                  embed_param(3, j);
        out_row[j] = y > 0.0f ? y : 0.0f;
    }
}

/* Runs one batch; adds the sum of its outputs to *checksum. Returns 0, or
 * -1 if an allocation failed (everything allocated so far is freed). */
static int embed_batch(int batch, double *checksum)
{
    float *inputs[EMBED_ROWS] = {0};
    float *output = ortho_alloc(EMBED_OUTPUT_BYTES);
    int status = output != NULL ? 0 : -1;
    for (size_t r = 0; r < EMBED_ROWS && status == 0; r++) {
        inputs[r] = ortho_alloc(EMBED_INPUT_BYTES);
        if (inputs[r] == NULL)
            status = -1;
        else
            embed_fill(inputs[r], batch, r);
    }
    if (status == 0) {
        for (size_t r = 0; r < EMBED_ROWS; r++)
            embed_layer(inputs[r], output + r * EMBED_DIM);
        for (size_t i = 0; i < EMBED_ROWS * EMBED_DIM; i++)
            *checksum += output[i];
    } else {
        fprintf(stderr, "ortho-embedding-batch: allocation failed in batch %d: %s\n", batch + 1,
                ortho_strerror(ortho_last_status()));
    }
    for (size_t r = 0; r < EMBED_ROWS; r++)
        ortho_free(inputs[r]); /* NULL is fine */
    ortho_free(output);
    return status;
}

static unsigned long long carved_in_all_classes(const ortho_stats_t *stats)
{
    unsigned long long sum = 0;
    for (unsigned cls = 0; cls < ORTHO_CLASS_COUNT; cls++)
        sum += stats->classes[cls].carved_blocks;
    return sum;
}

/* One row of the table: the class that serves `request_bytes`. */
static void embed_print_class(const ortho_stats_t *first, const ortho_stats_t *end,
                              size_t request_bytes, int per_batch)
{
    unsigned cls = ortho_class_of(request_bytes);
    printf("%-6s %9zu %9zu %6d %18llu %18llu %8llu\n", ortho_class_name(cls), request_bytes,
           ortho_class_payload(cls), per_batch,
           (unsigned long long)first->classes[cls].carved_blocks,
           (unsigned long long)end->classes[cls].carved_blocks,
           (unsigned long long)end->classes[cls].cached_blocks);
}

int main(int argc, char **argv)
{
    int batches = (int)example_count_arg(argc, argv, "ortho-embedding-batch", "batches",
                                         EMBED_DEFAULT_BATCHES, EMBED_MAX_BATCHES);
    double checksum = 0.0;
    ortho_stats_t after_first, at_end;
    for (int b = 0; b < batches; b++) {
        if (embed_batch(b, &checksum) != 0)
            return 1;
        if (b == 0)
            ortho_stats(&after_first);
    }
    /* Both snapshots are taken before the first printf: stdio's own buffer
     * is a malloc too (liborthotope is this process's malloc). */
    ortho_stats(&at_end);

    printf("embedding batch: %d batch%s of %d vectors x %d floats, checksum %.4f\n", batches,
           batches == 1 ? "" : "es", EMBED_ROWS, EMBED_DIM, checksum);
    printf("%-6s %9s %9s %6s %18s %18s %8s\n", "class", "request", "payload", "/batch",
           "carved at batch 1", "carved at the end", "cached");
    embed_print_class(&after_first, &at_end, EMBED_INPUT_BYTES, EMBED_ROWS);
    embed_print_class(&after_first, &at_end, EMBED_OUTPUT_BYTES, 1);
    if (batches > 1) {
        unsigned long long fresh = carved_in_all_classes(&at_end) -
                                   carved_in_all_classes(&after_first);
        printf("batches 2-%d: %d allocations, %llu new blocks carved%s\n", batches,
               (batches - 1) * (EMBED_ROWS + 1), fresh,
               fresh == 0 ? " (each reused a block an earlier batch freed)" : "");
    }
    return 0;
}
