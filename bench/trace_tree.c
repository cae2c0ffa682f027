/* trace_tree.c - trace-tree, the process-tree load of bench/trace_tree.py:
 *
 *   forks N   a parent of 4 threads (3 of them wait at a barrier the whole
 *             time, each after 100 malloc/free pairs) forks N children at
 *             once; each child does 100 malloc/free pairs of 100 bytes,
 *             keeps one 333-byte block and exits; the parent reaps them all
 *
 *   busy N P  forks N children that start together, each making P
 *             malloc/free pairs of 48-303 bytes (its rings written through
 *             and through), and stay alive until all are done: the most
 *             shared memory N busy programs hold at once, printed as the
 *             growth of the system's Shmem (/proc/meminfo) by then
 *
 * It prints one line of key=value facts ("forks=N failed=K"). What it
 * grows is the number of process images the collector sees, not the rate
 * of records: the tree a build or a test runner makes. Plain malloc/free,
 * nothing of orthotope linked: the preload decides who serves it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.h"

#define TREE_MAX_FORKS 100000
#define TREE_MAX_PAIRS 100000000
#define TREE_BYSTANDERS 3
#define TREE_PAIRS 100
#define TREE_BLOCK_BYTES 100
#define TREE_KEPT_BYTES 333 /* the one block a child keeps: a leak per child */

static pthread_barrier_t tree_started, tree_done;

static void tree_pairs(void)
{
    for (int i = 0; i < TREE_PAIRS; i++) {
        unsigned char *p = malloc(TREE_BLOCK_BYTES);
        if (p == NULL)
            abort();
        measure_escape(p);
        free(p);
    }
}

static void *tree_bystander(void *arg)
{
    (void)arg;
    tree_pairs();
    pthread_barrier_wait(&tree_started);
    pthread_barrier_wait(&tree_done);
    return NULL;
}

static int tree_forks(unsigned long n)
{
    pthread_t threads[TREE_BYSTANDERS];
    pthread_barrier_init(&tree_started, NULL, TREE_BYSTANDERS + 1);
    pthread_barrier_init(&tree_done, NULL, TREE_BYSTANDERS + 1);
    for (int i = 0; i < TREE_BYSTANDERS; i++)
        if (pthread_create(&threads[i], NULL, tree_bystander, NULL) != 0)
            abort();
    pthread_barrier_wait(&tree_started);
    fflush(stdout);
    unsigned long failed = 0;
    for (unsigned long i = 0; i < n; i++) {
        pid_t child = fork();
        if (child == 0) {
            tree_pairs();
            measure_escape(malloc(TREE_KEPT_BYTES));
            exit(0);
        }
        failed += child < 0;
    }
    for (int status; wait(&status) > 0;)
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    pthread_barrier_wait(&tree_done);
    for (int i = 0; i < TREE_BYSTANDERS; i++)
        pthread_join(threads[i], NULL);
    printf("forks=%lu failed=%lu\n", n, failed);
    return failed != 0;
}

/* Shmem of /proc/meminfo, KiB (0 if unreadable). */
static unsigned long tree_shmem_kib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Shmem: %lu kB", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
}

/* Reads one byte (or end of file) from fd, again if a signal cut in. */
static void tree_read_byte(int fd)
{
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {
    }
}

static int tree_busy(unsigned long n, unsigned long pairs)
{
    int go[2], done[2], leave[2];
    if (pipe(go) != 0 || pipe(done) != 0 || pipe(leave) != 0)
        abort();
    unsigned long before = tree_shmem_kib(), failed = 0, started = 0;
    fflush(stdout);
    for (unsigned long i = 0; i < n; i++) {
        pid_t child = fork();
        if (child == 0) {
            close(go[1]);
            close(leave[1]);
            tree_read_byte(go[0]);
            for (unsigned long k = 0; k < pairs; k++) {
                unsigned char *p = malloc(48 + (k & 255));
                if (p == NULL)
                    abort();
                measure_escape(p);
                free(p);
            }
            if (write(done[1], "d", 1) != 1)
                abort();
            tree_read_byte(leave[0]); /* EOF: every child is done */
            _exit(0);
        }
        failed += child < 0;
        started += child > 0;
    }
    close(go[0]);
    close(leave[0]);
    for (unsigned long i = 0; i < started; i++)
        if (write(go[1], "g", 1) != 1)
            abort();
    for (unsigned long i = 0; i < started; i++)
        tree_read_byte(done[0]);
    unsigned long during = tree_shmem_kib();
    close(leave[1]);
    for (int status; wait(&status) > 0;)
        failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("busy=%lu failed=%lu shmem_kib=%lu\n", n, failed, during > before ? during - before : 0);
    return failed != 0;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long n = argc == 3 ? strtoul(argv[2], &end, 10) : 0;
    if (argc == 3 && strcmp(argv[1], "forks") == 0 && argv[2][0] != '-' && *end == '\0' &&
        n > 0 && n <= TREE_MAX_FORKS)
        return tree_forks(n);
    unsigned long pairs = argc == 4 ? strtoul(argv[3], &end, 10) : 0;
    if (argc == 4 && strcmp(argv[1], "busy") == 0 && *end == '\0' && pairs > 0 &&
        pairs <= TREE_MAX_PAIRS) {
        n = strtoul(argv[2], &end, 10);
        if (argv[2][0] != '-' && *end == '\0' && n > 0 && n <= TREE_MAX_FORKS)
            return tree_busy(n, pairs);
    }
    fprintf(stderr, "usage: trace-tree forks N | busy N PAIRS\n"
                    "  forks: N children (1-%d) forked at once by a parent of 4 threads\n"
                    "  busy: N children alive at once, each making PAIRS (1-%d) malloc/free\n"
                    "  pairs\n",
            TREE_MAX_FORKS, TREE_MAX_PAIRS);
    return 2;
}
