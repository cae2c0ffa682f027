/* symworker.c - see symworker.h. One thread, a FIFO of batches under a
 * mutex and a condition variable that wakes the thread for work: the queue
 * sees a batch per image per commit interval at most, so nothing here is
 * hot. A batch's `done` flag is an atomic the draining thread polls, so
 * nobody ever blocks on the worker.
 *
 * Pacing: while every traced image is still running, naming is the one
 * part of tracing that can wait, so it takes at most a tenth of a core
 * (after a short burst, so the few new stacks of an interval are named at
 * once) and sleeps off the rest: a python3 importing numpy has thousands
 * of stacks to name, and on a two-core machine naming them flat out slowed
 * the program by a tenth. Once an image has ended (symworker_hurry) nobody
 * runs on its behalf and its end waits for the names: no pacing then. */
#define _GNU_SOURCE
#include "symworker.h"

#include "symmodule.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYMWORKER_NICE 10            /* the naming thread's nice value (Linux: per thread) */
#define SYMWORKER_SHARE_PERCENT 10u  /* of one core, while no image waits for names */
#define SYMWORKER_BURST_NS 20000000ull  /* CPU time a busy spell may take before pacing */
#define SYMWORKER_NAP_NS 5000000ull     /* longest sleep between two looks at hurry */

struct symworker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct sym_batch *head, *tail;
    bool stopping;
    bool threaded; /* false: batches are resolved inside submit */
    pthread_t thread;
    atomic_uint hurry;         /* ended images waiting for their names */
    uint64_t spell_cpu_ns;     /* the worker's: thread CPU and wall clock */
    uint64_t spell_wall_ns;    /* at the start of its current busy spell */
    struct sym_modules *modules; /* every image's modules, opened once (the worker's) */
};

static uint64_t symworker_clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Called between two stacks: sleeps while this busy spell has used more
 * than its share of a core, unless an ended image is waiting. */
static void symworker_pace(struct symworker *w)
{
    while (atomic_load_explicit(&w->hurry, memory_order_relaxed) == 0) {
        uint64_t cpu = symworker_clock_ns(CLOCK_THREAD_CPUTIME_ID) - w->spell_cpu_ns;
        uint64_t wall = symworker_clock_ns(CLOCK_MONOTONIC) - w->spell_wall_ns;
        uint64_t allowed = wall / 100u * SYMWORKER_SHARE_PERCENT + SYMWORKER_BURST_NS;
        if (cpu <= allowed)
            return;
        uint64_t owed = (cpu - allowed) * (100u / SYMWORKER_SHARE_PERCENT);
        uint64_t nap = owed < SYMWORKER_NAP_NS ? owed : SYMWORKER_NAP_NS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap};
        nanosleep(&ts, NULL);
    }
}

/* Registers b's modules with the image's symbolizer (created on first use)
 * and names every frame; paced when `pace`. */
static void symworker_resolve(struct symworker *w, struct sym_batch *b, bool pace)
{
    struct sym_modules_stats before, after;
    sym_modules_stats(w->modules, &before);
    if (*b->sym == NULL) /* NULL (out of memory): frames stay unnamed */
        *b->sym = symbolizer_create_shared(w->modules);
    for (size_t i = 0; i < b->module_count && *b->sym != NULL; i++)
        symbolizer_add_module(*b->sym, b->module_paths[i], b->module_biases[i]);
    for (size_t s = 0; s < b->stack_count; s++) {
        if (pace)
            symworker_pace(w);
        size_t first = b->stack_first[s];
        symbolizer_lookup_stack(*b->sym, &b->pcs[first], b->stack_depths[s], &b->frames[first]);
    }
    sym_modules_stats(w->modules, &after);
    b->frames_without_fds = after.unopenable - before.unopenable;
}

void symworker_hurry(struct symworker *w, bool on)
{
    if (on)
        atomic_fetch_add_explicit(&w->hurry, 1, memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&w->hurry, 1, memory_order_relaxed);
}

/* What the worker does with a batch. A retiring batch is the worker's
 * own (symworker_retire): nobody waits for it, so it is freed here and
 * symworker_finish reports whether it was. */
static bool symworker_finish(struct symworker *w, struct sym_batch *b, bool pace)
{
    if (b->retire == NULL) {
        symworker_resolve(w, b, pace);
        return false;
    }
    symbolizer_destroy(b->retire);
    sym_batch_free(b);
    return true;
}

