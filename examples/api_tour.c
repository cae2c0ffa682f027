/* api_tour.c - the C API in one page: the global allocator, checked frees
 * with their status codes, an over-aligned block, the large path, a private
 * allocator instance with its own thread cache, and the stats snapshot.
 * Run it: ./build/examples/ortho-api-tour */
#include <orthotope.h>
#include <stdio.h>
#include <string.h>

/* A small "tensor": rows x cols floats in one 64-byte aligned block. */
static float *tensor_new(size_t rows, size_t cols)
{
    float *t = ortho_alloc(rows * cols * sizeof(float));
    if (t == NULL) {
        fprintf(stderr, "api_tour: allocation failed: %s\n", ortho_strerror(ortho_last_status()));
        return NULL;
    }
    memset(t, 0, rows * cols * sizeof(float));
    return t;
}

static void print_class_table(const ortho_stats_t *stats)
{
    printf("%-6s %10s %8s %8s %8s %14s\n", "class", "payload", "live", "cached", "pooled",
           "requested");
    for (unsigned cls = 0; cls < ORTHO_CLASS_COUNT; cls++) {
        const ortho_class_stats_t *c = &stats->classes[cls];
        if (c->carved_blocks == 0)
            continue;
        printf("%-6s %10zu %8llu %8llu %8llu %14llu\n", ortho_class_name(cls), c->payload_bytes,
               (unsigned long long)c->live_blocks, (unsigned long long)c->cached_blocks,
               (unsigned long long)c->pool_blocks, (unsigned long long)c->live_requested_bytes);
    }
    printf("large: %llu live, %llu bytes requested\n",
           (unsigned long long)stats->large_live_blocks,
           (unsigned long long)stats->large_live_requested_bytes);
}

int main(void)
{
    printf("orthotope %s (runtime %u)\n", ORTHO_VERSION_STRING, ortho_version());

    /* Global allocator: every block is 64-byte aligned. */
    float *activations = tensor_new(32, 768);     /* 96 KiB -> class B128K */
    float *small = tensor_new(1, 10);             /* 40 B -> class B64 */
    void *page = ortho_alloc_aligned(5000, 4096); /* over-aligned */
    void *huge = ortho_alloc((size_t)20 << 20);   /* > 16 MiB: large path */
    if (!activations || !small || !page || !huge)
        return 1;
    printf("activations: %zu usable bytes, class %s\n", ortho_usable_size(activations),
           ortho_class_name(ortho_class_of(32 * 768 * sizeof(float))));

    ortho_stats_t stats;
    ortho_stats(&stats);
    print_class_table(&stats);

    /* Frees are validated: a second free is refused, not obeyed. */
    printf("free small: %s\n", ortho_status_name(ortho_free(small)));
    printf("free small again: %s (%s)\n", ortho_status_name(ortho_free(small)),
           ortho_strerror(ORTHO_E_DOUBLE_FREE));
    printf("sized free with the wrong size: %s\n",
           ortho_status_name(ortho_free_sized(activations, 1)));
    ortho_free_sized(activations, 32 * 768 * sizeof(float));
    ortho_free(page);
    ortho_free(huge);

    /* A private instance with a small arena and its own cache. */
    ortho_config_t config;
    ortho_config_default(&config);
    config.arena_region_bytes = (size_t)64 << 20;
    config.arena_max_regions = 1;
    ortho_allocator_t *arena;
    ortho_cache_t *cache;
    if (ortho_allocator_create(&config, &arena) != ORTHO_OK ||
        ortho_cache_create(arena, &cache) != ORTHO_OK)
        return 1;
    size_t served = 0;
    while (ortho_cache_alloc(cache, (size_t)1 << 20) != NULL)
        served++;
    printf("a 64 MiB instance served %zu blocks of 1 MiB, then: %s\n", served,
           ortho_strerror(ortho_last_status()));
    ortho_cache_destroy(cache);
    ortho_allocator_destroy(arena);

    printf("trim returned %zu bytes to the OS\n", ortho_trim());
    return 0;
}
