/* shim.c - the malloc family and C++ operators new/delete, exported by
 * liborthotope.so so that LD_PRELOAD puts every allocation of an unmodified
 * program on the global allocator. The only file that knows the malloc
 * names. Contracts follow POSIX and glibc exactly (malloc(0) is a unique
 * pointer, realloc(p, 0) frees and returns NULL as glibc does, memalign
 * rounds a non-power-of-two alignment up, errors are NULL plus errno).
 * A pointer we do not own is passed to glibc's allocator if glibc has
 * anything allocated (memory from before we were loaded), and otherwise
 * reported as misuse. C++ exceptions are raised through libstdc++'s own
 * __throw_bad_alloc, bound weakly so C programs do not load libstdc++. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "global.h"
#include "misuse.h"
#include "prim.h"
#include "report.h"

/* glibc's own allocator, for pointers it handed out before we were loaded. */
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t n);
extern struct mallinfo __libc_mallinfo(void);

/* libstdc++ (present in every C++ program, absent in C ones). */
typedef void (*shim_new_handler_t)(void);
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));
extern shim_new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));

/* Whether glibc's malloc holds any memory: only then can a pointer we do not
 * own be glibc's. */
static bool shim_glibc_has_memory(void)
{
    struct mallinfo info = __libc_mallinfo();
    return info.uordblks > 0 || info.hblkhd > 0;
}

/* What `call` does with p once our free refused it with `status`: glibc's
 * pointer (from before we were loaded) goes to glibc, anything else is
 * misuse (reported; may abort). */
static void shim_free_refused(void *p, ortho_status_t status, const struct free_failure *why,
                              const char *call)
{
    if (status == ORTHO_E_FOREIGN && shim_glibc_has_memory()) {
        __libc_free(p);
        return;
    }
    misuse_report_free(call, status, p, why);
}

/* Frees p for `call` after the inline fast path missed (callers try it
 * first): ours, glibc's, or misuse. */
static void shim_free_checked(void *p, size_t expected_size, const char *call)
{
    struct free_failure why;
    ortho_status_t status = global_free_slow(p, expected_size, &why);
    if (ORTHO_UNLIKELY(status != ORTHO_OK))
        shim_free_refused(p, status, &why, call);
}

/* malloc after the inline cache lookup missed (or tracing is on): out of
 * line so malloc's fast path needs no stack frame. malloc(0) must return a
 * unique pointer that free accepts: it is served as 1 byte. */
static ORTHO_NOINLINE void *shim_malloc_rest(void *p, size_t n, trace_port_entry_t entry)
{
    return global_alloc_rest(p, n != 0 ? n : 1, 0, entry);
}

/* malloc's body, inlined into every entry point that behaves like it (a
 * call to the exported malloc would go through the PLT); `entry`, a
 * constant at each call site, is the entry point the tracer is told of,
 * and is only loaded on the way out of the fast path. n == 0 misses the
 * cache (it has no class), so the fast path needs no test for it. */
ORTHO_INLINE void *shim_malloc_inline(size_t n, trace_port_entry_t entry)
{
    void *p = cache_alloc_fast(global_thread_cache, n);
    if (ORTHO_LIKELY(p != NULL && !trace_port_on))
        return p;
    return shim_malloc_rest(p, n, entry);
}

ORTHO_EXPORT void *malloc(size_t n)
{
    return shim_malloc_inline(n, TRACE_PORT_ENTRY_MALLOC);
}

/* free after the inline test missed (or tracing is on): ours, glibc's, or
 * misuse. */
static ORTHO_NOINLINE void shim_free_rest(void *p)
{
    struct free_failure why;
    ortho_status_t status = global_free_rest(p, &why);
    if (ORTHO_UNLIKELY(status != ORTHO_OK))
        shim_free_refused(p, status, &why, "free");
}

ORTHO_EXPORT void free(void *p)
{
    if (global_free_fast(p))
        return;
    shim_free_rest(p);
}

ORTHO_EXPORT void cfree(void *p)
{
    free(p);
}

ORTHO_EXPORT void *calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    if (n == 0)
        n = 1;
    bool zero = false;
    void *p = cache_alloc_fast(global_thread_cache, n);
    if (p == NULL)
        p = global_alloc_slow(n, 0, &zero);
    if (p != NULL && !zero)
        memset(p, 0, n);
    if (ORTHO_UNLIKELY(trace_port_on))
        global_trace_alloc(p, TRACE_PORT_ENTRY_CALLOC);
    return p;
}

