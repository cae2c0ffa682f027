/* exit_paths.c - a program that frees memory after main has returned, the
 * way real programs do in atexit handlers and destructors, while a detached
 * thread is still allocating and with blocks left live (leaked) both by main
 * and by a thread that has exited. check_shim.c runs it with and without
 * the preload: the output and exit status must match, and no diagnostic may
 * appear, because an allocator torn down too early (or a thread cache
 * retired twice) shows up exactly here, after everything else has run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT_BLOCKS 48

static void *kept[KEPT_BLOCKS];        /* freed by the first-registered handler */
static size_t kept_size[KEPT_BLOCKS];
static char *destructor_block;         /* freed by the destructor */
static atomic_bool churn_started;
static void *volatile leak_sink;       /* keeps leaked blocks from being optimised out */

static size_t kept_block_size(int i)
{
    static const size_t sizes[] = {1, 64, 65, 300, 4096, 6000, 70000, 1 << 20, (size_t)17 << 20};
    return sizes[i % (int)(sizeof sizes / sizeof sizes[0])];
}

static unsigned char pattern_byte(int i)
{
    return (unsigned char)(0x30 + i);
}

static bool block_intact(const unsigned char *p, size_t size, unsigned char byte)
{
    return p[0] == byte && p[size / 2] == byte && p[size - 1] == byte;
}

/* Registered first, so it runs last of the handlers. */
static void free_kept_blocks(void)
{
    int intact = 0;
    for (int i = 0; i < KEPT_BLOCKS; i++) {
        if (block_intact(kept[i], kept_size[i], pattern_byte(i)))
            intact++;
        free(kept[i]);
    }
    printf("atexit: freed %d kept blocks, %d intact\n", KEPT_BLOCKS, intact);
}

/* Registered second: allocates and frees fresh memory at exit. */
static void churn_at_exit(void)
{
    size_t total = 0;
    for (int i = 0; i < 1000; i++) {
        size_t size = (size_t)(i % 50) * 37 + 1;
        char *p = malloc(size);
        memset(p, 'x', size);
        total += size;
        free(p);
    }
    char *big = calloc(1, (size_t)20 << 20);
    printf("atexit: churned %zu bytes, calloc'd block zero: %s\n", total,
           big[0] == 0 && big[((size_t)20 << 20) - 1] == 0 ? "yes" : "no");
    free(big);
}

__attribute__((destructor)) static void free_in_destructor(void)
{
    bool intact = destructor_block != NULL && strcmp(destructor_block, "destructor") == 0;
    free(destructor_block);
    char *again = strdup("allocated in a destructor");
    printf("destructor: block intact: %s, %s\n", intact ? "yes" : "no", again);
    free(again);
}

/* Detached and never stopped: still allocating when the process exits. */
static void *churn_forever(void *arg)
{
    (void)arg;
    void *ring[16] = {0};
    atomic_store(&churn_started, true);
    for (unsigned long i = 0;; i++) {
        free(ring[i % 16]);
        ring[i % 16] = malloc(i % 5000 + 1);
    }
    return NULL;
}

/* Exits with live blocks it never frees. */
static void *leave_blocks_behind(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        char *p = malloc((size_t)i * 13 + 1);
        p[0] = 'l';
        leak_sink = p;
    }
    return malloc(10);
}

int main(void)
{
    for (int i = 0; i < KEPT_BLOCKS; i++) {
        kept_size[i] = kept_block_size(i);
        kept[i] = malloc(kept_size[i]);
        if (kept[i] == NULL)
            return 2;
        memset(kept[i], pattern_byte(i), kept_size[i]);
    }
    destructor_block = strdup("destructor");
    atexit(free_kept_blocks);
    atexit(churn_at_exit);

    pthread_t leaver;
    void *leaver_block = NULL;
    if (pthread_create(&leaver, NULL, leave_blocks_behind, NULL) != 0 ||
        pthread_join(leaver, &leaver_block) != 0)
        return 3;
    free(leaver_block);

    pthread_t churner;
    if (pthread_create(&churner, NULL, churn_forever, NULL) != 0)
        return 4;
    pthread_detach(churner);
    while (!atomic_load(&churn_started))
        ;

    for (int i = 0; i < 200; i++) {
        char *leak = malloc((size_t)i * 31 + 1); /* live at exit, never freed */
        leak[0] = 'L';
        leak_sink = leak;
    }
    char *large_leak = malloc((size_t)24 << 20);
    large_leak[0] = 'L';
    leak_sink = large_leak;
    puts("main: returning with live blocks and a thread still allocating");
    return 0;
}
