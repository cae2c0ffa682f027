/* report_leaky.c - a program traced twice by report_cli.py to test
 * `ortho-report --diff`: once as it is (the base) and once with the
 * argument "extra", which adds exactly one leak, so the diff of the two
 * runs must show that leak and nothing else. Each fact comes from one
 * noinline function, the allocation site the trace names:
 *
 *   steady_work  40 blocks of 100 bytes (B256) and 5 of 2000 (B4K), freed
 *   kept_leak    2 blocks of 300 bytes (B4K), never freed (in both runs)
 *   leak_extra   3 blocks of 1000 bytes (B4K), never freed ("extra" only)
 *
 * Nothing is printed (stdio would allocate); exit status 0. Pointers go
 * through volatile storage so the compiler keeps every malloc and free. */
#include <stdlib.h>
#include <string.h>

#define STEADY_SMALL 40
#define STEADY_SMALL_BYTES 100
#define STEADY_LARGE 5
#define STEADY_LARGE_BYTES 2000
#define KEPT_BLOCKS 2
#define KEPT_BYTES 300
#define EXTRA_BLOCKS 3
#define EXTRA_BYTES 1000

static void *volatile kept[KEPT_BLOCKS];
static void *volatile extra[EXTRA_BLOCKS];
static void *volatile sink;

__attribute__((noinline)) static void steady_work(void)
{
    for (int i = 0; i < STEADY_SMALL; i++) {
        sink = malloc(STEADY_SMALL_BYTES);
        free(sink);
    }
    for (int i = 0; i < STEADY_LARGE; i++) {
        sink = malloc(STEADY_LARGE_BYTES);
        free(sink);
    }
}

__attribute__((noinline)) static void kept_leak(void)
{
    for (int i = 0; i < KEPT_BLOCKS; i++)
        kept[i] = malloc(KEPT_BYTES);
}

__attribute__((noinline)) static void leak_extra(void)
{
    for (int i = 0; i < EXTRA_BLOCKS; i++)
        extra[i] = malloc(EXTRA_BYTES);
}

int main(int argc, char **argv)
{
    steady_work();
    kept_leak();
    if (argc > 1 && strcmp(argv[1], "extra") == 0)
        leak_extra();
    /* Something after the last call, so no call above is a tail call. */
    __asm__ volatile("" ::: "memory");
    return 0;
}
