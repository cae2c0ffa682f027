/* tensor_pipeline.c - a small MLP inference over batches, the allocation
 * pattern of an inference server: every layer allocates its output
 * activations, the previous layer's are freed, and each batch also makes a
 * large scratch buffer (> 16 MiB, the large path). Uses the C API; prints
 * a checksum of the logits (deterministic) and the allocator's view at
 * the end. Run: ./build/examples/ortho-tensor-pipeline [batches] */
#include <orthotope.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_BATCH_ROWS 32
#define PIPELINE_LAYERS 4
static const size_t pipeline_widths[PIPELINE_LAYERS + 1] = {256, 512, 512, 256, 10};
/* A 20 MiB scratch per batch: attention-style temporaries take the large path. */
#define PIPELINE_SCRATCH_BYTES ((size_t)20 << 20)

typedef struct {
    size_t rows, cols; /* shape */
    float *data;       /* rows * cols, 64-byte aligned */
} tensor_t;

static int tensor_make(tensor_t *t, size_t rows, size_t cols)
{
    t->rows = rows;
    t->cols = cols;
    t->data = ortho_alloc(rows * cols * sizeof(float));
    return t->data != NULL ? 0 : -1;
}

static void tensor_drop(tensor_t *t)
{
    ortho_status_t status = ortho_free_sized(t->data, t->rows * t->cols * sizeof(float));
    if (status != ORTHO_OK)
        fprintf(stderr, "tensor_pipeline: free failed: %s\n", ortho_strerror(status));
    t->data = NULL;
}

/* Deterministic weights in [-1/fan_in, 1/fan_in]: a cheap hash of the
 * position, scaled so activations stay in range layer after layer. */
static float pipeline_weight(size_t layer, size_t i, size_t j, size_t fan_in)
{
    unsigned x = (unsigned)(layer * 2654435761u ^ i * 40503u ^ j * 9973u);
    return (float)((int)(x % 2001) - 1000) / (1000.0f * (float)fan_in);
}

/* out = relu(in x W(layer)) */
static int pipeline_layer(const tensor_t *in, size_t layer, tensor_t *out)
{
    if (tensor_make(out, in->rows, pipeline_widths[layer + 1]) != 0)
        return -1;
    for (size_t r = 0; r < in->rows; r++) {
        for (size_t c = 0; c < out->cols; c++) {
            float sum = 0.0f;
            for (size_t k = 0; k < in->cols; k++)
                sum += in->data[r * in->cols + k] * pipeline_weight(layer, k, c, in->cols);
            out->data[r * out->cols + c] = sum > 0.0f ? sum : 0.0f;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int batches = argc > 1 ? atoi(argv[1]) : 20;
    double checksum = 0.0;
    for (int b = 0; b < batches; b++) {
        tensor_t x;
        if (tensor_make(&x, PIPELINE_BATCH_ROWS, pipeline_widths[0]) != 0)
            return 1;
        for (size_t i = 0; i < x.rows * x.cols; i++)
            x.data[i] = (float)((i * 7 + (size_t)b) % 13) / 13.0f;
        char *scratch = ortho_alloc(PIPELINE_SCRATCH_BYTES);
        if (scratch == NULL)
            return 1;
        memset(scratch, b, 4096);
        for (size_t layer = 0; layer < PIPELINE_LAYERS; layer++) {
            tensor_t y;
            if (pipeline_layer(&x, layer, &y) != 0)
                return 1;
            tensor_drop(&x);
            x = y;
        }
        for (size_t i = 0; i < x.rows * x.cols; i++)
            checksum += x.data[i];
        tensor_drop(&x);
        ortho_free(scratch);
    }
    printf("logits checksum %.4f over %d batches\n", checksum, batches);
    ortho_stats_t stats;
    ortho_stats(&stats);
    printf("live requested bytes %llu, large mappings kept for reuse %llu\n",
           (unsigned long long)stats.live_requested_bytes,
           (unsigned long long)stats.large_free_blocks);
    return 0;
}
