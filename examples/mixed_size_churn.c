/* mixed_size_churn.c - where the bytes go when request sizes are all over
 * the place. A ring of 256 live blocks is churned through the C API: each
 * operation frees the oldest block and allocates a new one whose size is
 * drawn log-uniformly from 16 B to 70000 B (as many 16-32 B requests as
 * 32-64 KiB ones; fixed seed, so every run draws the same sizes). At the
 * end it prints, from ortho_stats, one row per size class holding live
 * blocks: the blocks, the bytes the program asked for, the bytes the class
 * hands out, and the difference as a share of the latter, which is the
 * internal fragmentation of that class; then the totals. A request just
 * above a class boundary (4097 B in the 6 KiB class) shows up here as waste.
 * Run: ./build/examples/ortho-mixed-size-churn [ops] (default 200000). */
#include "example_args.h"

#include <math.h>
#include <orthotope.h>
#include <stdint.h>
#include <stdio.h>

#define CHURN_RING 256          /* live blocks */
#define CHURN_MIN_BYTES 16.0
#define CHURN_MAX_BYTES 70000.0 /* the B128K class; nothing takes the large path */
#define CHURN_SEED 42
#define CHURN_DEFAULT_OPS 200000
#define CHURN_MAX_OPS 1000000000

typedef struct {
    unsigned char *data; /* NULL while the slot is empty */
    size_t size_bytes;   /* requested */
} churn_slot_t;

/* xorshift64*: a small generator with a fixed seed, so the sizes repeat. */
static uint64_t churn_rng = CHURN_SEED;

static double churn_uniform(void)
{
    churn_rng ^= churn_rng >> 12;
    churn_rng ^= churn_rng << 25;
    churn_rng ^= churn_rng >> 27;
    return (double)((churn_rng * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53; /* [0, 1) */
}

/* A size whose logarithm is uniform between the two bounds. */
static size_t churn_size(void)
{
    double lo = log(CHURN_MIN_BYTES), hi = log(CHURN_MAX_BYTES);
    size_t size = (size_t)exp(lo + churn_uniform() * (hi - lo));
    return size < (size_t)CHURN_MIN_BYTES ? (size_t)CHURN_MIN_BYTES : size;
}

static double waste_pct(unsigned long long requested, unsigned long long usable)
{
    return usable == 0 ? 0.0 : 100.0 * (double)(usable - requested) / (double)usable;
}

/* The per-class table of live blocks, then a totals row. Columns: class,
 * payload, live blocks, requested bytes, usable bytes, waste. */
static void churn_print_table(const ortho_stats_t *stats)
{
    unsigned long long blocks = 0, requested = 0, usable = 0;
    printf("%-6s %8s %6s %12s %12s %7s\n", "class", "payload", "live", "requested", "usable",
           "waste");
    for (unsigned cls = 0; cls < ORTHO_CLASS_COUNT; cls++) {
        const ortho_class_stats_t *c = &stats->classes[cls];
        if (c->live_blocks == 0)
            continue;
        printf("%-6s %8zu %6llu %12llu %12llu %6.1f%%\n", ortho_class_name(cls),
               c->payload_bytes, (unsigned long long)c->live_blocks,
               (unsigned long long)c->live_requested_bytes,
               (unsigned long long)c->live_usable_bytes,
               waste_pct(c->live_requested_bytes, c->live_usable_bytes));
        blocks += c->live_blocks;
        requested += c->live_requested_bytes;
        usable += c->live_usable_bytes;
    }
    printf("%-6s %8s %6llu %12llu %12llu %6.1f%%\n", "total", "-", blocks, requested, usable,
           waste_pct(requested, usable));
}

int main(int argc, char **argv)
{
    unsigned long ops = example_count_arg(argc, argv, "ortho-mixed-size-churn", "ops",
                                          CHURN_DEFAULT_OPS, CHURN_MAX_OPS);
    static churn_slot_t ring[CHURN_RING];
    for (unsigned long op = 0; op < ops; op++) {
        churn_slot_t *slot = &ring[op % CHURN_RING]; /* the oldest block */
        ortho_free_sized(slot->data, slot->size_bytes);
        slot->size_bytes = churn_size();
        slot->data = ortho_alloc(slot->size_bytes);
        if (slot->data == NULL) {
            fprintf(stderr, "ortho-mixed-size-churn: allocating %zu bytes failed: %s\n",
                    slot->size_bytes, ortho_strerror(ortho_last_status()));
            return 1;
        }
        /* Touch both ends, as a program filling the block would. */
        slot->data[0] = slot->data[slot->size_bytes - 1] = (unsigned char)op;
    }

    /* Snapshot before the first printf: stdio's buffer is a malloc too
     * (liborthotope is this process's malloc) and would join the table. */
    ortho_stats_t stats;
    ortho_stats(&stats);
    printf("mixed-size churn: %lu replacements in a ring of %d blocks, sizes %.0f-%.0f B "
           "log-uniform (seed %d)\n",
           ops, CHURN_RING, CHURN_MIN_BYTES, CHURN_MAX_BYTES, CHURN_SEED);
    churn_print_table(&stats);

    for (size_t i = 0; i < CHURN_RING; i++)
        ortho_free_sized(ring[i].data, ring[i].size_bytes);
    return 0;
}
