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
#include "trace_port.h"

struct ortho_allocator global_allocator;
/* The pool of sampled blocks (ORTHO_GUARD_SAMPLE); the global allocator
 * points at it once sampling is on. */
static struct guard_pool global_guard_pool;
int trace_port_on; /* trace_port.h: the one on-switch, written by the tracer */
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
static pthread_key_t global_exit_key;    /* its destructor retires a cache */
static bool global_exit_key_ok;          /* pthread_key_create succeeded */

const struct options *global_options(void)
{
    return options_process();
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
    if (ORTHO_UNLIKELY(trace_port_on))
        trace_port_thread_exit(); /* after the flush, whose drains it records */
}

static void global_fork_prepare(void)
{
    trace_port_fork_prepare();
    allocator_fork_prepare(&global_allocator);
}

static void global_fork_parent(void)
{
    allocator_fork_parent(&global_allocator);
    trace_port_fork_parent();
}

static void global_fork_child(void)
{
    /* The child still maps the parent's trace segment: tracing goes off
     * before the allocator records anything (retiring the parent's other
     * threads' caches records their drains, which landed in the parent's
     * ring while the parent pushed into it: a fork storm of 200 children
     * of a 4-thread parent had that ring abandoned as overwritten about
     * once in 40 runs), and back on, on a segment of the child's own, once
     * the allocator works again. */
    trace_port_fork_child_detach();
    struct ortho_cache *self = global_thread_cache;
    allocator_fork_child(&global_allocator, self->state == CACHE_ACTIVE ? self : NULL);
    trace_port_fork_child();
}

static void global_report_failed_setup(void)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: cannot reserve the arena (");
    report_bytes(&line, options_process()->config.arena_region_bytes);
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
        bool ok = allocator_setup(&global_allocator, &options_process()->config);
        if (ok) {
            global_allocator.is_global = true;
            global_allocator.large.is_global = true;
            if (options_process()->check == OPTIONS_CHECK_FULL)
                allocator_enable_full_check(&global_allocator,
                                            options_process()->quarantine_bytes);
            if (options_process()->guard_sample != 0 &&
                guard_enable(&global_guard_pool, options_process()->guard_sample))
                global_allocator.guard = &global_guard_pool;
        }
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

void *global_trace_alloc(void *p, trace_port_entry_t entry)
{
    if (p == NULL)
        return NULL;
    header_t *h = header_of_user(p);
    return trace_port_alloc(p, h->requested_bytes, h->usable_bytes, global_trace_class(h), entry,
                            &h->trace);
}

void global_trace_free(const void *p, size_t expected_size)
{
    if (p == NULL)
        return;
    /* The cheap check of free's own fast path first, the full one for
     * everything else (large blocks, other regions, and what free will
     * refuse). */
    unsigned cls;
    struct free_failure why;
    header_t *h = cache_live_small(&global_allocator.arena, p, &cls);
    if (h == NULL && allocator_check_live(&global_allocator, p, &h, &why) != ORTHO_OK)
        return;
    if (expected_size != 0 && expected_size != h->requested_bytes)
        return;
    trace_port_free(p, h->requested_bytes, global_trace_class(h), &h->trace);
}

void global_trace_resized(void *p, const trace_port_tag_t *old, unsigned old_cls)
{
    header_t *h = header_of_user(p);
    trace_port_resized(p, h->requested_bytes, h->usable_bytes, global_trace_class(h), &h->trace,
                       old, old_cls);
}

/* A traced allocation the cache served ends in a tail call of the tracer's
 * hook (which returns p), so it costs no frame here: saving registers for
 * a call in the middle was 10 of this function's 28 instructions (jq). */
void *global_alloc_rest(void *p, size_t n, size_t align, trace_port_entry_t entry)
{
    if (ORTHO_UNLIKELY(p == NULL)) {
        p = global_alloc_slow(n, align, NULL);
        if (p == NULL)
            return NULL;
    }
    if (ORTHO_UNLIKELY(trace_port_on))
        return global_trace_alloc(p, entry);
    return p;
}

/* free with tracing on: the FREE is recorded before the block goes back
 * (another thread may take it at once), and free's cheap check serves
 * both; what it does not vouch for takes the full checks. */
static ortho_status_t global_free_traced(void *p, struct free_failure *why)
{
    unsigned cls;
    header_t *h = cache_live_small(&global_allocator.arena, p, &cls);
    if (ORTHO_UNLIKELY(h == NULL)) {
        global_trace_free(p, 0);
        return global_free_slow(p, 0, why);
    }
    trace_port_free(p, h->requested_bytes, global_trace_class(h), &h->trace);
    if (cache_keep_live_small(global_thread_cache, h, cls))
        return ORTHO_OK;
    return global_free_slow(p, 0, why);
}

ortho_status_t global_free_rest(void *p, struct free_failure *why)
{
    if (ORTHO_UNLIKELY(trace_port_on))
        return global_free_traced(p, why);
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