/* An allocation aligned above 64 bytes: the over-aligned slow path, a tail
 * call, so the aligned entry points need no stack frame. */
ORTHO_INLINE void *shim_alloc_overaligned(size_t n, size_t align, trace_port_entry_t entry)
{
    return global_alloc_rest(NULL, n != 0 ? n : 1, align, entry);
}

/* Aligned allocation shared by the aligned entry points (and operator new);
 * align is a power of two. */
ORTHO_INLINE void *shim_alloc_aligned(size_t n, size_t align, trace_port_entry_t entry)
{
    if (ORTHO_LIKELY(align <= ORTHO_MIN_ALIGN))
        return shim_malloc_inline(n, entry);
    return shim_alloc_overaligned(n, align, entry);
}

/* realloc(NULL, n): malloc's work, but the trace counts it as realloc's
 * (the program called realloc; docs/tracing.md, what an allocation is).
 * Out of line, so realloc's body stays as it was when this was a tail
 * call to malloc. */
static ORTHO_NOINLINE void *shim_realloc_null(size_t n)
{
    return shim_malloc_inline(n, TRACE_PORT_ENTRY_REALLOC_NULL);
}

ORTHO_EXPORT void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return shim_realloc_null(n);
    if (n == 0) {
        /* glibc frees and returns NULL here; programs rely on it. */
        free(p);
        return NULL;
    }
    header_t *h;
    struct free_failure why;
    ortho_status_t status = allocator_check_live(&global_allocator, p, &h, &why);
    if (status != ORTHO_OK) {
        if (status == ORTHO_E_FOREIGN && shim_glibc_has_memory())
            return __libc_realloc(p, n);
        misuse_report("realloc", status == ORTHO_E_DOUBLE_FREE ? "use_after_free"
                                                               : allocator_failure_kind(status, &why),
                      p, why.class_index);
        errno = EINVAL;
        return NULL;
    }
    trace_port_tag_t old_tag = h->trace;
    unsigned old_class = global_trace_class(h);
    if (global_thread_cache->state == CACHE_ACTIVE &&
        allocator_resize_in_place(&global_allocator, global_thread_cache, h, n)) {
        if (ORTHO_UNLIKELY(trace_port_on))
            global_trace_resized(p, &old_tag, old_class);
        return p;
    }
    size_t old_bytes = h->requested_bytes;
    void *q = global_alloc(n, TRACE_PORT_ENTRY_REALLOC); /* n > 0 here */
    if (q == NULL)
        return NULL; /* errno is ENOMEM; the old block is intact */
    memcpy(q, p, old_bytes < n ? old_bytes : n);
    free(p);
    return q;
}

ORTHO_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

/* A power of two, as every aligned entry point requires. */
ORTHO_INLINE bool shim_is_power_of_two(size_t value)
{
    return value != 0 && (value & (value - 1)) == 0;
}

/* Bit k is set when k + 1 is a power of two, for k < 64: one shift and
 * one branch tell that `align` is 1, 2, 4, ... or 64, the alignments every
 * block already has. */
#define SHIM_SMALL_POWERS_OF_TWO_MINUS_1 0x800000008000808bull

/* posix_memalign past its inline path: over-aligned, tracing, or the
 * cache missed. errno is the caller's: posix_memalign reports through its
 * result only. */
