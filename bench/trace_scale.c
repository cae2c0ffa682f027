/* trace_scale.c - trace-scale, the loads of bench/trace_scale.py that grow
 * what tracing must keep up with rather than how fast one thread runs:
 *
 *   threads N [PAIRS]  N threads alive at once: each does PAIRS (default
 *                      1000) malloc/free pairs of 100 bytes, then waits at
 *                      a barrier until all N have; there, with every thread
 *                      alive and traced, the main thread reads its own
 *                      resident memory and the shared part of it (the
 *                      trace's rings are shared memory), then lets them go
 *   misuse N           N frees of a pointer inside a block (p + 8 of a
 *                      100-byte block: misaligned_pointer), for
 *                      ORTHO_ON_CORRUPTION=report
 *
 * It prints one line of key=value facts. It calls plain malloc/free and
 * links nothing of orthotope: the preload decides who serves it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

#define SCALE_MAX_THREADS 100000
#define SCALE_DEFAULT_PAIRS 1000
#define SCALE_BLOCK_BYTES 100
#define SCALE_STACK_BYTES (64 * 1024) /* thousands of threads: small stacks */

static pthread_barrier_t scale_done;  /* every thread has done its pairs */
static pthread_barrier_t scale_leave; /* the main thread has measured */
static unsigned long scale_pairs;

static void *scale_thread(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < scale_pairs; i++) {
        unsigned char *p = malloc(SCALE_BLOCK_BYTES);
        if (p == NULL)
            abort();
        *(volatile unsigned char *)p = (unsigned char)i;
        measure_escape(p);
        free(p);
    }
    pthread_barrier_wait(&scale_done);
    pthread_barrier_wait(&scale_leave);
    return NULL;
}

/* The value of `key` (a "Name:   123 kB" line) in /proc/self/status, KiB;
 * -1 if absent. */
static long scale_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long value = -1;
    size_t len = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            value = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

static int scale_threads(unsigned long n)
{
    pthread_t *threads = calloc(n, sizeof *threads);
    pthread_attr_t attr;
    if (threads == NULL || pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstacksize(&attr, SCALE_STACK_BYTES) != 0 ||
        pthread_barrier_init(&scale_done, NULL, (unsigned)n + 1) != 0 ||
        pthread_barrier_init(&scale_leave, NULL, (unsigned)n + 1) != 0)
        return 1;
    uint64_t start = measure_now_ns();
    for (unsigned long i = 0; i < n; i++)
        if (pthread_create(&threads[i], &attr, scale_thread, NULL) != 0) {
            fprintf(stderr, "trace-scale: cannot start thread %lu of %lu\n", i + 1, n);
            return 1;
        }
    pthread_barrier_wait(&scale_done);
    uint64_t alive_ns = measure_now_ns() - start;
    long rss = scale_status_kib("VmRSS"), shmem = scale_status_kib("RssShmem");
    pthread_barrier_wait(&scale_leave);
    for (unsigned long i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    uint64_t total_ns = measure_now_ns() - start;
    printf("threads=%lu pairs=%lu alive_ns=%llu total_ns=%llu rss_kib=%ld shmem_kib=%ld\n", n,
           scale_pairs, (unsigned long long)alive_ns, (unsigned long long)total_ns, rss, shmem);
    free(threads);
    return 0;
}

/* The pointer goes through a volatile so the compiler neither sees nor
 * warns about the bad free. */
__attribute__((noinline)) static void scale_bad_free(char *p)
{
    char *volatile inside = p + 8;
    free(inside);
}

static int scale_misuse(unsigned long n)
{
    char *p = malloc(SCALE_BLOCK_BYTES);
    if (p == NULL)
        return 1;
    uint64_t start = measure_now_ns();
    for (unsigned long i = 0; i < n; i++)
        scale_bad_free(p);
    uint64_t loop_ns = measure_now_ns() - start;
    free(p);
    printf("misuse=%lu loop_ns=%llu\n", n, (unsigned long long)loop_ns);
    return 0;
}

static int scale_count(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*text == '\0' || *end != '\0' || text[0] == '-' || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n = 0;
    scale_pairs = SCALE_DEFAULT_PAIRS;
    if (argc >= 3 && strcmp(argv[1], "threads") == 0 &&
        scale_count(argv[2], SCALE_MAX_THREADS, &n) == 0 &&
        (argc < 4 || scale_count(argv[3], ~0UL, &scale_pairs) == 0))
        return scale_threads(n);
    if (argc == 3 && strcmp(argv[1], "misuse") == 0 && scale_count(argv[2], ~0UL, &n) == 0)
        return scale_misuse(n);
    fprintf(stderr, "usage: trace-scale threads N [PAIRS] | misuse N\n"
                    "  threads: N threads (1-%d) alive at once, PAIRS malloc/free pairs each\n"
                    "  misuse: N frees of an interior pointer (run with ORTHO_ON_CORRUPTION=report)\n",
            SCALE_MAX_THREADS);
    return 2;
}
