/* threaded.c - the multi-thread workloads, on persistent crews (crew.h):
 * concurrent_large_4x (four threads each running the 20 MiB large path) and
 * long_lived_handoff 1x/4x (a producer allocates 256-byte messages, its
 * consumer frees them, through a bounded SPSC queue; so every block is
 * freed by a thread other than the one that allocated it). Ops are counted
 * over all threads: ns per op is wall time over total ops, a throughput.
 * State, queues included, comes from the process's own malloc. */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_api.h"
#include "crew.h"
#include "measure.h"
#include "spsc.h"
#include "workloads.h"

/* Threads of concurrent_large_4x (the "4x"). */
#define THREADED_LARGE_THREADS 4
/* Producer/consumer pairs of the two handoff workloads. */
#define THREADED_HANDOFF_PAIRS_1X 1
#define THREADED_HANDOFF_PAIRS_4X 4
#define THREADED_HANDOFF_MAX_PAIRS THREADED_HANDOFF_PAIRS_4X
/* Message size: orthotope's 256-byte class, a typical request/response
 * record. The producer stamps the first and last word, the consumer checks
 * both, so a block handed out twice or out of order stops the run. */
#define THREADED_MESSAGE_BYTES 256
#define THREADED_MESSAGE_WORDS (THREADED_MESSAGE_BYTES / sizeof(uint64_t))

struct threaded_state {
    struct spsc queues[THREADED_HANDOFF_MAX_PAIRS]; /* one per pair (cache-line aligned) */
    struct crew crew;                               /* the workers */
    unsigned pairs;                                 /* handoff pairs; 0 for the large path */
    size_t size_bytes;                              /* large path request */
};

static void threaded_large_task(void *arg, unsigned thread_index, uint64_t sample_ops)
{
    struct threaded_state *s = arg;
    uint64_t ops = crew_share(sample_ops, THREADED_LARGE_THREADS, thread_index);
    for (uint64_t i = 0; i < ops; i++) {
        unsigned char *p = bench_api_alloc(s->size_bytes);
        workloads_touch_large(p, i + thread_index);
        measure_escape(p);
        bench_api_free(p);
    }
}

__attribute__((noreturn, cold)) static void threaded_fail_message(unsigned pair, uint64_t expected,
                                                                  const uint64_t *m)
{
    fprintf(stderr, "ortho-bench: handoff pair %u received message %p stamped %llu/%llx, "
            "expected %llu; the allocator handed out a live block twice or the queue is broken\n",
            pair, (const void *)m, (unsigned long long)m[0],
            (unsigned long long)m[THREADED_MESSAGE_WORDS - 1], (unsigned long long)expected);
    abort();
}

/* Even thread indexes produce, odd ones consume; pair = index / 2. */
static void threaded_handoff_task(void *arg, unsigned thread_index, uint64_t sample_ops)
{
    struct threaded_state *s = arg;
    unsigned pair = thread_index / 2;
    struct spsc *q = &s->queues[pair];
    uint64_t messages = crew_share(sample_ops, s->pairs, pair);
    if (thread_index % 2 == 0) {
        for (uint64_t i = 0; i < messages; i++) {
            uint64_t *m = bench_api_alloc(THREADED_MESSAGE_BYTES);
            m[0] = i;
            m[THREADED_MESSAGE_WORDS - 1] = ~i;
            spsc_push(q, m);
        }
    } else {
        uint64_t checksum = 0;
        for (uint64_t i = 0; i < messages; i++) {
            uint64_t *m = spsc_pop(q);
            if (m[0] != i || m[THREADED_MESSAGE_WORDS - 1] != ~i)
                threaded_fail_message(pair, i, m);
            checksum += m[0];
            bench_api_free(m);
        }
        measure_consume(checksum);
    }
}

static struct threaded_state *threaded_new(const struct workload *w)
{
    struct threaded_state *s =
        aligned_alloc(alignof(struct threaded_state), bench_api_round_up(sizeof *s));
    if (s == NULL) {
        fprintf(stderr, "ortho-bench: %s: cannot allocate %zu bytes of workload state\n",
                w->name, sizeof *s);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    for (unsigned i = 0; i < THREADED_HANDOFF_MAX_PAIRS; i++) {
        if (spsc_init(&s->queues[i]) != 0) {
            fprintf(stderr, "ortho-bench: %s: cannot create the queue's lock\n", w->name);
            while (i-- > 0)
                spsc_destroy(&s->queues[i]);
            free(s);
            return NULL;
        }
    }
    s->size_bytes = w->size_bytes;
    return s;
}

static void *threaded_start(const struct workload *w, struct threaded_state *s, unsigned threads,
                            crew_task_fn task)
{
    if (s == NULL)
        return NULL;
    if (crew_start(&s->crew, threads, task, s) != 0) {
        fprintf(stderr, "ortho-bench: %s: cannot start %u threads\n", w->name, threads);
        exit(EXIT_FAILURE);
    }
    return s;
}

void *threaded_setup_large_4x(const struct workload *w)
{
    return threaded_start(w, threaded_new(w), THREADED_LARGE_THREADS, threaded_large_task);
}

static void *threaded_setup_handoff(const struct workload *w, unsigned pairs)
{
    struct threaded_state *s = threaded_new(w);
    if (s != NULL)
        s->pairs = pairs;
    return threaded_start(w, s, 2 * pairs, threaded_handoff_task);
}

void *threaded_setup_handoff_1x(const struct workload *w)
{
    return threaded_setup_handoff(w, THREADED_HANDOFF_PAIRS_1X);
}

void *threaded_setup_handoff_4x(const struct workload *w)
{
    return threaded_setup_handoff(w, THREADED_HANDOFF_PAIRS_4X);
}

uint64_t threaded_run_ns(void *state, uint64_t ops)
{
    struct threaded_state *s = state;
    return crew_run_ns(&s->crew, ops);
}

void threaded_teardown(void *state)
{
    struct threaded_state *s = state;
    crew_stop(&s->crew);
    for (unsigned i = 0; i < THREADED_HANDOFF_MAX_PAIRS; i++)
        spsc_destroy(&s->queues[i]);
    free(s);
}