static ORTHO_NOINLINE int shim_posix_memalign_rest(void **out, size_t align, size_t n, void *p)
{
    if (!shim_is_power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    if (align <= ORTHO_MIN_ALIGN)
        p = shim_malloc_rest(p, n, TRACE_PORT_ENTRY_ALIGNED);
    else
        p = shim_alloc_overaligned(n, align, TRACE_PORT_ENTRY_ALIGNED);
    errno = saved;
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

ORTHO_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    /* A power of two from sizeof(void *) to 64: every block has it. */
    size_t k = align - 1;
    void *p = NULL;
    if (ORTHO_LIKELY(k < ORTHO_MIN_ALIGN && k >= sizeof(void *) - 1 &&
                     ((SHIM_SMALL_POWERS_OF_TWO_MINUS_1 >> k) & 1) != 0)) {
        p = cache_alloc_fast(global_thread_cache, n);
        if (ORTHO_LIKELY(p != NULL && !trace_port_on)) {
            *out = p;
            return 0;
        }
    }
    return shim_posix_memalign_rest(out, align, n, p);
}

/* aligned_alloc for any alignment but a power of two up to 64: refused if
 * not a power of two, else the over-aligned path. */
static ORTHO_NOINLINE void *shim_aligned_alloc_rare(size_t align, size_t n)
{
    if (!shim_is_power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return shim_alloc_overaligned(n, align, TRACE_PORT_ENTRY_ALIGNED);
}


ORTHO_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    size_t k = align - 1;
    if (ORTHO_LIKELY(k < ORTHO_MIN_ALIGN && ((SHIM_SMALL_POWERS_OF_TWO_MINUS_1 >> k) & 1) != 0))
        return shim_malloc_inline(n, TRACE_PORT_ENTRY_ALIGNED);
    return shim_aligned_alloc_rare(align, n);
}

ORTHO_EXPORT void *memalign(size_t align, size_t n)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    /* glibc rounds a non-power-of-two alignment up to the next one. */
    size_t rounded = 1;
    while (rounded < align)
        rounded <<= 1;
    return shim_alloc_aligned(n, rounded, TRACE_PORT_ENTRY_ALIGNED);
}

ORTHO_EXPORT void *valloc(size_t n)
{
    return shim_alloc_aligned(n, prim_page_size(), TRACE_PORT_ENTRY_ALIGNED);
}

ORTHO_EXPORT void *pvalloc(size_t n)
{
    size_t page = prim_page_size();
    if (n > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = n == 0 ? page : (n + page - 1) / page * page;
    return shim_alloc_aligned(rounded, page, TRACE_PORT_ENTRY_ALIGNED);
}

typedef size_t (*shim_usable_size_fn)(void *);

/* glibc's malloc_usable_size (not exported under another name), looked up
 * once; dlsym may allocate, which is fine here: no lock of ours is held. */
static size_t shim_glibc_usable_size(void *p)
{
    static _Atomic(shim_usable_size_fn) glibc_usable_size;
    shim_usable_size_fn fn = atomic_load_explicit(&glibc_usable_size, memory_order_acquire);
    if (fn == NULL) {
        fn = (shim_usable_size_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
        atomic_store_explicit(&glibc_usable_size, fn, memory_order_release);
    }
    return fn != NULL ? fn(p) : 0;
}

ORTHO_EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    header_t *h;
    struct free_failure why;
    ortho_status_t status = allocator_check_live(&global_allocator, p, &h, &why);
    if (status == ORTHO_OK)
        return h->usable_bytes;
    /* Only a pointer that is nowhere in our memory can be glibc's: asking
     * glibc about one of our freed blocks would make it read our header
     * as its chunk header. */
    if (status == ORTHO_E_FOREIGN && shim_glibc_has_memory())
        return shim_glibc_usable_size(p);
    return 0;
}

ORTHO_EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    return ortho_trim() > 0;
}

ORTHO_EXPORT int mallopt(int param, int value)
{
    /* glibc tunables do not apply to this allocator; accept and ignore. */
    (void)param;
    (void)value;
    return 1;
}

/* Free bytes sitting in caches and pools. */
static uint64_t shim_free_bytes(const ortho_stats_t *stats)
{
    uint64_t bytes = stats->large_free_bytes;
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        const ortho_class_stats_t *c = &stats->classes[cls];
        bytes += (c->cached_blocks + c->pool_blocks) * c->payload_bytes;
    }
    return bytes;
}

ORTHO_EXPORT struct mallinfo2 mallinfo2(void)
{
    ortho_stats_t stats;
    ortho_stats(&stats);
    struct mallinfo2 info;
    memset(&info, 0, sizeof info);
    info.arena = stats.arena_committed_bytes;
    info.hblks = stats.large_live_blocks;
    info.hblkhd = stats.large_live_mapped_bytes;
    info.uordblks = stats.live_usable_bytes - stats.large_live_mapped_bytes;
    info.fordblks = shim_free_bytes(&stats);
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        info.ordblks += stats.classes[cls].cached_blocks + stats.classes[cls].pool_blocks;
    info.usmblks = 0;
    info.keepcost = 0;
    return info;
}

