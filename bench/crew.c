/* crew.c - the threads of one sample (see crew.h). The barrier counts the
 * workers plus the timing thread, and orders memory: what the timing thread
 * wrote before it is visible to every worker after it; joining makes the
 * workers' writes (their barrier-leaving times included) visible to the
 * timing thread. Workers get their index through a table on the stack of
 * crew_run_ns, which outlives them. */
#include "crew.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"

struct crew_worker {
    pthread_barrier_t *start; /* opens when every worker is ready */
    crew_task_fn task;        /* the work */
    void *arg;                /* passed to task */
    unsigned index;           /* 0 .. threads - 1 */
    uint64_t left_barrier_ns; /* when this worker left the barrier */
};

uint64_t crew_share(uint64_t total, unsigned parts, unsigned index)
{
    return total / parts + (index < total % parts ? 1 : 0);
}

static void *crew_worker_main(void *arg)
{
    struct crew_worker *w = arg;
    struct bench_route route;
    bench_api_route_open(&route);
    pthread_barrier_wait(w->start);
    w->left_barrier_ns = measure_now_ns();
    w->task(w->arg, w->index, &route);
    bench_api_route_close(&route);
    return NULL;
}

__attribute__((noreturn, cold)) static void crew_fail(const char *what)
{
    fprintf(stderr, "ortho-bench: cannot create %s for a multi-thread sample; "
            "check the thread limit (ulimit -u)\n", what);
    abort();
}

uint64_t crew_run_ns(unsigned threads, crew_task_fn task, void *arg)
{
    pthread_t handles[CREW_MAX_THREADS];
    struct crew_worker workers[CREW_MAX_THREADS];
    pthread_barrier_t start;
    if (threads == 0 || threads > CREW_MAX_THREADS)
        crew_fail("that many threads");
    if (pthread_barrier_init(&start, NULL, threads + 1) != 0)
        crew_fail("the start barrier");
    for (unsigned i = 0; i < threads; i++) {
        workers[i] = (struct crew_worker){&start, task, arg, i, 0};
        if (pthread_create(&handles[i], NULL, crew_worker_main, &workers[i]) != 0)
            crew_fail("a thread"); /* the started ones wait on the barrier forever */
    }
    pthread_barrier_wait(&start);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(handles[i], NULL);
    uint64_t end_ns = measure_now_ns();
    uint64_t start_ns = end_ns;
    for (unsigned i = 0; i < threads; i++)
        if (workers[i].left_barrier_ns < start_ns)
            start_ns = workers[i].left_barrier_ns;
    pthread_barrier_destroy(&start);
    return end_ns - start_ns;
}
