/* bench_api.h - the allocator under test, behind the two inline calls every
 * workload makes: bench_api_alloc and bench_api_free. The entry point is
 * chosen once, before any workload runs (--api), and is one of:
 *   ortho        ortho_alloc / ortho_free, the process-global allocator;
 *   ortho-cache  the route the Rust crate's bench gives orthotope: a fresh
 *                allocator instance per sample, a cache per thread,
 *                ortho_cache_alloc and the size-checked ortho_cache_free_sized
 *                (the crate's allocate_with_cache / deallocate_with_size_checked);
 *   malloc       malloc / free;
 *   memalign     posix_memalign(64) / free, which is what Rust's System
 *                allocator calls on Linux for the crate's 64-byte Layout.
 * malloc and memalign never touch an ortho_* symbol, so whichever allocator
 * the dynamic linker put first (LD_PRELOAD) is the one measured. A thread
 * allocates through a bench_route, which holds its cache under ortho-cache
 * and nothing otherwise. */
#ifndef BENCH_API_H
#define BENCH_API_H

#include <stdint.h>
#include <stdlib.h>

#include "orthotope.h"

/* The alignment of the crate's Layout (ALIGNMENT in its bench/src/lib.rs),
 * asked of every allocator by the memalign entry point and given for free
 * by orthotope's. */
#define BENCH_ALIGN_BYTES ((size_t)64)

enum bench_api_kind {
    BENCH_API_ORTHO,       /* ortho_alloc / ortho_free */
    BENCH_API_ORTHO_CACHE, /* instance per sample, cache per thread, sized free */
    BENCH_API_MALLOC,      /* malloc / free */
    BENCH_API_MEMALIGN,    /* posix_memalign(64) / free */
};

/* The global state of the bench: which entry point the workloads call and,
 * under ortho-cache, the instance of the current sample. Owned by
 * bench_api.c; kind is written once before any thread starts, instance by
 * bench_api_sample_begin/end on the main thread between samples. */
struct bench_api {
    enum bench_api_kind kind;       /* entry point in force */
    ortho_allocator_t *instance;    /* ortho-cache: this sample's allocator */
};
extern struct bench_api bench_api_state;

/* What one thread allocates through: its cache under ortho-cache. */
struct bench_route {
    ortho_cache_t *cache; /* NULL unless ortho-cache */
};

/* Selects the entry point by name ("ortho", "ortho-cache", "malloc",
 * "memalign"). Returns 0, or -1 for an unknown name (nothing changed). */
int bench_api_select(const char *name);
/* Name of the entry point in force. */
const char *bench_api_name(void);
/* Path of the shared object that serves the entry point in force, as the
 * program resolves its symbols. Returns NULL, with a reason in *why, when a
 * symbol cannot be located or the alloc and free halves come from different
 * objects (which would corrupt the heap). */
const char *bench_api_provider(const char **why);

/* Before a sample's timed part: creates the sample's instance under
 * ortho-cache (the crate builds a new Allocator for every sample); nothing
 * otherwise. Aborts with one line if the instance cannot be made. */
void bench_api_sample_begin(void);
/* After a sample: destroys that instance. All routes must be closed. */
void bench_api_sample_end(void);
/* Opens the calling thread's route (its cache on the sample's instance
 * under ortho-cache). Aborts with one line on failure. */
void bench_api_route_open(struct bench_route *route);
/* Closes it: the cache's blocks go back to the instance. */
void bench_api_route_close(struct bench_route *route);

/* Cold exits: print one line saying what failed and abort. */
__attribute__((noreturn, cold)) void bench_api_fail_alloc(size_t size_bytes, const void *p);
__attribute__((noreturn, cold)) void bench_api_fail_free(const void *p, int status);

/* Allocates `size_bytes` (> 0) through the entry point in force. Never
 * returns NULL (the crate's backends turn NULL into an error, so does this:
 * it aborts), nor, where 64-byte alignment is promised, a misaligned
 * pointer. */
static inline void *bench_api_alloc(struct bench_route *route, size_t size_bytes)
{
    void *p;
    uintptr_t must_be_zero;
    switch (bench_api_state.kind) {
    case BENCH_API_ORTHO:
        p = ortho_alloc(size_bytes);
        must_be_zero = BENCH_ALIGN_BYTES - 1;
        break;
    case BENCH_API_ORTHO_CACHE:
        p = ortho_cache_alloc(route->cache, size_bytes);
        must_be_zero = BENCH_ALIGN_BYTES - 1;
        break;
    case BENCH_API_MEMALIGN:
        if (posix_memalign(&p, BENCH_ALIGN_BYTES, size_bytes) != 0)
            p = NULL;
        must_be_zero = BENCH_ALIGN_BYTES - 1;
        break;
    default:
        p = malloc(size_bytes);
        must_be_zero = 0;
        break;
    }
    if (__builtin_expect(p == NULL || ((uintptr_t)p & must_be_zero) != 0, 0))
        bench_api_fail_alloc(size_bytes, p);
    return p;
}

/* Frees a block of bench_api_alloc; `size_bytes` is what was asked for
 * (checked by ortho-cache's sized free, as the crate's orthotope backend
 * does; ignored by the others). Aborts if orthotope refuses the block: the
 * workloads only free what they allocated. */
static inline void bench_api_free(struct bench_route *route, void *p, size_t size_bytes)
{
    ortho_status_t status;
    switch (bench_api_state.kind) {
    case BENCH_API_ORTHO:
        status = ortho_free(p);
        break;
    case BENCH_API_ORTHO_CACHE:
        status = ortho_cache_free_sized(route->cache, p, size_bytes);
        break;
    default:
        free(p);
        return;
    }
    if (__builtin_expect(status != ORTHO_OK, 0))
        bench_api_fail_free(p, (int)status);
}

#endif
