/* api.c - the exported ortho_* functions of orthotope.h: argument checks,
 * status codes and errno, on top of the global allocator (global.c) and of
 * instances (allocator.c). Owns no state; instance allocators and caches
 * live in their own mappings so creating one never calls malloc. */
#include <errno.h>
#include <string.h>

#include "global.h"
#include "registry.h"
#include "options.h"
#include "prim.h"

static const char *const api_status_messages[] = {
#define API_STATUS_MESSAGE(name, short_name, message) message,
    ORTHO_STATUS_MAP(API_STATUS_MESSAGE)
#undef API_STATUS_MESSAGE
};

static const char *const api_status_names[] = {
#define API_STATUS_NAME(name, short_name, message) short_name,
    ORTHO_STATUS_MAP(API_STATUS_NAME)
#undef API_STATUS_NAME
};

ORTHO_EXPORT const char *ortho_strerror(ortho_status_t status)
{
    if ((unsigned)status >= ORTHO_STATUS_COUNT)
        return "unknown status";
    return api_status_messages[status];
}

ORTHO_EXPORT const char *ortho_status_name(ortho_status_t status)
{
    if ((unsigned)status >= ORTHO_STATUS_COUNT)
        return "unknown";
    return api_status_names[status];
}

ORTHO_EXPORT unsigned ortho_version(void)
{
    return ORTHO_VERSION_NUMBER;
}

ORTHO_EXPORT ortho_status_t ortho_last_status(void)
{
    return allocator_last_status();
}

/* A valid alignment for the aligned calls: a power of two multiple of
 * sizeof(void *), as posix_memalign requires. */
static bool api_alignment_ok(size_t align)
{
    return align >= sizeof(void *) && (align & (align - 1)) == 0;
}

static void *api_fail(ortho_status_t status)
{
    allocator_set_status(status);
    errno = status == ORTHO_E_NOMEM ? ENOMEM : EINVAL;
    return NULL;
}

/* ---- global allocator -------------------------------------------------- */

ORTHO_EXPORT void *ortho_alloc(size_t size)
{
    return global_alloc(size, TRACE_PORT_ENTRY_API);
}

ORTHO_EXPORT void *ortho_alloc_aligned(size_t size, size_t align)
{
    if (!api_alignment_ok(align))
        return api_fail(ORTHO_E_BAD_ALIGN);
    if (align <= ORTHO_MIN_ALIGN)
        return global_alloc(size, TRACE_PORT_ENTRY_API);
    return global_alloc_rest(NULL, size, align, TRACE_PORT_ENTRY_API);
}

/* ortho_free after the inline test missed: out of line, so ortho_free's
 * fast path needs no stack frame for `why`. */
static ORTHO_NOINLINE ortho_status_t api_free_rest(void *ptr)
{
    struct free_failure why;
    return global_free_rest(ptr, &why);
}

ORTHO_EXPORT ortho_status_t ortho_free(void *ptr)
{
    if (global_free_fast(ptr))
        return ORTHO_OK;
    return api_free_rest(ptr);
}

/* ortho_free_sized after the inline path missed (or tracing is on). */
static ORTHO_NOINLINE ortho_status_t api_free_sized_rest(void *ptr, size_t size)
{
    struct free_failure why;
    if (ptr == NULL)
        return ORTHO_OK;
    if (size == 0)
        return ORTHO_E_SIZE_MISMATCH;
    if (ORTHO_UNLIKELY(trace_port_on))
        global_trace_free(ptr, size);
    if (cache_free_fast_sized(&global_allocator.arena, global_thread_cache, ptr, size))
        return ORTHO_OK;
    return global_free_slow(ptr, size, &why);
}

ORTHO_EXPORT ortho_status_t ortho_free_sized(void *ptr, size_t size)
{
    if (ORTHO_LIKELY(size != 0 && !trace_port_on) &&
        cache_free_fast_sized(&global_allocator.arena, global_thread_cache, ptr, size))
        return ORTHO_OK;
    return api_free_sized_rest(ptr, size);
}

ORTHO_EXPORT size_t ortho_usable_size(const void *ptr)
{
    return allocator_usable_size(&global_allocator, ptr);
}

ORTHO_EXPORT size_t ortho_trim(void)
{
    return allocator_trim(&global_allocator);
}

ORTHO_EXPORT ortho_status_t ortho_stats(ortho_stats_t *out)
{
    if (out == NULL)
        return ORTHO_E_BAD_CONFIG;
    allocator_stats(&global_allocator, out);
    return ORTHO_OK;
}

/* ---- instances --------------------------------------------------------- */

