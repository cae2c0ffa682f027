/* top_workload.c - the live run of ortho-top's end-to-end tests
 * (top_tmux_live.sh): a program that allocates steadily for a few seconds,
 * so the viewer has a database that grows while it watches. Facts known in
 * advance:
 *
 *   hold       HELD_BLOCKS blocks of HELD_BYTES (class B6K) allocated at
 *              the start and never freed: B6K shows 300 live blocks for
 *              the whole run and at its end
 *   churn      every TICK_MS, CHURN_BLOCKS blocks of CHURN_BYTES (B256)
 *              allocated and freed again: steady allocs/s and frees/s in
 *              B256 while it runs
 *
 * Usage: top_workload [SECONDS] (default 6). Prints nothing; exit 0.
 * Allocations go through a volatile sink so the compiler keeps them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>

#define HELD_BLOCKS 300
#define HELD_BYTES 5000
#define CHURN_BLOCKS 20
#define CHURN_BYTES 100
#define TICK_MS 5
#define DEFAULT_SECONDS 6

static void *volatile held[HELD_BLOCKS]; /* reachable, never freed */
static void *volatile sink;

__attribute__((noinline)) static void hold(void)
{
    for (int i = 0; i < HELD_BLOCKS; i++)
        held[i] = malloc(HELD_BYTES);
}

__attribute__((noinline)) static void churn(void)
{
    void *blocks[CHURN_BLOCKS];
    for (int i = 0; i < CHURN_BLOCKS; i++)
        blocks[i] = sink = malloc(CHURN_BYTES);
    for (int i = 0; i < CHURN_BLOCKS; i++)
        free(blocks[i]);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : DEFAULT_SECONDS;
    double until = now_s() + seconds;
    hold();
    while (now_s() < until) {
        churn();
        struct timespec tick = {0, TICK_MS * 1000000L};
        nanosleep(&tick, NULL);
    }
    return 0;
}
