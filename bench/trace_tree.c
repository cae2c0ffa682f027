/* trace_tree.c - trace-tree, the process-tree load of bench/trace_tree.py:
 *
 *   forks N   a parent of 4 threads (3 of them wait at a barrier the whole
 *             time, each after 100 malloc/free pairs) forks N children at
 *             once; each child does 100 malloc/free pairs of 100 bytes,
 *             keeps one 333-byte block and exits; the parent reaps them all
 *
 * It prints one line of key=value facts ("forks=N failed=K"). What it
 * grows is the number of process images the collector sees, not the rate
 * of records: the tree a build or a test runner makes. Plain malloc/free,
 * nothing of orthotope linked: the preload decides who serves it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.h"

#define TREE_MAX_FORKS 100000
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

int main(int argc, char **argv)
{
    char *end = NULL;
    unsigned long n = argc == 3 ? strtoul(argv[2], &end, 10) : 0;
    if (argc == 3 && strcmp(argv[1], "forks") == 0 && argv[2][0] != '-' && *end == '\0' &&
        n > 0 && n <= TREE_MAX_FORKS)
        return tree_forks(n);
    fprintf(stderr, "usage: trace-tree forks N\n"
                    "  N children (1-%d) forked at once by a parent of 4 threads\n",
            TREE_MAX_FORKS);
    return 2;
}
