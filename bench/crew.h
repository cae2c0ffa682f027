/* crew.h - the threads of one sample of a multi-thread workload, started
 * the way the crate's bench starts them: every sample spawns its threads,
 * each opens its allocation route (the crate's ThreadCache::new or raw
 * backend) and waits on a barrier with the timing thread; the sample runs
 * from the barrier's opening until the last thread has been joined, so each
 * thread's work, its route's closing and its exit are timed, its creation
 * is not. One departure from the crate: the crate reads its clock when the
 * timing thread returns from the barrier. With more threads than cores
 * that thread may be woken only after the workers have finished a short
 * sample (4 threads of 300 reused 20 MiB blocks take about 12 us, a
 * wake-up on this VM takes longer), and the sample then measures nothing
 * (0.2 ns per iteration was seen). Here the clock starts at the earliest
 * moment any worker leaves the barrier, which each worker records. */
#ifndef BENCH_CREW_H
#define BENCH_CREW_H

#include <stdint.h>

#include "bench_api.h"

/* Most threads a crew can have (the 4x handoff: 4 pairs). */
#define CREW_MAX_THREADS 8

/* The work of thread `index` (0 .. threads - 1) in this sample, allocating
 * through `route`. */
typedef void (*crew_task_fn)(void *arg, unsigned index, struct bench_route *route);

/* Runs `task` on `threads` (1..CREW_MAX_THREADS) new threads as described
 * above; returns the timed nanoseconds. Aborts with one line if a thread or
 * the barrier cannot be created (the sample would be meaningless). */
uint64_t crew_run_ns(unsigned threads, crew_task_fn task, void *arg);

/* Share of `total` that part `index` of `parts` does: an even split, the
 * first total % parts parts doing one more. */
uint64_t crew_share(uint64_t total, unsigned parts, unsigned index);

#endif
