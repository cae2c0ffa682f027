/* clock_cost.c - what one clock reading costs inside code whose loads miss
 * the cache, the situation of a traced free in perl or jq. Each iteration
 * makes one load from a random place in a large array (independent of the
 * previous one, so the CPU can keep many in flight) and then, depending on
 * the column, nothing, one rdtsc, one clock_gettime(CLOCK_MONOTONIC) or one
 * clock_gettime(CLOCK_MONOTONIC_COARSE). The same again with an array that
 * fits in the first-level cache shows the reading's own cost. Prints the
 * median ns per iteration of 5 runs of each, interleaved. This is why the
 * tracer reads its clock for one record in 16 (tracer/stamp.h).
 *
 * Usage: clock-cost [MIB]   (array size for the missing loads, default 256) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CLOCK_COST_HAVE_TSC 1
#else
#define CLOCK_COST_HAVE_TSC 0
#endif

#define CLOCK_COST_ITERATIONS 4000000L
#define CLOCK_COST_RUNS 5
#define CLOCK_COST_SMALL_WORDS 2048u /* 16 KiB: stays in the first-level cache */

enum reading { READ_NONE, READ_TSC, READ_MONOTONIC, READ_COARSE, READINGS };
static const char *const reading_names[READINGS] = {"no reading", "rdtsc", "CLOCK_MONOTONIC",
                                                    "CLOCK_MONOTONIC_COARSE"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t clock_cost_sink;

/* ns per iteration of the loop over `words` words (a power of two). */
static double clock_cost_run(const uint64_t *array, size_t words, enum reading reading)
{
    uint64_t x = 0x9e3779b97f4a7c15ull, sum = 0, stamp = 0;
    double start = now_s();
    for (long i = 0; i < CLOCK_COST_ITERATIONS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        sum += array[(x >> 17) & (words - 1)];
        struct timespec ts;
        switch (reading) {
        case READ_TSC:
#if CLOCK_COST_HAVE_TSC
            stamp += __rdtsc();
#endif
            break;
        case READ_MONOTONIC:
            clock_gettime(CLOCK_MONOTONIC, &ts);
            stamp += (uint64_t)ts.tv_nsec;
            break;
        case READ_COARSE:
            clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
            stamp += (uint64_t)ts.tv_nsec;
            break;
        default:
            break;
        }
    }
    double elapsed = now_s() - start;
    clock_cost_sink = sum + stamp;
    return elapsed * 1e9 / (double)CLOCK_COST_ITERATIONS;
}

static int clock_cost_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t words = 1;
    while (words * 2 <= mib * 1024 * 1024 / sizeof(uint64_t))
        words *= 2;
    if (mib == 0 || words < CLOCK_COST_SMALL_WORDS) {
        fprintf(stderr, "clock-cost: the array must be at least 1 MiB (got %s)\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    uint64_t *big = mmap(NULL, words * sizeof *big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        perror("clock-cost: mmap");
        return 1;
    }
    for (size_t i = 0; i < words; i++)
        big[i] = i;
    static uint64_t small[CLOCK_COST_SMALL_WORDS];
    for (size_t i = 0; i < CLOCK_COST_SMALL_WORDS; i++)
        small[i] = i;
    double results[2][READINGS][CLOCK_COST_RUNS];
    for (int run = 0; run < CLOCK_COST_RUNS; run++)
        for (int r = 0; r < READINGS; r++) {
            if (r == READ_TSC && !CLOCK_COST_HAVE_TSC)
                continue;
            results[0][r][run] = clock_cost_run(big, words, (enum reading)r);
            results[1][r][run] = clock_cost_run(small, CLOCK_COST_SMALL_WORDS, (enum reading)r);
        }
    printf("| reading after each load | ns/iteration, loads missing the cache (%zu MiB) | ns/iteration, loads hitting it (16 KiB) |\n",
           words * sizeof(uint64_t) >> 20);
    printf("| --- | ---: | ---: |\n");
    for (int r = 0; r < READINGS; r++) {
        if (r == READ_TSC && !CLOCK_COST_HAVE_TSC)
            continue;
        qsort(results[0][r], CLOCK_COST_RUNS, sizeof(double), clock_cost_compare);
        qsort(results[1][r], CLOCK_COST_RUNS, sizeof(double), clock_cost_compare);
        printf("| %s | %.1f | %.1f |\n", reading_names[r], results[0][r][CLOCK_COST_RUNS / 2],
               results[1][r][CLOCK_COST_RUNS / 2]);
    }
    munmap(big, words * sizeof *big);
    return 0;
}
