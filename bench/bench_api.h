/* bench_api.h - the allocator under test, as two inline calls every workload
 * uses: bench_api_alloc and bench_api_free. The API is chosen once, before
 * any workload runs (--api): "ortho" calls ortho_alloc/ortho_free of
 * liborthotope directly; "malloc" calls aligned_alloc/free and never touches
 * an ortho_* symbol, so whichever allocator the dynamic linker put first
 * (LD_PRELOAD) is the one measured. Every block is 64-byte aligned under both
 * APIs, and every returned pointer is checked for that (one AND, one branch):
 * the comparison is only fair if all allocators give the same guarantee. */
#ifndef BENCH_API_H
#define BENCH_API_H

#include <stdint.h>
#include <stdlib.h>

#include "orthotope.h"

/* Alignment every workload asks for: orthotope's natural alignment (one
 * cache line), so competitors must match what orthotope gives for free. */
#define BENCH_ALIGN_BYTES ((size_t)ORTHO_MIN_ALIGN)

enum bench_api_kind {
    BENCH_API_ORTHO,  /* ortho_alloc / ortho_free */
    BENCH_API_MALLOC, /* aligned_alloc(64, round_up(n, 64)) / free */
};

/* The one piece of global state of the bench: which API the workloads call.
 * Owned by bench_api.c, written once by bench_api_select before any thread
 * starts, read-only afterwards. */
struct bench_api {
    enum bench_api_kind kind; /* API in force */
};
extern struct bench_api bench_api_state;

/* Selects the API by name ("ortho" or "malloc"). Returns 0, or -1 for an
 * unknown name (nothing changed). */
int bench_api_select(const char *name);
/* Name of the API in force ("ortho" or "malloc"). */
const char *bench_api_name(void);
/* Path of the shared object that serves the API in force: the object that
 * defines ortho_alloc, or the one that defines aligned_alloc (and free) as
 * the program resolves them. Returns NULL, with a reason in *why, when the
 * symbols cannot be located or aligned_alloc and free come from different
 * objects (which would corrupt the heap). Never allocates. */
const char *bench_api_provider(const char **why);

/* Cold exits: print one line saying what failed and abort. */
__attribute__((noreturn, cold)) void bench_api_fail_alloc(size_t size_bytes, const void *p);
__attribute__((noreturn, cold)) void bench_api_fail_free(const void *p, int status);

/* Request size rounded up to the alignment: C11 aligned_alloc requires a
 * size that is a multiple of the alignment. */
static inline size_t bench_api_round_up(size_t size_bytes)
{
    return (size_bytes + BENCH_ALIGN_BYTES - 1) & ~(BENCH_ALIGN_BYTES - 1);
}

/* Allocates `size_bytes` (> 0) 64-byte aligned from the allocator under
 * test. Never returns NULL or a misaligned pointer: either aborts. */
static inline void *bench_api_alloc(size_t size_bytes)
{
    void *p;
    if (bench_api_state.kind == BENCH_API_ORTHO)
        p = ortho_alloc(size_bytes);
    else
        p = aligned_alloc(BENCH_ALIGN_BYTES, bench_api_round_up(size_bytes));
    if (__builtin_expect(p == NULL || ((uintptr_t)p & (BENCH_ALIGN_BYTES - 1)) != 0, 0))
        bench_api_fail_alloc(size_bytes, p);
    return p;
}

/* Frees a block of bench_api_alloc. Aborts if orthotope refuses it (that
 * would be an allocator bug: the workloads only free what they allocated). */
static inline void bench_api_free(void *p)
{
    if (bench_api_state.kind == BENCH_API_ORTHO) {
        ortho_status_t status = ortho_free(p);
        if (__builtin_expect(status != ORTHO_OK, 0))
            bench_api_fail_free(p, (int)status);
    } else {
        free(p);
    }
}

#endif
