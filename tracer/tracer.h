/* tracer.h - the producer side of tracing, as the allocator sees it: one
 * flag to test and a handful of hooks. With ORTHO_TRACE unset the flag is 0
 * for the life of the process and every hook site costs one predictable
 * branch. With it set, tracer_start (a library constructor) creates this
 * image's shared segment (segment.h), starts or finds the collector, and
 * turns the flag on; the hooks then write records into the calling
 * thread's ring. Hooks never take a lock, never call malloc and never
 * print on the allocation path; an allocation made from inside a hook
 * (libunwind, the dynamic linker) is simply not traced. */
#ifndef ORTHO_TRACER_TRACER_H
#define ORTHO_TRACER_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Non-zero while this process traces. Read with a plain load on hot paths:
 * it changes at most twice (on at start-up, off if the collector dies). */
extern ORTHO_HIDDEN int tracer_on;

/* Constructor body: reads the ORTHO_TRACE* options, sets everything up, or
 * prints one line and leaves tracing off. */
void tracer_start(void);

/* p was just handed out by the global allocator (NULL: nothing). */
void tracer_alloc(void *p);
/* p is about to be freed by the global allocator with `expected_size` (0:
 * unsized). Records the FREE only if p is a live block of ours that the
 * free will accept. */
void tracer_free(const void *p, size_t expected_size);
/* realloc resized p in place: the allocation identified by (p,
 * old_alloc_ts_ns) ended and a new one with the header's current size
 * began. */
void tracer_resized(void *p, uint64_t old_alloc_ts_ns, unsigned old_class);

/* An allocator-internal event (record.h kinds CACHE_REFILL, CACHE_DRAIN,
 * ARENA_CARVE, LARGE_MAP, LARGE_UNMAP, OS_RELEASE). */
void tracer_event(unsigned kind, unsigned class_index, uint64_t addr, uint64_t word);

/* A misuse was detected at p by `call`; `kind` as in the corruption table.
 * header_readable: the 64 bytes in front of p may be read. */
void tracer_corruption(const char *call, const char *kind, const void *p, unsigned class_index,
                       bool header_readable);

/* The process is about to end (exit or abort): hand everything to the
 * collector and wait, bounded, until it has committed it. */
void tracer_finish(void);

/* Thread exit hook (after the thread's cache was flushed). */
void tracer_thread_exit(void);

/* fork hooks, called from the allocator's. */
void tracer_fork_prepare(void);
void tracer_fork_child(void);

#endif
