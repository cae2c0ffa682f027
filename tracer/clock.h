/* clock.h - cheap timestamps for trace records: the CPU's time-stamp
 * counter, turned into CLOCK_MONOTONIC nanoseconds inside the traced thread
 * with a calibration the collector publishes in shared memory.
 *
 * Why: every ALLOC and FREE carries a time, and on a virtual machine
 * clock_gettime costs about 50 ns, more than the rest of a traced free. The
 * counter is read in a fraction of that. It is only used where the kernel
 * itself keeps CLOCK_MONOTONIC on it (clocksource "tsc"), which means the
 * counter is invariant and synchronised across CPUs.
 *
 * Why the producer converts (and not the collector): a record's time is
 * also the identity of an allocation (address, alloc time), copied into the
 * block header and echoed by its FREE. Converting in the producer makes that
 * identity whatever the producer wrote, so refining the calibration later
 * can never break a match.
 *
 * The calibration is a seqlock in the segment: the collector (one writer)
 * re-measures the counter's rate against CLOCK_MONOTONIC over its whole life
 * and publishes (counter base, ns base, rate) anchored at its latest
 * measurement, so a refinement moves the clock by at most the measurement
 * noise. Readers keep a copy and re-read it only when the sequence number
 * moves. Before the first publication (rate 0) the producer uses
 * clock_gettime. All fields are atomics: the protocol, not luck, makes a
 * torn read impossible, and ThreadSanitizer can see that. */
#ifndef ORTHO_TRACER_CLOCK_H
#define ORTHO_TRACER_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "prim.h" /* prim_now_ns: CLOCK_MONOTONIC in ns */

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CLOCK_HAVE_TSC 1
#else
#define CLOCK_HAVE_TSC 0
#endif

/* The published calibration (in the collector's line of the segment). */
typedef struct clock_calibration {
    _Atomic uint32_t seq;       /* odd while the writer is mid-update */
    uint32_t pad;
    _Atomic uint64_t tsc_base;  /* counter value at the anchor */
    _Atomic uint64_t ns_base;   /* CLOCK_MONOTONIC ns at the anchor */
    _Atomic uint64_t mult;      /* ns per tick, as a 32.32 fixed-point number; 0: none yet */
} clock_calibration_t;

/* A reader's copy. */
typedef struct clock_view {
    uint32_t seq;
    uint64_t tsc_base, ns_base, mult;
} clock_view_t;

static inline uint64_t clock_ticks(void)
{
#if CLOCK_HAVE_TSC
    return __rdtsc();
#else
    return 0;
#endif
}

/* Converts ticks with a view whose mult is non-zero. Ticks before the
 * anchor (a record stamped just before a re-anchoring) convert backwards. */
static inline uint64_t clock_view_convert(const clock_view_t *v, uint64_t ticks)
{
    if (ticks >= v->tsc_base)
        return v->ns_base + (uint64_t)(((unsigned __int128)(ticks - v->tsc_base) * v->mult) >> 32);
    return v->ns_base - (uint64_t)(((unsigned __int128)(v->tsc_base - ticks) * v->mult) >> 32);
}

/* Refreshes *v from c if the writer published since; false if no
 * calibration is usable (none yet, or an update is under way). */
static inline bool clock_view_refresh(clock_view_t *v, const clock_calibration_t *c)
{
    uint32_t seq = atomic_load_explicit(&((clock_calibration_t *)c)->seq, memory_order_acquire);
    if (seq == v->seq && v->mult != 0)
        return true;
    if (seq & 1u)
        return false;
    clock_calibration_t *m = (clock_calibration_t *)c;
    clock_view_t next = {
        .seq = seq,
        .tsc_base = atomic_load_explicit(&m->tsc_base, memory_order_relaxed),
        .ns_base = atomic_load_explicit(&m->ns_base, memory_order_relaxed),
        .mult = atomic_load_explicit(&m->mult, memory_order_relaxed),
    };
    /* The field loads must complete before the second look at seq. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&m->seq, memory_order_relaxed) != seq)
        return false;
    *v = next;
    return v->mult != 0;
}

/* Writer side (the collector). One writer per calibration. */
static inline void clock_calibration_publish(clock_calibration_t *c, uint64_t tsc_base,
                                             uint64_t ns_base, uint64_t mult)
{
    uint32_t seq = atomic_load_explicit(&c->seq, memory_order_relaxed);
    atomic_store_explicit(&c->seq, seq + 1, memory_order_relaxed);
    /* Readers that see the new fields must also see the odd seq. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&c->tsc_base, tsc_base, memory_order_relaxed);
    atomic_store_explicit(&c->ns_base, ns_base, memory_order_relaxed);
    atomic_store_explicit(&c->mult, mult, memory_order_relaxed);
    atomic_store_explicit(&c->seq, seq + 2, memory_order_release);
}

/* One (ticks, ns) pair, measured as tightly as the machine allows: of a
 * few tries, the one whose ticks bracket clock_gettime most narrowly,
 * taking the bracket's middle. */
static inline void clock_measure_pair(uint64_t *ticks, uint64_t *ns)
{
    uint64_t best_width = UINT64_MAX;
    *ticks = 0;
    *ns = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t before = clock_ticks();
        uint64_t now = prim_now_ns();
        uint64_t after = clock_ticks();
        if (after - before < best_width) {
            best_width = after - before;
            *ticks = before + (after - before) / 2;
            *ns = now;
        }
    }
}

/* The 32.32 ns-per-tick rate between two pairs; 0 if they are unusable. */
static inline uint64_t clock_rate(uint64_t ticks0, uint64_t ns0, uint64_t ticks1, uint64_t ns1)
{
    if (ticks1 <= ticks0 || ns1 <= ns0)
        return 0;
    return (uint64_t)(((unsigned __int128)(ns1 - ns0) << 32) / (ticks1 - ticks0));
}

#endif
