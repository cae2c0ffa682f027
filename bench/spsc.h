/* spsc.h - a bounded single-producer single-consumer queue of pointers, the
 * channel of the handoff workloads. Exactly one thread pushes and one pops.
 * spsc_push_rendezvous turns it into a zero-capacity channel (the crate's
 * std::sync::mpsc::sync_channel(0)): the push returns only once the
 * consumer has taken the pointer.
 * A side that must wait (queue full or empty) spins briefly, then sleeps on
 * a condition variable until the other side moves; so with more threads than cores the
 * workload measures wake-ups, not burnt time slices. The queue never
 * allocates: it lives in memory the caller provides. */
#ifndef BENCH_SPSC_H
#define BENCH_SPSC_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

/* Slots in the queue: a power of two (indices are masked), large enough
 * that a producer rarely waits for a consumer that is merely a little
 * behind, small enough that live messages stay a few KiB per pair. */
#define SPSC_CAPACITY 256u
/* Cache line size on x86-64: the producer's and the consumer's words sit
 * on separate lines so they do not false-share. */
#define SPSC_LINE_BYTES 64

struct spsc {
    alignas(SPSC_LINE_BYTES) _Atomic uint32_t tail; /* pushes so far (producer writes) */
    alignas(SPSC_LINE_BYTES) _Atomic uint32_t head; /* pops so far (consumer writes) */
    alignas(SPSC_LINE_BYTES) _Atomic uint32_t consumer_sleeping; /* set/cleared by the consumer */
    _Atomic uint32_t producer_sleeping;             /* set/cleared by the producer */
    pthread_mutex_t sleep_lock;                     /* held from a sleeper's recheck to its wait */
    pthread_cond_t tail_moved;                      /* the consumer sleeps here */
    pthread_cond_t head_moved;                      /* the producer sleeps here */
    alignas(SPSC_LINE_BYTES) void *slots[SPSC_CAPACITY]; /* ring of pointers */
};

/* Empties the queue. Not thread-safe: call before both sides start.
 * Returns 0, or -1 if the lock or condition variables cannot be made. */
int spsc_init(struct spsc *q);
/* Releases the lock and condition variables; both sides must have stopped. */
void spsc_destroy(struct spsc *q);
/* Appends p; waits while the queue is full. Producer thread only. */
void spsc_push(struct spsc *q, void *p);
/* Appends p and waits until the consumer has popped it, so at most one
 * pointer is ever in flight: a rendezvous. Producer thread only. */
void spsc_push_rendezvous(struct spsc *q, void *p);
/* Removes the oldest pointer; waits while the queue is empty. Consumer
 * thread only. */
void *spsc_pop(struct spsc *q);

#endif
