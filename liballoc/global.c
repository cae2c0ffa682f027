/* global.c - owns the process-global allocator, every thread's cache of it
 * (initial-exec TLS, so no malloc to create it), its one-time set-up, the
 * thread-exit hook and the fork hooks. Set-up runs on the first slow-path
 * call, from whichever thread gets there first; the others spin until it
 * is done. Nothing in set-up allocates through us (options read environ
 * directly), so it cannot recurse; pthread_atfork, which may allocate, is
 * called only once the allocator is usable. */
#define _GNU_SOURCE
#include "global.h"
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "prim.h"
#include "report.h"
#include "tracer.h"

struct ortho_allocator global_allocator;
/* Sentinels: all bins empty, all limits 0; only ever read. */
static struct ortho_cache global_unbound_cache = {.state = CACHE_UNBOUND};
static struct ortho_cache global_retired_cache = {.state = CACHE_RETIRED};
ORTHO_TLS struct ortho_cache *global_thread_cache = &global_unbound_cache;

typedef enum {
    GLOBAL_UNINIT = 0,
    GLOBAL_INITIALIZING,
    GLOBAL_READY,
    GLOBAL_FAILED, /* the arena could not be reserved: every allocation fails */
} global_state_t;

static _Atomic int global_state;         /* global_state_t */
static struct options global_opts;      /* written once, during set-up */
static pthread_key_t global_exit_key;    /* its destructor retires a cache */
static bool global_exit_key_ok;          /* pthread_key_create succeeded */

const struct options *global_options(void)
{
    return &global_opts;
}

/* pthread key destructor: runs at thread exit for threads that bound a
 * cache (unless the thread bound it in glibc's last destructor round; the
 * record is then reclaimed later, see registry_acquire). Blocks go
 * back to the pools; later allocations of this thread (other destructors)
 * go uncached through the retired sentinel. */
static void global_thread_exit(void *arg)
{
    global_thread_cache = &global_retired_cache;
    registry_release((struct ortho_cache *)arg);
    if (ORTHO_UNLIKELY(tracer_on))
        tracer_thread_exit(); /* after the flush, whose drains it records */
}

static void global_fork_prepare(void)
{
    tracer_fork_prepare();
    allocator_fork_prepare(&global_allocator);
}

static void global_fork_parent(void)
{
    allocator_fork_parent(&global_allocator);
}

static void global_fork_child(void)
{
    /* No events while the parent's segment is still mapped: they would land
     * in the parent's rings. The tracer re-enables them once the child has
     * a segment of its own. */
    global_allocator.traced = false;
    global_allocator.large.traced = false;
    struct ortho_cache *self = global_thread_cache;
    allocator_fork_child(&global_allocator, self->state == CACHE_ACTIVE ? self : NULL);
    tracer_fork_child();
}

static void global_report_failed_setup(void)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: cannot reserve the arena (");
    report_bytes(&line, global_opts.config.arena_region_bytes);
    report_str(&line, " of address space); every allocation will fail with ENOMEM; "
                      "lower ORTHO_ARENA_REGION_SIZE or raise ulimit -v");
    report_emit(&line);
}

/* Sets up the global allocator once. true when it is usable. */
static bool global_setup(void)
{
    int state = atomic_load_explicit(&global_state, memory_order_acquire);
    if (ORTHO_LIKELY(state == GLOBAL_READY))
        return true;
    int expected = GLOBAL_UNINIT;
    if (state == GLOBAL_UNINIT &&
        atomic_compare_exchange_strong(&global_state, &expected, GLOBAL_INITIALIZING)) {
        options_load(&global_opts);
        bool ok = allocator_setup(&global_allocator, &global_opts.config);
        if (ok)
            global_exit_key_ok = pthread_key_create(&global_exit_key, global_thread_exit) == 0;
        atomic_store_explicit(&global_state, ok ? GLOBAL_READY : GLOBAL_FAILED,
                              memory_order_release);
        if (!ok) {
            global_report_failed_setup();
            return false;
        }
        pthread_atfork(global_fork_prepare, global_fork_parent, global_fork_child);
        return true;
    }
    while ((state = atomic_load_explicit(&global_state, memory_order_acquire)) ==
           GLOBAL_INITIALIZING)
        sched_yield();
    return state == GLOBAL_READY;
}

bool global_ready(void)
{
    return global_setup();
}

/* Binds the calling thread's cache on its first slow-path call. false:
 * the allocator could not be set up, or no record could be mapped. */
static bool global_bind_thread(void)
{
    if (ORTHO_LIKELY(global_thread_cache != &global_unbound_cache))
        return true;
    if (!global_setup())
        return false;
    struct ortho_cache *cache = registry_acquire(&global_allocator, true);
    if (cache == NULL)
        return false;
    global_thread_cache = cache;
    /* After binding, so an allocation inside pthread_setspecific (keys past
     * the first 32 need a second-level array) finds a working cache. */
    if (global_exit_key_ok)
        pthread_setspecific(global_exit_key, cache);
    return true;
}

void *global_alloc_slow(size_t n, size_t align, bool *fresh_zero)
{
    if (!global_bind_thread()) {
        allocator_set_status(ORTHO_E_NOMEM);
        errno = ENOMEM;
        return NULL;
    }
    return allocator_alloc_slow(&global_allocator, global_thread_cache, n, align, fresh_zero);
}

void *global_alloc_rest(void *p, size_t n, size_t align)
{
    if (p == NULL)
        p = global_alloc_slow(n, align, NULL);
    if (ORTHO_UNLIKELY(tracer_on))
        tracer_alloc(p);
    return p;
}

ortho_status_t global_free_rest(void *p, struct free_failure *why)
{
    if (ORTHO_UNLIKELY(tracer_on))
        tracer_free(p, 0);
    if (cache_free_fast(&global_allocator.arena, global_thread_cache, p))
        return ORTHO_OK;
    return global_free_slow(p, 0, why);
}

ortho_status_t global_free_slow(void *p, size_t expected_size, struct free_failure *why)
{
    if (p != NULL && global_thread_cache == &global_unbound_cache &&
        atomic_load_explicit(&global_state, memory_order_acquire) == GLOBAL_READY)
        global_bind_thread();
    if (global_thread_cache == &global_unbound_cache &&
        atomic_load_explicit(&global_state, memory_order_acquire) != GLOBAL_READY) {
        /* Allocator not set up yet: nothing can be ours. */
        why->verdict = HEADER_OK;
        why->class_index = SIZE_CLASS_LARGE;
        return p == NULL ? ORTHO_OK : ORTHO_E_FOREIGN;
    }
    /* A thread that could not get a record frees uncached, like a retired one. */
    struct ortho_cache *cache = global_thread_cache == &global_unbound_cache ? &global_retired_cache
                                                                            : global_thread_cache;
    return allocator_free_slow(&global_allocator, cache, p, expected_size, why);
}