/* The old int-sized struct: values saturate instead of wrapping. */
static int shim_saturate(size_t value)
{
    return value > INT32_MAX ? INT32_MAX : (int)value;
}

ORTHO_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 wide = mallinfo2();
    struct mallinfo info;
    memset(&info, 0, sizeof info);
    info.arena = shim_saturate(wide.arena);
    info.ordblks = shim_saturate(wide.ordblks);
    info.hblks = shim_saturate(wide.hblks);
    info.hblkhd = shim_saturate(wide.hblkhd);
    info.uordblks = shim_saturate(wide.uordblks);
    info.fordblks = shim_saturate(wide.fordblks);
    return info;
}

ORTHO_EXPORT void malloc_stats(void)
{
    ortho_stats_t stats;
    ortho_stats(&stats);
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: arena committed ");
    report_bytes(&line, stats.arena_committed_bytes);
    report_str(&line, " B, live requested ");
    report_u64(&line, stats.live_requested_bytes);
    report_str(&line, " B, live usable ");
    report_u64(&line, stats.live_usable_bytes);
    report_str(&line, " B, large live ");
    report_u64(&line, stats.large_live_blocks);
    report_str(&line, " blocks, threads ");
    report_u64(&line, stats.threads);
    prim_write_stderr(line.text, line.len);
    prim_write_stderr("\n", 1);
}

/* ---- C++ operators ----------------------------------------------------- */

/* operator new: retry through the new_handler, then throw bad_alloc (or
 * return NULL for the nothrow forms). */
static void *shim_new(size_t n, size_t align, bool nothrow)
{
    for (;;) {
        void *p = shim_alloc_aligned(n, align, TRACE_PORT_ENTRY_NEW);
        if (ORTHO_LIKELY(p != NULL))
            return p;
        shim_new_handler_t handler =
            _ZSt15get_new_handlerv != NULL ? _ZSt15get_new_handlerv() : NULL;
        if (handler == NULL)
            break;
        handler();
    }
    if (nothrow)
        return NULL;
    if (_ZSt17__throw_bad_allocv != NULL)
        _ZSt17__throw_bad_allocv();
    misuse_report("operator new", "out_of_memory", NULL, SIZE_CLASS_LARGE);
    return NULL;
}

ORTHO_EXPORT void *_Znwm(size_t n) { return shim_new(n, 0, false); }
ORTHO_EXPORT void *_Znam(size_t n) { return shim_new(n, 0, false); }
ORTHO_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *tag) { (void)tag; return shim_new(n, 0, true); }
ORTHO_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *tag) { (void)tag; return shim_new(n, 0, true); }
ORTHO_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t align) { return shim_new(n, align, false); }
ORTHO_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t align) { return shim_new(n, align, false); }
ORTHO_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *tag)
{
    (void)tag;
    return shim_new(n, align, true);
}
ORTHO_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *tag)
{
    (void)tag;
    return shim_new(n, align, true);
}

/* operator delete: sized forms check the size against the header. */
static void shim_delete(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (ORTHO_UNLIKELY(trace_port_on))
        global_trace_free(p, size);
    if (ORTHO_LIKELY(cache_free_fast_sized(&global_allocator.arena, global_thread_cache, p, size)))
        return;
    shim_free_checked(p, size, "operator delete");
}

ORTHO_EXPORT void _ZdlPv(void *p) { shim_delete(p, 0); }
ORTHO_EXPORT void _ZdaPv(void *p) { shim_delete(p, 0); }
ORTHO_EXPORT void _ZdlPvm(void *p, size_t n) { shim_delete(p, n); }
ORTHO_EXPORT void _ZdaPvm(void *p, size_t n) { shim_delete(p, n); }
ORTHO_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *tag) { (void)tag; shim_delete(p, 0); }
ORTHO_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *tag) { (void)tag; shim_delete(p, 0); }
ORTHO_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align) { (void)align; shim_delete(p, 0); }
ORTHO_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align) { (void)align; shim_delete(p, 0); }
ORTHO_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t align)
{
    (void)align;
    shim_delete(p, n);
}
ORTHO_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t align)
{
    (void)align;
    shim_delete(p, n);
}
ORTHO_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
    (void)align;
    (void)tag;
    shim_delete(p, 0);
}
ORTHO_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
    (void)align;
    (void)tag;
    shim_delete(p, 0);
}