ORTHO_EXPORT ortho_status_t ortho_allocator_create(const ortho_config_t *config,
                                                   ortho_allocator_t **out)
{
    if (out == NULL)
        return ORTHO_E_BAD_CONFIG;
    *out = NULL;
    ortho_config_t defaults;
    if (config == NULL) {
        ortho_config_default(&defaults);
        config = &defaults;
    }
    if (options_check_config(config) != NULL)
        return ORTHO_E_BAD_CONFIG;
    struct ortho_allocator *a = prim_map(sizeof *a);
    if (a == NULL)
        return ORTHO_E_NOMEM;
    if (!allocator_setup(a, config)) {
        prim_unmap(a, sizeof *a);
        return ORTHO_E_NOMEM;
    }
    a->mapped = true;
    *out = a;
    return ORTHO_OK;
}

ORTHO_EXPORT ortho_status_t ortho_allocator_destroy(ortho_allocator_t *allocator)
{
    if (allocator == NULL || !allocator->mapped)
        return ORTHO_E_BAD_CONFIG;
    lock_acquire(&allocator->registry_lock);
    uint32_t caches = atomic_load_explicit(&allocator->cache_count, memory_order_relaxed);
    lock_release(&allocator->registry_lock);
    if (caches != 0)
        return ORTHO_E_BUSY;
    allocator_teardown(allocator);
    prim_unmap(allocator, sizeof *allocator);
    return ORTHO_OK;
}

ORTHO_EXPORT ortho_status_t ortho_allocator_stats(ortho_allocator_t *allocator, ortho_stats_t *out)
{
    if (allocator == NULL || out == NULL)
        return ORTHO_E_BAD_CONFIG;
    allocator_stats(allocator, out);
    return ORTHO_OK;
}

ORTHO_EXPORT size_t ortho_allocator_trim(ortho_allocator_t *allocator)
{
    return allocator == NULL ? 0 : allocator_trim(allocator);
}

ORTHO_EXPORT ortho_status_t ortho_cache_create(ortho_allocator_t *allocator, ortho_cache_t **out)
{
    if (allocator == NULL || out == NULL)
        return ORTHO_E_BAD_CONFIG;
    struct ortho_cache *cache = registry_acquire(allocator, false);
    if (cache == NULL)
        return ORTHO_E_NOMEM;
    *out = cache;
    return ORTHO_OK;
}

ORTHO_EXPORT void ortho_cache_destroy(ortho_cache_t *cache)
{
    if (cache == NULL || cache->thread_bound)
        return;
    registry_release(cache);
}

ORTHO_EXPORT void *ortho_cache_alloc(ortho_cache_t *cache, size_t size)
{
    if (cache == NULL)
        return api_fail(ORTHO_E_BAD_CONFIG);
    void *p = cache_alloc_fast(cache, size);
    if (ORTHO_LIKELY(p != NULL))
        return p;
    return allocator_alloc_slow(cache->owner, cache, size, 0, NULL);
}

ORTHO_EXPORT void *ortho_cache_alloc_aligned(ortho_cache_t *cache, size_t size, size_t align)
{
    if (cache == NULL)
        return api_fail(ORTHO_E_BAD_CONFIG);
    if (!api_alignment_ok(align))
        return api_fail(ORTHO_E_BAD_ALIGN);
    if (align <= ORTHO_MIN_ALIGN)
        return ortho_cache_alloc(cache, size);
    return allocator_alloc_slow(cache->owner, cache, size, align, NULL);
}

ORTHO_EXPORT ortho_status_t ortho_cache_free(ortho_cache_t *cache, void *ptr)
{
    if (cache == NULL)
        return ORTHO_E_BAD_CONFIG;
    if (ORTHO_LIKELY(cache_free_fast(&cache->owner->arena, cache, ptr)))
        return ORTHO_OK;
    struct free_failure why;
    return allocator_free_slow(cache->owner, cache, ptr, 0, &why);
}

ORTHO_EXPORT ortho_status_t ortho_cache_free_sized(ortho_cache_t *cache, void *ptr, size_t size)
{
    if (cache == NULL)
        return ORTHO_E_BAD_CONFIG;
    if (ptr == NULL)
        return ORTHO_OK;
    if (size == 0)
        return ORTHO_E_SIZE_MISMATCH;
    if (ORTHO_LIKELY(cache_free_fast_sized(&cache->owner->arena, cache, ptr, size)))
        return ORTHO_OK;
    struct free_failure why;
    return allocator_free_slow(cache->owner, cache, ptr, size, &why);
}
