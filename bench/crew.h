/* crew.h - persistent worker threads that run one task in lockstep, sample
 * after sample, for the multi-threaded workloads. Threads are created once
 * (thread creation and exit are never timed); each sample releases them all
 * through a barrier, and the sample ends when the last one reaches the
 * closing barrier. The calling thread only coordinates and keeps time. */
#ifndef BENCH_CREW_H
#define BENCH_CREW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Most workers a crew can have (the 4x handoff uses 4 pairs). */
#define CREW_MAX_THREADS 8

/* The work of one thread for one sample; `sample_ops` is the whole
 * sample's ops, which the task splits with crew_share as suits it. */
typedef void (*crew_task_fn)(void *arg, unsigned thread_index, uint64_t sample_ops);

struct crew {
    pthread_t threads[CREW_MAX_THREADS]; /* the workers */
    unsigned thread_count;               /* workers started */
    pthread_barrier_t start_barrier;     /* workers + caller: a sample begins */
    pthread_barrier_t end_barrier;       /* workers + caller: a sample ended */
    crew_task_fn task;                   /* what every worker runs */
    void *task_arg;                      /* passed to task */
    uint64_t ops;                        /* ops of the current sample, all threads */
    bool stopping;                       /* set by crew_stop, read after start_barrier */
};

/* Starts `threads` (1..CREW_MAX_THREADS) workers, waiting for their first
 * sample. Returns 0, or -1 if a barrier or a thread cannot be created; the
 * caller must then exit, since workers already started stay blocked. */
int crew_start(struct crew *c, unsigned threads, crew_task_fn task, void *arg);
/* Runs one sample of `ops` ops on every worker; returns its wall time in
 * ns, from just before the release to just after the last worker finished. */
uint64_t crew_run_ns(struct crew *c, uint64_t ops);
/* Share of `ops` that part `index` of `parts` does: an even split, the
 * first ops % parts parts doing one more. */
uint64_t crew_share(uint64_t ops, unsigned parts, unsigned index);
/* Releases the workers one last time to exit, and joins them. */
void crew_stop(struct crew *c);

#endif
