/* debug_stress.c - a correct program that leans on everything the
 * debugging modes watch: 8 threads (fixed seeds) that allocate blocks of
 * every size up to 20,000 bytes through malloc, calloc, realloc and
 * posix_memalign, fill them with a byte of their own, hand half of them to
 * the next thread through a locked mailbox to be checked and freed there,
 * grow and shrink some in place, and a fork whose child does the same. Run
 * with ORTHO_CHECK=full and ORTHO_GUARD_SAMPLE=1 it must finish with
 * status 0 and nothing on stderr: every report would be a false one. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define ROUNDS 20000
#define LIVE 64
#define MAILBOX 256

struct block {
    unsigned char *p;
    size_t size;
    unsigned char fill;
};

static struct {
    pthread_mutex_t lock;
    struct block slots[MAILBOX];
    size_t count;
} mailbox[THREADS];

static int failed;

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void check_and_free(struct block b)
{
    for (size_t i = 0; i < b.size; i++) {
        if (b.p[i] != b.fill) {
            fprintf(stderr, "debug_stress: block %p byte %zu is %u, not %u\n", (void *)b.p, i,
                    b.p[i], b.fill);
            failed = 1;
            break;
        }
    }
    free(b.p);
}

static struct block make_block(uint64_t *rng)
{
    struct block b;
    b.size = 1 + next_random(rng) % 20000;
    b.fill = (unsigned char)(1 + next_random(rng) % 250);
    switch (next_random(rng) % 4) {
    case 0:
        b.p = malloc(b.size);
        break;
    case 1:
        b.p = calloc(1, b.size);
        for (size_t i = 0; b.p != NULL && i < b.size; i++)
            if (b.p[i] != 0) {
                fprintf(stderr, "debug_stress: calloc byte %zu not zero\n", i);
                failed = 1;
                break;
            }
        break;
    case 2:
        if (posix_memalign((void **)&b.p, (size_t)64 << (next_random(rng) % 4), b.size) != 0)
            b.p = NULL;
        break;
    default:
        b.p = realloc(NULL, b.size);
        break;
    }
    if (b.p == NULL) {
        fprintf(stderr, "debug_stress: out of memory\n");
        exit(1);
    }
    memset(b.p, b.fill, b.size);
    return b;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1);
    struct block live[LIVE] = {{0}};
    for (int round = 0; round < ROUNDS; round++) {
        unsigned at = (unsigned)(next_random(&rng) % LIVE);
        if (live[at].p != NULL) {
            unsigned what = (unsigned)(next_random(&rng) % 3);
            if (what == 0) {
                /* Resize: the first min(old, new) bytes must survive. */
                size_t size = 1 + next_random(&rng) % 20000;
                unsigned char *q = realloc(live[at].p, size);
                if (q == NULL)
                    exit(1);
                size_t kept = size < live[at].size ? size : live[at].size;
                for (size_t i = 0; i < kept; i++)
                    if (q[i] != live[at].fill) {
                        fprintf(stderr, "debug_stress: realloc lost byte %zu\n", i);
                        failed = 1;
                        break;
                    }
                memset(q, live[at].fill, size);
                live[at].p = q;
                live[at].size = size;
                continue;
            }
            if (what == 1) {
                unsigned next = (id + 1) % THREADS;
                pthread_mutex_lock(&mailbox[next].lock);
                if (mailbox[next].count < MAILBOX) {
                    mailbox[next].slots[mailbox[next].count++] = live[at];
                    live[at].p = NULL;
                }
                pthread_mutex_unlock(&mailbox[next].lock);
            }
            if (live[at].p != NULL)
                check_and_free(live[at]);
        }
        live[at] = make_block(&rng);
        pthread_mutex_lock(&mailbox[id].lock);
        while (mailbox[id].count > 0)
            check_and_free(mailbox[id].slots[--mailbox[id].count]);
        pthread_mutex_unlock(&mailbox[id].lock);
    }
    for (unsigned i = 0; i < LIVE; i++)
        if (live[i].p != NULL)
            check_and_free(live[i]);
    return NULL;
}

static int run_threads(void)
{
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i) != 0)
            return 1;
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (unsigned i = 0; i < THREADS; i++)
        while (mailbox[i].count > 0)
            check_and_free(mailbox[i].slots[--mailbox[i].count]);
    return failed;
}

int main(void)
{
    for (unsigned i = 0; i < THREADS; i++)
        pthread_mutex_init(&mailbox[i].lock, NULL);
    if (run_threads() != 0)
        return 1;
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0)
        _exit(run_threads());
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return 1;
    return 0;
}
