/* trace_workload.c - a program with known allocation behaviour, run under
 * ORTHO_TRACE by trace_db.sh, which compares the trace database with the
 * facts below. Every fact is fixed by construction here (counts, sizes,
 * which function leaks, which thread frees), never read back from the
 * allocator. Sizes are odd values nothing else in the process asks for, so
 * the size histogram isolates them; classes B8K and up are used by nothing
 * but this program, so their class_totals must match exactly.
 *
 *   counts       the ground-truth workload (see the table in trace_db.sh)
 *   kill N       allocate N blocks of 777 bytes, print each, then SIGKILL self
 *   threads N    N short-lived threads, each one malloc/free of 1234 bytes
 *   fork         parent: 3 x 555 bytes; fork child: 5 x 666 bytes, exit
 *   churn SECS   malloc/free 48 bytes for SECS seconds (drop mode, readers)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) static void *leak_site_one(size_t n)
{
    return malloc(n);
}

__attribute__((noinline)) static void *leak_site_two(size_t n)
{
    return malloc(n);
}

#define HANDOFF 40
static void *handoff[HANDOFF];

static void *free_handoff(void *arg)
{
    (void)arg;
    for (int i = 0; i < HANDOFF; i++)
        free(handoff[i]); /* cross-thread: main allocated them */
    return NULL;
}

static int run_counts(void)
{
    /* B8K: 100 allocs of 7001 bytes, all freed. */
    for (int i = 0; i < 100; i++) {
        sink = malloc(7001);
        free(sink);
    }
    /* B16K: 30 of 9001 bytes, 10 leaked from leak_site_one. */
    for (int i = 0; i < 20; i++) {
        sink = malloc(9001);
        free(sink);
    }
    for (int i = 0; i < 10; i++)
        leak_site_one(9001);
    /* B64K: 40 of 40001 bytes allocated here, freed by another thread. */
    for (int i = 0; i < HANDOFF; i++)
        handoff[i] = malloc(40001);
    pthread_t t;
    pthread_create(&t, NULL, free_handoff, NULL);
    pthread_join(t, NULL);
    /* B1M: 4 of 500001 bytes, 1 leaked from leak_site_two. */
    for (int i = 0; i < 3; i++) {
        sink = calloc(1, 500001);
        free(sink);
    }
    leak_site_two(500001);
    /* LARGE: 5 of 20 MiB + 1, all freed. */
    for (int i = 0; i < 5; i++) {
        sink = malloc((20u << 20) + 1);
        free(sink);
    }
    /* Small classes, checked through the size histogram: 13 x 37 bytes, 6 x 3001. */
    for (int i = 0; i < 13; i++) {
        sink = malloc(37);
        free(sink);
    }
    for (int i = 0; i < 6; i++) {
        sink = malloc(3001);
        free(sink);
    }
    puts("counts done");
    return 0;
}

static int run_kill(int n)
{
    for (int i = 1; i <= n; i++) {
        sink = malloc(777);
        printf("allocated %d\n", i);
        fflush(stdout);
    }
    raise(SIGKILL);
    return 1;
}

static void *one_block(void *arg)
{
    (void)arg;
    sink = malloc(1234);
    free(sink);
    return NULL;
}

static int run_threads(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, one_block, NULL) != 0)
            return 1;
        pthread_join(t, NULL);
    }
    printf("threads done %d\n", n);
    return 0;
}

static int run_fork(void)
{
    for (int i = 0; i < 3; i++)
        leak_site_one(555);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 5; i++)
            leak_site_two(666);
        exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    puts("fork done");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int run_churn(double seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long long pairs = 0;
    do {
        for (int i = 0; i < 10000; i++) {
            sink = malloc(48);
            free(sink);
        }
        pairs += 10000;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    printf("churn done %llu\n", pairs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "counts") == 0)
        return run_counts();
    if (argc >= 3 && strcmp(argv[1], "kill") == 0)
        return run_kill(atoi(argv[2]));
    if (argc >= 3 && strcmp(argv[1], "threads") == 0)
        return run_threads(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "fork") == 0)
        return run_fork();
    if (argc >= 3 && strcmp(argv[1], "churn") == 0)
        return run_churn(atof(argv[2]));
    fprintf(stderr, "usage: trace_workload counts|kill N|threads N|fork|churn SECS\n");
    return 2;
}
