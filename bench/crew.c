/* crew.c - persistent lockstep workers (see crew.h). The barriers order all
 * memory: fields the caller writes before the start barrier (ops, stopping)
 * are visible to every worker after it, and everything the workers did is
 * visible to the caller after the end barrier. Barriers count the workers
 * plus the calling thread. */
#include "crew.h"

#include <stddef.h>

#include "measure.h"

struct crew_worker_start {
    struct crew *crew;     /* the crew this worker belongs to */
    unsigned thread_index; /* 0 .. thread_count - 1 */
};

/* Carries each worker's index into its thread without allocating: the
 * crews of this program never run concurrently, so one table suffices. */
static struct crew_worker_start crew_worker_starts[CREW_MAX_THREADS];

uint64_t crew_share(uint64_t ops, unsigned parts, unsigned index)
{
    return ops / parts + (index < ops % parts ? 1 : 0);
}

static void *crew_worker_main(void *arg)
{
    const struct crew_worker_start *start = arg;
    struct crew *c = start->crew;
    for (;;) {
        pthread_barrier_wait(&c->start_barrier);
        if (c->stopping)
            break;
        c->task(c->task_arg, start->thread_index, c->ops);
        pthread_barrier_wait(&c->end_barrier);
    }
    return NULL;
}

int crew_start(struct crew *c, unsigned threads, crew_task_fn task, void *arg)
{
    if (threads == 0 || threads > CREW_MAX_THREADS)
        return -1;
    c->thread_count = 0;
    c->task = task;
    c->task_arg = arg;
    c->ops = 0;
    c->stopping = false;
    if (pthread_barrier_init(&c->start_barrier, NULL, threads + 1) != 0)
        return -1;
    if (pthread_barrier_init(&c->end_barrier, NULL, threads + 1) != 0) {
        pthread_barrier_destroy(&c->start_barrier);
        return -1;
    }
    for (unsigned i = 0; i < threads; i++) {
        crew_worker_starts[i].crew = c;
        crew_worker_starts[i].thread_index = i;
        if (pthread_create(&c->threads[i], NULL, crew_worker_main, &crew_worker_starts[i]) != 0) {
            /* The barriers expect all threads; the ones started cannot be
             * released cleanly, so give up on the process. */
            return -1;
        }
        c->thread_count++;
    }
    return 0;
}

uint64_t crew_run_ns(struct crew *c, uint64_t ops)
{
    c->ops = ops;
    uint64_t start_ns = measure_now_ns();
    pthread_barrier_wait(&c->start_barrier);
    pthread_barrier_wait(&c->end_barrier);
    return measure_now_ns() - start_ns;
}

void crew_stop(struct crew *c)
{
    c->stopping = true;
    pthread_barrier_wait(&c->start_barrier);
    for (unsigned i = 0; i < c->thread_count; i++)
        pthread_join(c->threads[i], NULL);
    pthread_barrier_destroy(&c->start_barrier);
    pthread_barrier_destroy(&c->end_barrier);
}
