/* trace_flood.c - trace-flood, the collector throughput load: T threads
 * each do N malloc/free pairs of one small size as fast as they can, with
 * nothing else in the loop, so that under LD_PRELOAD=liborthotope.so with
 * ORTHO_TRACE=1 the per-thread rings fill faster than any collector can
 * drain them. bench/trace_bench.py runs it in wait (lossless) mode, where
 * the producers are throttled to the collector's pace and records in the
 * database / wall time is the rate the collector sustains without loss, and
 * in drop mode, where they never wait and the database counts what was
 * lost. It calls plain malloc/free and links nothing of orthotope, so the
 * preload decides who serves it (no preload: glibc). It prints one line:
 * threads, pairs per thread, and the time the threads spent in their loops
 * (from the release of the start barrier to the last join), which excludes
 * process start and the wait for the collector at exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

/* Upper bound on threads: the rings are per thread and the machine this is
 * meant for has a few cores; more would measure the scheduler. */
#define FLOOD_MAX_THREADS 64
/* Bytes per allocation when --size is not given: orthotope's first class. */
#define FLOOD_DEFAULT_SIZE 64

struct flood_thread {
    pthread_t handle;
    unsigned long long pairs;
    size_t size;
    pthread_barrier_t *start;
    int failed;
};

static void *flood_run(void *arg)
{
    struct flood_thread *t = arg;
    pthread_barrier_wait(t->start);
    for (unsigned long long i = 0; i < t->pairs; i++) {
        unsigned char *p = malloc(t->size);
        if (p == NULL) {
            t->failed = 1;
            break;
        }
        *(volatile unsigned char *)p = (unsigned char)i;
        measure_escape(p);
        free(p);
    }
    return NULL;
}

static int flood_parse(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || text[0] == '-' || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long threads = 1, pairs = 0, size = FLOOD_DEFAULT_SIZE;
    for (int i = 1; i < argc; i++) {
        int ok = -1;
        if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            ok = flood_parse(argv[++i], FLOOD_MAX_THREADS, &threads);
        else if (i + 1 < argc && strcmp(argv[i], "--pairs") == 0)
            ok = flood_parse(argv[++i], ~0ULL, &pairs);
        else if (i + 1 < argc && strcmp(argv[i], "--size") == 0)
            ok = flood_parse(argv[++i], 1ULL << 30, &size);
        if (ok != 0) {
            fprintf(stderr, "usage: trace-flood --pairs N [--threads T (1-%d)] [--size BYTES]\n"
                            "  T threads each do N malloc/free pairs of BYTES (default %d)\n",
                    FLOOD_MAX_THREADS, FLOOD_DEFAULT_SIZE);
            return 2;
        }
    }
    if (pairs == 0) {
        fprintf(stderr, "trace-flood: --pairs is required\n");
        return 2;
    }

    struct flood_thread t[FLOOD_MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (unsigned long long i = 0; i < threads; i++) {
        t[i] = (struct flood_thread){.pairs = pairs, .size = (size_t)size, .start = &start};
        if (pthread_create(&t[i].handle, NULL, flood_run, &t[i]) != 0) {
            fprintf(stderr, "trace-flood: cannot start thread %llu\n", i);
            return 1;
        }
    }
    uint64_t begin = measure_now_ns();
    pthread_barrier_wait(&start);
    int failed = 0;
    for (unsigned long long i = 0; i < threads; i++) {
        pthread_join(t[i].handle, NULL);
        failed |= t[i].failed;
    }
    uint64_t loop_ns = measure_now_ns() - begin;
    pthread_barrier_destroy(&start);
    if (failed) {
        fprintf(stderr, "trace-flood: malloc returned NULL\n");
        return 1;
    }
    printf("flood threads=%llu pairs_per_thread=%llu size=%llu loop_ns=%llu\n", threads, pairs,
           size, (unsigned long long)loop_ns);
    return 0;
}
