/* measure.h - measurement primitives shared by every workload: a monotonic
 * nanosecond clock, optimizer barriers that keep the compiler from deleting
 * or merging the allocations we time, a sink for values the workloads
 * compute, and the process's peak RSS. Nothing here allocates; the clock and
 * barriers are inline because they sit inside timed loops. */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds in one second, for timespec arithmetic. */
#define MEASURE_NS_PER_S UINT64_C(1000000000)

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC: unaffected by clock
 * changes; the vDSO makes it a few tens of ns, always outside inner loops). */
static inline uint64_t measure_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MEASURE_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Makes `p` escape to an unknown consumer: the compiler must assume the
 * pointer (and the memory behind it) is read, so it cannot drop an
 * allocation/free pair or the stores into it. Costs no instruction. */
static inline void measure_escape(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Folds a value the workload computed into an atomic sink, so the work
 * that produced it is not dead code. Thread-safe. */
void measure_consume(uint64_t value);

/* Peak resident set size of this process so far, in KiB (VmHWM, falling
 * back to getrusage's ru_maxrss); 0 if neither can be read. */
long measure_peak_rss_kib(void);

#endif
