/* handoff.c - the producer/consumer samples of handoff.h, on a crew
 * (crew.h) of 2 x pairs threads: even indexes produce, odd ones consume,
 * pair = index / 2. The channels are static, so the bench's own state never
 * comes from the allocator under test; one sample runs at a time. */
#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench_api.h"
#include "crew.h"
#include "measure.h"
#include "spsc.h"

/* The message: 256 bytes, the literal of the crate's
 * run_long_lived_handoff_raw/_orthotope. A stamped message carries its
 * sequence number in its first word and the complement in its last. */
#define HANDOFF_MESSAGE_BYTES 256
#define HANDOFF_MESSAGE_WORDS (HANDOFF_MESSAGE_BYTES / sizeof(uint64_t))

static struct spsc handoff_channels[HANDOFF_MAX_PAIRS];

struct handoff_job {
    unsigned pairs;               /* producer/consumer pairs */
    uint64_t messages;            /* all pairs together */
    enum handoff_channel channel; /* rendezvous or queue */
};

__attribute__((noreturn, cold)) static void handoff_fail_message(unsigned pair, uint64_t expected,
                                                                 const uint64_t *m)
{
    fprintf(stderr, "ortho-bench: handoff pair %u received message %p stamped %llu/%llx, "
            "expected %llu; the allocator handed out a live block twice or the queue is broken\n",
            pair, (const void *)m, (unsigned long long)m[0],
            (unsigned long long)m[HANDOFF_MESSAGE_WORDS - 1], (unsigned long long)expected);
    abort();
}

static void handoff_produce(const struct handoff_job *job, struct spsc *q, uint64_t messages,
                            struct bench_route *route)
{
    for (uint64_t i = 0; i < messages; i++) {
        uint64_t *m = bench_api_alloc(route, HANDOFF_MESSAGE_BYTES);
        if (job->channel == HANDOFF_RENDEZVOUS) {
            spsc_push_rendezvous(q, m);
            continue;
        }
        m[0] = i;
        m[HANDOFF_MESSAGE_WORDS - 1] = ~i;
        spsc_push(q, m);
    }
}

static void handoff_consume(const struct handoff_job *job, struct spsc *q, unsigned pair,
                            uint64_t messages, struct bench_route *route)
{
    uint64_t checksum = 0;
    for (uint64_t i = 0; i < messages; i++) {
        uint64_t *m = spsc_pop(q);
        if (job->channel == HANDOFF_QUEUE) {
            if (m[0] != i || m[HANDOFF_MESSAGE_WORDS - 1] != ~i)
                handoff_fail_message(pair, i, m);
            checksum += m[0];
        }
        bench_api_free(route, m, HANDOFF_MESSAGE_BYTES);
    }
    measure_consume(checksum);
}

static void handoff_task(void *arg, unsigned index, struct bench_route *route)
{
    const struct handoff_job *job = arg;
    unsigned pair = index / 2;
    uint64_t messages = crew_share(job->messages, job->pairs, pair);
    if (index % 2 == 0)
        handoff_produce(job, &handoff_channels[pair], messages, route);
    else
        handoff_consume(job, &handoff_channels[pair], pair, messages, route);
}

uint64_t handoff_sample_ns(unsigned pairs, uint64_t messages, enum handoff_channel channel)
{
    struct handoff_job job = {pairs, messages, channel};
    for (unsigned i = 0; i < pairs; i++) {
        if (spsc_init(&handoff_channels[i]) != 0) {
            fprintf(stderr, "ortho-bench: cannot create a handoff channel's lock\n");
            abort();
        }
    }
    bench_api_sample_begin();
    uint64_t elapsed_ns = crew_run_ns(2 * pairs, handoff_task, &job);
    bench_api_sample_end();
    for (unsigned i = 0; i < pairs; i++)
        spsc_destroy(&handoff_channels[i]);
    return elapsed_ns;
}