static void *symworker_main(void *arg)
{
    struct symworker *w = arg;
    /* Naming is background work: besides the pacing, on a machine whose
     * cores other work keeps busy it yields most of its share - but not
     * all, as under SCHED_IDLE, where a busy machine could hold an ended
     * process's last names (and its end_ns) for minutes. Failing to lower
     * it changes nothing but that. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SYMWORKER_NICE);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->head == NULL) {
            while (w->head == NULL && !w->stopping)
                pthread_cond_wait(&w->cond, &w->lock);
            /* A new busy spell: its share is counted from here. */
            w->spell_cpu_ns = symworker_clock_ns(CLOCK_THREAD_CPUTIME_ID);
            w->spell_wall_ns = symworker_clock_ns(CLOCK_MONOTONIC);
        }
        struct sym_batch *b = w->head;
        if (b == NULL)
            break; /* stopping, and every batch is done */
        w->head = b->next;
        if (w->head == NULL)
            w->tail = NULL;
        pthread_mutex_unlock(&w->lock);
        if (!symworker_finish(w, b, true))
            atomic_store_explicit(&b->done, true, memory_order_release);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct symworker *symworker_create(void)
{
    struct symworker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->modules = sym_modules_create(0);
    if (w->modules == NULL) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    atomic_init(&w->hurry, 0);
    w->threaded = pthread_create(&w->thread, NULL, symworker_main, w) == 0;
    return w;
}

void symworker_destroy(struct symworker *w)
{
    if (w == NULL)
        return;
    if (w->threaded) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    sym_modules_destroy(w->modules); /* the thread has stopped; symbolizers not retired keep it */
    free(w);
}

void symworker_submit(struct symworker *w, struct sym_batch *b)
{
    b->next = NULL;
    if (!w->threaded) {
        if (!symworker_finish(w, b, false))
            atomic_store_explicit(&b->done, true, memory_order_release);
        return;
    }
    pthread_mutex_lock(&w->lock);
    if (w->tail != NULL)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void symworker_retire(struct symworker *w, struct symbolizer *sym)
{
    if (sym == NULL)
        return;
    struct sym_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return; /* out of memory: the symbolizer leaks rather than race */
    b->retire = sym;
    symworker_submit(w, b);
}

bool symworker_done(const struct sym_batch *b)
{
    return atomic_load_explicit(&b->done, memory_order_acquire);
}

/* Whether stack st goes into this batch. */
static bool sym_batch_wants(const struct stack_state *st, bool retry)
{
    return st->pcs != NULL && (!st->written || (retry && !st->symbolized));
}

struct sym_batch *sym_batch_collect(struct proc_state *p, size_t *modules_sent,
                                    struct symbolizer **sym)
{
    bool retry = p->modules_changed;
    size_t modules = p->module_count > *modules_sent ? p->module_count - *modules_sent : 0;
    size_t stacks = 0, frames = 0;
    for (uint32_t id = 1; id < p->stacks_cap; id++)
        if (sym_batch_wants(&p->stacks[id], retry)) {
            stacks++;
            frames += p->stacks[id].depth;
        }
    if (modules == 0 && stacks == 0)
        return NULL;
    struct sym_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->sym = sym;
    b->module_paths = calloc(modules + 1, sizeof *b->module_paths);
    b->module_biases = calloc(modules + 1, sizeof *b->module_biases);
    b->stack_ids = calloc(stacks + 1, sizeof *b->stack_ids);
    b->stack_first = calloc(stacks + 1, sizeof *b->stack_first);
    b->stack_depths = calloc(stacks + 1, sizeof *b->stack_depths);
    b->pcs = calloc(frames + 1, sizeof *b->pcs);
    b->frames = calloc(frames + 1, sizeof *b->frames);
    if (b->module_paths == NULL || b->module_biases == NULL || b->stack_ids == NULL ||
        b->stack_first == NULL || b->stack_depths == NULL || b->pcs == NULL || b->frames == NULL) {
        sym_batch_free(b);
        return NULL;
    }
    for (size_t i = 0; i < modules; i++) {
        const struct module_state *m = &p->modules[*modules_sent + i];
        b->module_paths[i] = strdup(m->path);
        if (b->module_paths[i] == NULL) {
            b->module_count = i;
            sym_batch_free(b);
            return NULL;
        }
        b->module_biases[i] = m->bias;
    }
    b->module_count = modules;
    for (uint32_t id = 1; id < p->stacks_cap; id++) {
        const struct stack_state *st = &p->stacks[id];
        if (!sym_batch_wants(st, retry))
            continue;
        b->stack_ids[b->stack_count] = id;
        b->stack_first[b->stack_count] = b->frame_count;
        b->stack_depths[b->stack_count] = st->depth;
        memcpy(&b->pcs[b->frame_count], st->pcs, st->depth * sizeof *st->pcs);
        b->frame_count += st->depth;
        b->stack_count++;
    }
    /* Every module so far goes with this batch, so a later one retries
     * unnamed frames only if more modules arrive. */
    *modules_sent = p->module_count;
    p->modules_changed = false;
    return b;
}

void sym_batch_free(struct sym_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->module_count; i++)
        free(b->module_paths[i]);
    free(b->module_paths);
    free(b->module_biases);
    free(b->stack_ids);
    free(b->stack_first);
    free(b->stack_depths);
    free(b->pcs);
    free(b->frames);
    free(b);
}
