/* handoff.h - the producer/consumer workloads: pairs of threads, where the
 * producer allocates 256-byte messages and its consumer frees them, so
 * every block is freed by a thread that did not allocate it. Two channels:
 * the crate's (a rendezvous: each send returns once the message was
 * received; nothing is written into the messages) and ours (a 256-slot
 * queue the producer runs ahead on; every message is stamped and checked). */
#ifndef BENCH_HANDOFF_H
#define BENCH_HANDOFF_H

#include <stdint.h>

/* Most pairs (the 4x workloads). */
#define HANDOFF_MAX_PAIRS 4

enum handoff_channel {
    HANDOFF_RENDEZVOUS, /* the crate's sync_channel(0); bare messages */
    HANDOFF_QUEUE,      /* ours: bounded queue; stamped, checked messages */
};

/* One sample: `pairs` (1..HANDOFF_MAX_PAIRS) pairs share `messages` evenly
 * (crew_share); returns the timed ns (crew.h). Aborts with one line if a
 * channel cannot be made or a message comes back wrong. */
uint64_t handoff_sample_ns(unsigned pairs, uint64_t messages, enum handoff_channel channel);

#endif
