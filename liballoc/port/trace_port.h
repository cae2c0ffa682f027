/* trace_port.h - the one-way port between the allocator and a tracer. The
 * allocator owns it: it declares the one on-switch and the hooks the
 * allocator calls, each taking plain values (address, sizes, class, event
 * kind), and the per-block words a tracer may keep in a block's header.
 * tracer/ implements the hooks; liballoc never sees how records look, and
 * the tracer never sees a header, a cache or an arena: what it needs to
 * know about a block comes in the hook's arguments, and what it needs to
 * know about the whole allocator comes from the public API (ortho_stats,
 * ortho_class_*). In the spirit of mimalloc's track.h and jemalloc's
 * profiling hooks.
 *
 * Rules for implementations: a hook runs inside malloc or free of any
 * thread, so it never takes a lock the allocator could hold, never calls
 * malloc through us (a nested allocation is simply not traced), and keeps
 * errno. The allocator calls the allocation hooks only while
 * trace_port_on is set, and the event hooks only for the process-global
 * allocator (instances are not traced). */
#ifndef ORTHO_TRACE_PORT_H
#define ORTHO_TRACE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "compiler.h"

/* The one on-switch: non-zero while a tracer takes this process's events.
 * Read with a plain load on the allocation paths (it changes a few times
 * in a process's life: on at start-up, off and on around a fork child's
 * re-attach, off if the collector dies); written only by the tracer. */
extern ORTHO_HIDDEN int trace_port_on;

/* Class argument of blocks on the large path (above the last size class);
 * size classes are 0 .. ortho_class_count() - 1. */
#define TRACE_PORT_CLASS_LARGE 0xfeu
/* Class argument of events that concern no class. */
#define TRACE_PORT_CLASS_NONE 0xffu

/* The tracer's words in every live block's header: written by
 * trace_port_alloc, handed back at free and at a misuse report. The
 * allocator never writes them for a live block, so a block allocated while
 * untraced (or from inside a hook) holds stale words the tracer must
 * tolerate (its free then matches no allocation); a freed block lends them
 * to the central pool. */
typedef struct trace_port_tag {
    uint64_t alloc_ts_ns; /* allocation time, 0 if untraced */
    uint32_t stack_id;    /* allocation stack, 0 if none */
    uint32_t thread_id;   /* allocating thread, 0 if untraced */
} trace_port_tag_t;

/* Allocator-internal events (a tracer keeps per-class gauges from them). */
typedef enum {
    TRACE_PORT_CACHE_REFILL = 1, /* word: blocks a thread cache took; addr: TRACE_PORT_FROM_* */
    TRACE_PORT_CACHE_DRAIN,      /* word: blocks a thread cache gave to the pool */
    TRACE_PORT_ARENA_CARVE,      /* addr: span start; word: blocks carved */
    TRACE_PORT_LARGE_MAP,        /* addr: mapping start; word: bytes mapped */
    TRACE_PORT_LARGE_UNMAP,      /* addr: mapping start; word: bytes unmapped */
    TRACE_PORT_OS_RELEASE,       /* addr: range start; word: bytes given back */
} trace_port_event_t;

/* Where a CACHE_REFILL's blocks came from (its addr argument). */
#define TRACE_PORT_FROM_POOL 0u
#define TRACE_PORT_FROM_ARENA 1u

/* The size classes the allocator serves, as chosen at start-up (the
 * allocator sets them up on this first call if it has not yet). Implemented
 * by liballoc: the one query of allocator facts a tracer needs beyond the
 * public API. */
const struct class_table *trace_port_class_table(void);

/* The entry point an allocation came through (trace_port_alloc's `entry`
 * argument): each exported allocating function passes its own as a
 * constant, so telling them apart costs the traced path one register and
 * the untraced fast path nothing. */
typedef enum {
    TRACE_PORT_ENTRY_MALLOC = 1,   /* malloc */
    TRACE_PORT_ENTRY_CALLOC,       /* calloc */
    TRACE_PORT_ENTRY_REALLOC,      /* realloc (and reallocarray) that moved the block */
    TRACE_PORT_ENTRY_REALLOC_NULL, /* realloc (and reallocarray) of NULL */
    TRACE_PORT_ENTRY_ALIGNED,      /* posix_memalign, aligned_alloc, memalign, valloc, pvalloc */
    TRACE_PORT_ENTRY_NEW,          /* C++ operator new, every form */
    TRACE_PORT_ENTRY_API,          /* ortho_alloc, ortho_alloc_aligned */
} trace_port_entry_t;

/* p (user pointer) was just handed out through `entry`: `requested` bytes
 * asked for, `usable` bytes it may use, in class `cls` (or
 * TRACE_PORT_CLASS_LARGE). The hook fills *tag, and returns p, so that an
 * allocator path that ends in the hook can end in a tail call (no frame
 * of its own to keep p in). */
void *trace_port_alloc(void *p, uint64_t requested, uint64_t usable, unsigned cls,
                      trace_port_entry_t entry, trace_port_tag_t *tag);

/* p, a live block the allocator has validated and is about to free, with
 * its requested size, class and tag as its allocation left them. */
void trace_port_free(const void *p, uint64_t requested, unsigned cls, const trace_port_tag_t *tag);

/* realloc resized p in place: the allocation `old` (the tag before the
 * resize, of class old_cls) ended and a new one of `requested`/`usable`
 * bytes in class `cls` began at the same address (its entry is realloc:
 * no other entry resizes). The hook fills *tag. */
void trace_port_resized(void *p, uint64_t requested, uint64_t usable, unsigned cls,
                        trace_port_tag_t *tag, const trace_port_tag_t *old, unsigned old_cls);

/* The calling thread is about to hand free blocks of the process-global
 * allocator to the central pool, where any thread may take them: called
 * before they become visible there. (The tracer keeps allocation times
 * unique per address across threads with it; the refill that takes them
 * is a CACHE_REFILL event.) */
void trace_port_handoff(void);

/* An event of the process-global allocator; cls may be TRACE_PORT_CLASS_NONE. */
void trace_port_event(trace_port_event_t kind, unsigned cls, uint64_t addr, uint64_t word);

/* A misuse was detected at p by `call` (free, realloc, ...): `kind` as in
 * the corruption table ("double_free"), `cls` the class the header claims
 * (TRACE_PORT_CLASS_NONE if unknown), `header` the 64 raw bytes in front of
 * p when they could be read (else NULL) and `alloc` the tag words of the
 * allocation: those the header holds (possibly stale or smashed: they are
 * what the header says, not a fact), or a copy the allocator kept where the
 * header cannot be read (a guard slot), or NULL when neither is known. */
void trace_port_corruption(const char *call, const char *kind, const void *p, unsigned cls,
                           const void *header, const trace_port_tag_t *alloc);

/* The process is about to die on purpose (a misuse abort): hand everything
 * to the collector and wait, bounded, until it is committed. */
void trace_port_finish(void);

/* The calling thread is exiting; its cache was flushed already. */
void trace_port_thread_exit(void);

/* fork(): before, and after in the parent; in the child (single-threaded), first
 * trace_port_fork_child_detach, before anything that may record an event
 * (the allocator's child handler retires the dead threads' caches, which
 * records their drains, and the rings are still the parent's, shared),
 * then trace_port_fork_child once the allocator is usable again. */
void trace_port_fork_prepare(void);
void trace_port_fork_parent(void);
void trace_port_fork_child_detach(void);
void trace_port_fork_child(void);

#endif
