/* global.h - the process-global allocator: the one instance behind
 * ortho_alloc/ortho_free and, when preloaded, behind malloc. Exposes the
 * pieces shim.c needs: the inline fast paths bound to the global instance
 * and the thread's cache, and the options read from the environment. */
#ifndef ORTHO_GLOBAL_H
#define ORTHO_GLOBAL_H

#include "allocator.h"
#include "options.h"
#include "trace_port.h"

extern ORTHO_HIDDEN struct ortho_allocator global_allocator;
/* The calling thread's cache record. Starts at a shared, never-written
 * "unbound" sentinel whose bins are empty and whose limits are 0, so the
 * fast paths need no NULL check: every operation misses into the slow
 * path, which binds a real record. After the thread's exit hook it points
 * at a "retired" sentinel: uncached from then on. */
extern ORTHO_HIDDEN ORTHO_TLS struct ortho_cache *global_thread_cache;

/* Options in force: the process's, read once (options_process). */
const struct options *global_options(void);
/* Sets the global allocator up if it is not yet; true when it is usable. */
bool global_ready(void);

/* Slow paths of the global allocator: make sure it and the calling thread's
 * cache are set up, then defer to allocator_*_slow. */
void *global_alloc_slow(size_t n, size_t align, bool *fresh_zero);
ortho_status_t global_free_slow(void *p, size_t expected_size, struct free_failure *why);

/* The rest of an allocation after cache_alloc_fast (p: what it returned;
 * NULL to go straight to the slow path, as over-aligned requests do): the
 * slow path for n bytes aligned to `align` (0 or <= 64: the natural 64) if
 * p is NULL, then the tracer if tracing, told that the call came through
 * `entry`. Out of line on purpose: entry points end in a tail call to it,
 * so their fast path needs no stack frame. */
void *global_alloc_rest(void *p, size_t n, size_t align, trace_port_entry_t entry);
/* The rest of a free after cache_free_fast missed, or when tracing: the
 * tracer, then the whole free. ORTHO_OK or the reason in *why. */
ortho_status_t global_free_rest(void *p, struct free_failure *why);

/* The class argument the trace port uses for the block of h. */
ORTHO_INLINE unsigned global_trace_class(const header_t *h)
{
    return h->kind == HEADER_KIND_SMALL ? h->class_index : TRACE_PORT_CLASS_LARGE;
}

/* Tells the tracer that p was just handed out through `entry` (p may be
 * NULL: nothing), and returns p. Call only while trace_port_on. */
void *global_trace_alloc(void *p, trace_port_entry_t entry);
/* Tells the tracer that p is about to be freed with `expected_size` (0:
 * unsized) if the free will accept it; a free that will be refused is not
 * a free. Call only while trace_port_on. */
void global_trace_free(const void *p, size_t expected_size);
/* Tells the tracer that realloc resized p in place: the allocation whose
 * tag was `old` (class old_cls) ended, the one in p's header began. Call
 * only while trace_port_on. */
void global_trace_resized(void *p, const trace_port_tag_t *old, unsigned old_cls);

/* Allocates n bytes (n == 0 is refused with ORTHO_E_ZERO_SIZE) and traces
 * the result as a call of `entry` (a constant at every call site): the one
 * allocation path of every entry point. */
ORTHO_INLINE void *global_alloc(size_t n, trace_port_entry_t entry)
{
    void *p = cache_alloc_fast(global_thread_cache, n);
    if (ORTHO_LIKELY(p != NULL && !trace_port_on))
        return p;
    return global_alloc_rest(p, n, 0, entry);
}

/* Whether the inline free took p (untraced, cache hit); false: the caller
 * must finish with global_free_rest or its own equivalent. */
ORTHO_INLINE bool global_free_fast(void *p)
{
    return ORTHO_LIKELY(!trace_port_on) &&
           cache_free_fast(&global_allocator.arena, global_thread_cache, p);
}

#endif
