/* allocator.c - the slow paths of one allocator and its bookkeeping: cache
 * refill (central pool batch, else a fresh arena span split locally), cache
 * drain (a batch back to the pool, pages beyond the pool's retain budget
 * back to the OS), over-aligned and large requests, full validation of
 * frees, stats and trim (cache records live in registry.c). Lock order:
 * registry_lock may be held while a pool->lock, a cache's large.lock or the
 * shared large->lock is taken (retiring a cache, cross-thread large frees);
 * a cache's large.lock is never held while the shared one is taken; no
 * other two are held together, except by the fork hooks, which take them
 * all in that same order. Never calls malloc. */
#include "allocator.h"

#include <errno.h>
#include <string.h>

#include "misuse.h"
#include "prim.h"
#include "registry.h"

static ORTHO_TLS ortho_status_t allocator_thread_status; /* last failed allocation */

void allocator_set_status(ortho_status_t status)
{
    allocator_thread_status = status;
}

ortho_status_t allocator_last_status(void)
{
    return allocator_thread_status;
}

/* Records a failed allocation: status for ortho_last_status, errno for
 * POSIX callers. Always returns NULL. */
static void *allocator_fail(ortho_status_t status)
{
    allocator_set_status(status);
    errno = status == ORTHO_E_NOMEM ? ENOMEM : EINVAL;
    return NULL;
}

bool allocator_setup(struct ortho_allocator *a, const ortho_config_t *config)
{
    size_class_setup_once(); /* every allocator serves the process's classes */
    memset(a, 0, sizeof *a);
    a->config = *config;
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        size_t block = size_class_block_bytes(cls);
        size_t limit = config->cache_max_bytes / block;
        if (limit > config->cache_max_blocks)
            limit = config->cache_max_blocks;
        if (limit < 1)
            limit = 1;
        a->class_limit[cls] = (uint32_t)limit;
        /* A batch can be at most the whole cache (a drain happens at the
         * limit and takes `refill` blocks from the bin). */
        size_t refill = config->cache_refill_blocks != 0 ? config->cache_refill_blocks
                                                         : (limit > 1 ? limit / 2 : 1);
        a->class_refill[cls] = (uint32_t)(refill < limit ? refill : limit);
        a->pool_retain_blocks[cls] = config->pool_retain_bytes / block;
    }
    large_init(&a->large, config->large_retain_bytes, config->large_retain_count);
    return arena_init(&a->arena, config->arena_region_bytes, config->arena_max_regions,
                      config->huge_pages != 0);
}

uint32_t allocator_cache_limit(const struct ortho_allocator *a, const struct ortho_cache *cache,
                               unsigned cls)
{
    if (a->full_check)
        return 0;
    uint32_t threads = atomic_load_explicit(&a->cache_count, memory_order_relaxed);
    uint32_t classes = cache->classes_used;
    uint64_t share = a->config.cache_total_bytes / (threads > 1 ? threads : 1) /
                     (classes > 1 ? classes : 1);
    uint64_t blocks = share / size_class_block_bytes(cls);
    if (blocks > a->class_limit[cls])
        blocks = a->class_limit[cls];
    return blocks > 1 ? (uint32_t)blocks : 1;
}

/* The batch a bin moves to or from the pool now: the class's batch, but
 * never more than the bin's limit. */
static uint32_t allocator_batch(const struct ortho_allocator *a, const struct bin *bin,
                                unsigned cls)
{
    uint32_t batch = a->class_refill[cls];
    return batch < bin->limit ? batch : bin->limit;
}

void allocator_enable_full_check(struct ortho_allocator *a, uint64_t quarantine_bytes)
{
    a->full_check = true;
    a->quarantine.budget_bytes = quarantine_bytes;
}

void allocator_teardown(struct ortho_allocator *a)
{
    large_destroy(&a->large);
    arena_destroy(&a->arena);
    registry_unmap_records(a);
}

/* Adds `amount` (modulo 2^64) to the requested-bytes counter of `cls`:
 * the cache's own for an active cache, the allocator's shared one (atomic
 * add) once the cache is retired. */
static void allocator_count_requested(struct ortho_allocator *a, struct ortho_cache *cache,
                                      unsigned cls, uint64_t amount)
{
    if (cache->state == CACHE_ACTIVE)
        counter_bump(&cache->counters[cls].requested_net, amount);
    else
        atomic_fetch_add_explicit(&a->retired[cls].requested_net, amount, memory_order_relaxed);
}

/* ---- refill and drain -------------------------------------------------- */

/* Carves `count` fresh blocks of `cls` as one span and chains them. NULL
 * when the arena is exhausted. The caller records the carve (see
 * allocator_take_block for when). */
static header_t *allocator_carve(struct ortho_allocator *a, unsigned cls, uint32_t count)
{
    size_t block = size_class_block_bytes(cls);
    char *span = arena_carve(&a->arena, block * count);
    if (span == NULL)
        return NULL;
    /* Each block starts free, with a whole header and its canary, so the
     * check every reused block passes (header_is_free_intact) holds for a
     * new one too. */
    for (uint32_t i = 0; i < count; i++) {
        header_t *h = (header_t *)(span + (size_t)i * block);
        header_stamp_freed(h, cls);
        header_link(h, i + 1 < count ? (header_t *)(span + (size_t)(i + 1) * block) : NULL);
        if (a->full_check)
            fullcheck_fill_freed(h, size_class_payload(cls)); /* as if freed: reuse checks it */
    }
    atomic_fetch_add_explicit(&a->carved_blocks[cls], count, memory_order_relaxed);
    return (header_t *)span;
}

/* Records a refill of `count` blocks (from a fresh span at `batch` when
 * source is the arena, `carved` blocks long). */
static void allocator_trace_refill(unsigned cls, uint64_t source, const header_t *batch,
                                   uint64_t carved, uint64_t count)
{
    if (source == TRACE_PORT_FROM_ARENA)
        trace_port_event(TRACE_PORT_ARENA_CARVE, cls, (uintptr_t)batch, carved);
    trace_port_event(TRACE_PORT_CACHE_REFILL, cls, source, count);
}

/* h, the next free block of `cls` to be handed out, was written after it
 * was freed (header_is_free_intact failed): reports it (which may abort)
 * and drops it for good, with everything its link would lead to - the rest
 * of the bin (a retired cache has none) - since that link cannot be
 * trusted. The dropped blocks stay out of use: a leak, never a reuse. */
static void allocator_refuse_reuse(struct ortho_cache *cache, unsigned cls, header_t *h)
{
    struct bin *bin = &cache->bins[cls];
    if (bin->head == h) {
        bin->head = NULL;
        bin_set_count(bin, 0);
    }
    misuse_report("malloc", "use_after_free", header_user(h), cls);
}

/* Whether `cache` keeps blocks: an active cache, unless full-check mode
 * sends every call through the slow path. */
static bool allocator_caching(const struct ortho_allocator *a, const struct ortho_cache *cache)
{
    return cache->state == CACHE_ACTIVE && !a->full_check;
}

/* Full-check mode: whether the free block h (class cls) still holds the
 * free pattern in full; if not, reports the first byte written after the
 * free (use_after_free, from `call`) and drops the block for good. */
static bool allocator_pattern_intact(header_t *h, unsigned cls, const char *call)
{
    int64_t at = fullcheck_find_written(h, size_class_payload(cls));
    if (ORTHO_LIKELY(at < 0))
        return true;
    misuse_report_at(call, "use_after_free", header_user(h), cls, at);
    return false;
}

/* Takes one free block of `cls` for `cache`, refilling its bin from the
 * pool or the arena when empty, and hands it out only if it is as its free
 * left it (a block written after free is reported and dropped, and the
 * next one tried). A retired cache (or any cache in full-check mode) keeps
 * nothing: it takes one block and returns the rest of a pool batch. NULL:
 * out of memory. */
static header_t *allocator_take_block(struct ortho_allocator *a, struct ortho_cache *cache,
                                      unsigned cls)
{
    struct bin *bin = &cache->bins[cls];
    while (bin->head != NULL && ORTHO_UNLIKELY(!header_is_free_intact(bin->head, cls)))
        allocator_refuse_reuse(cache, cls, bin->head);
    if (bin->head == NULL) {
        uint64_t count = 0;
        if (allocator_caching(a, cache)) {
            /* The slow path is where a bin learns how many threads share
             * the cache budget now, and grows its refill (slow start). */
            if (cache->refill[cls] == 0)
                cache->classes_used++;
            bin->limit = allocator_cache_limit(a, cache, cls);
            uint32_t batch = allocator_batch(a, bin, cls);
            if (cache->refill[cls] == 0)
                cache->refill[cls] = ALLOCATOR_REFILL_START;
            else if (cache->refill[cls] < batch)
                cache->refill[cls] *= 2;
            if (cache->refill[cls] > batch)
                cache->refill[cls] = batch;
        }
        header_t *batch = pool_pop(&a->pools[cls], &count);
        uint64_t source = TRACE_PORT_FROM_POOL;
        if (batch == NULL) {
            count = allocator_caching(a, cache) ? cache->refill[cls] : 1;
            batch = allocator_carve(a, cls, (uint32_t)count);
            if (batch == NULL)
                return NULL;
            source = TRACE_PORT_FROM_ARENA;
        }
        if (ORTHO_UNLIKELY(!header_is_free_intact(batch, cls))) {
            /* Its links - to the rest of its batch, and to the pool's next
             * batch, which the pool already followed - cannot be trusted:
             * the pool's batches are dropped too (left unused, not reused). */
            if (source == TRACE_PORT_FROM_POOL)
                pool_take_all(&a->pools[cls]);
            allocator_refuse_reuse(cache, cls, batch);
            return allocator_take_block(a, cache, cls);
        }
        if (!allocator_caching(a, cache)) {
            if (count > 1)
                pool_push(&a->pools[cls], batch->next_free, count - 1);
            /* A retired cache keeps one block and gives the rest back:
             * to the collector, one block left the pool. */
            if (allocator_traced(a))
                allocator_trace_refill(cls, source, batch, count, 1);
            if (a->full_check && !allocator_pattern_intact(batch, cls, "malloc"))
                return allocator_take_block(a, cache, cls);
            return batch;
        }
        bin->head = batch;
        bin_set_count(bin, (uint32_t)count);
        /* Recorded only once the bin holds the batch: recording may
         * allocate (the tracer binds a thread on its first event), and such
         * an allocation must take from this batch, not refill the bin
         * again - its refill would be overwritten here, 256 B64 blocks
         * lost per traced thread. */
        if (allocator_traced(a))
            allocator_trace_refill(cls, source, batch, count, count);
    }
    header_t *h = bin->head;
    bin->head = h->next_free;
    bin_set_count(bin, bin_count(bin) - 1);
    return h;
}

/* Gives the payload pages of each block of a batch back to the OS, keeping
 * each block's header and first payload line (the free-list link and the
 * canary). Only classes whose blocks span several pages gain anything. */
static void allocator_release_batch(struct ortho_allocator *a, unsigned cls, header_t *first)
{
    size_t payload = size_class_payload(cls);
    /* Full-check mode keeps the pages: they hold the free pattern that
     * reuse checks. */
    if (payload < 4 * prim_page_size() || a->full_check)
        return;
    uint64_t released = 0;
    for (header_t *h = first; h != NULL; h = h->next_free) {
        arena_release(&a->arena, (char *)h + 2 * ORTHO_HEADER_SIZE, payload - ORTHO_HEADER_SIZE);
        released += payload;
    }
    if (allocator_traced(a))
        trace_port_event(TRACE_PORT_OS_RELEASE, cls, (uintptr_t)first, released);
}

/* Moves the `take` most recently freed blocks of the cache's bin of `cls`
 * to the pool (hot in this core's cache, so the walk is cheap), releasing
 * their pages when the pool holds more than it retains. */
static void allocator_drain(struct ortho_allocator *a, struct ortho_cache *cache, unsigned cls,
                            uint32_t take)
{
    struct bin *bin = &cache->bins[cls];
    header_t *first = bin->head;
    header_t *last = first;
    for (uint32_t i = 1; i < take; i++)
        last = last->next_free;
    bin->head = last->next_free;
    header_link(last, NULL);
    bin_set_count(bin, bin_count(bin) - take);
    uint64_t pooled = atomic_load_explicit(&a->pools[cls].blocks, memory_order_relaxed);
    if (pooled + take > a->pool_retain_blocks[cls])
        allocator_release_batch(a, cls, first);
    allocator_drain_to_pool(a, cls, first, take);
}

/* Hands one free block of `cls` straight to the pool. */
static void allocator_pool_one(struct ortho_allocator *a, unsigned cls, header_t *block)
{
    header_link(block, NULL);
    allocator_drain_to_pool(a, cls, block, 1);
}

/* Full-check mode: fills the freed block with the free pattern and puts it
 * in the quarantine; what leaves the quarantine (the oldest, beyond the
 * budget) is checked - a block written to since its free is reported and
 * never reused - and goes to the pool of its class. */
static void allocator_quarantine(struct ortho_allocator *a, header_t *block, unsigned cls)
{
    fullcheck_fill_freed(block, size_class_payload(cls));
    header_link(block, NULL);
    struct fullcheck_held leaving[8];
    size_t n = fullcheck_quarantine_push(&a->quarantine, block, cls, leaving, 8);
    for (size_t i = 0; i < n; i++) {
        header_t *h = leaving[i].block;
        unsigned held_class = leaving[i].class_index;
        if (!header_is_free_intact(h, held_class)) {
            misuse_report("free", "use_after_free", header_user(h), held_class);
            continue;
        }
        if (allocator_pattern_intact(h, held_class, "free"))
            allocator_pool_one(a, held_class, h);
    }
}

/* Puts a freed block (block-start header) into the cache, draining a batch
 * to the pool first when the bin is full; a retired cache hands it straight
 * to the pool, and full-check mode to the quarantine. */
static void allocator_put_block(struct ortho_allocator *a, struct ortho_cache *cache,
                                unsigned cls, header_t *block)
{
    struct bin *bin = &cache->bins[cls];
    if (a->full_check) {
        allocator_quarantine(a, block, cls);
        return;
    }
    if (cache->state != CACHE_ACTIVE) {
        allocator_pool_one(a, cls, block);
        return;
    }
    if (bin_count(bin) >= bin->limit) {
        /* Drain to the limit less one batch (the limit may have shrunk
         * since the bin filled: more threads share the budget now; or
         * grown, and there is room again). */
        bin->limit = allocator_cache_limit(a, cache, cls);
        uint32_t keep = bin->limit - allocator_batch(a, bin, cls);
        if (bin_count(bin) > keep)
            allocator_drain(a, cache, cls, bin_count(bin) - keep);
    }
    header_link(block, bin->head);
    bin->head = block;
    bin_set_count(bin, bin_count(bin) + 1);
}

/* ---- allocation -------------------------------------------------------- */

/* The sampled allocation the fast path left to us (its countdown reached
 * 0): from the guard pool when the request fits a slot and one is free,
 * else NULL (served the usual way). Starts the next countdown either way. */
static void *allocator_alloc_sampled(struct ortho_allocator *a, struct ortho_cache *cache,
                                     size_t n, size_t align)
{
    if (a->guard == NULL) {
        cache->guard_countdown = UINT32_MAX;
        return NULL;
    }
    cache->guard_countdown = guard_next_gap(a->guard, &cache->guard_seed);
    if (n - 1 >= GUARD_MAX_BYTES || align > ORTHO_MIN_ALIGN)
        return NULL;
    unsigned cls = size_class_of(n);
    return cls == SIZE_CLASS_LARGE ? NULL : guard_alloc(a->guard, n, cls);
}

void *allocator_alloc_slow(struct ortho_allocator *a, struct ortho_cache *cache, size_t n,
                           size_t align, bool *fresh_zero)
{
    if (fresh_zero != NULL)
        *fresh_zero = false;
    if (n == 0)
        return allocator_fail(ORTHO_E_ZERO_SIZE);
    /* The fast path counted down to 0 and left this one to us, or the
     * fast path missed for another reason and this allocation counts here. */
    if (cache->state == CACHE_ACTIVE &&
        (cache->guard_countdown == 0 || --cache->guard_countdown == 0)) {
        void *sampled = allocator_alloc_sampled(a, cache, n, align);
        if (sampled != NULL)
            return sampled;
    }
    if (align < ORTHO_MIN_ALIGN)
        align = ORTHO_MIN_ALIGN;
    /* Over-aligned: the header moves up to align-64 bytes into the block. */
    size_t shift = align - ORTHO_MIN_ALIGN;
    if (n > SIZE_MAX - shift)
        return allocator_fail(ORTHO_E_NOMEM);
    unsigned cls = size_class_of(n + shift);
    if (cls == SIZE_CLASS_LARGE) {
        bool fresh = false;
        void *p = cache->state == CACHE_ACTIVE
                      ? large_local_alloc(&a->large, &cache->large, n, align, &fresh)
                      : large_alloc(&a->large, n, align, &fresh);
        if (p == NULL)
            return allocator_fail(ORTHO_E_NOMEM);
        if (fresh_zero != NULL)
            *fresh_zero = fresh;
        return p;
    }
    header_t *block = allocator_take_block(a, cache, cls);
    if (block == NULL)
        return allocator_fail(ORTHO_E_NOMEM);
    header_t *h = block;
    if (shift != 0) {
        uintptr_t user = ((uintptr_t)block + ORTHO_HEADER_SIZE + align - 1) & ~(uintptr_t)(align - 1);
        h = header_of_user((void *)user);
        if (h != block)
            block->magic = 0; /* the block start is now slack, not a header */
    }
    header_stamp_small(h, cls, n, (size_t)((uintptr_t)h - (uintptr_t)block));
    allocator_count_requested(a, cache, cls, n);
    if (a->full_check)
        fullcheck_fill_new(header_user(h), h->usable_bytes); /* reads of unwritten bytes show */
    return header_user(h);
}

/* ---- free -------------------------------------------------------------- */

/* The class a rejected header claims, for the report, when the header is
 * recognisably ours (magic intact, class in range); else "unknown". */
static unsigned allocator_reported_class(const header_t *h)
{
    if (h->magic == HEADER_MAGIC && h->kind == HEADER_KIND_SMALL && h->class_index < size_class_count())
        return h->class_index;
    return SIZE_CLASS_LARGE;
}

/* Validates p, known to lie in the arena, as a live small block: the half
 * of allocator_check_live that free's slow path shares. */
static ortho_status_t allocator_check_small(const void *p, header_t **h, struct free_failure *why)
{
    if ((uintptr_t)p % ORTHO_MIN_ALIGN != 0)
        return ORTHO_E_MISALIGNED;
    header_t *candidate = header_of_user(p);
    why->verdict = header_validate(candidate);
    if (why->verdict == HEADER_OK && candidate->kind != HEADER_KIND_SMALL)
        why->verdict = HEADER_BAD_CLASS; /* a large header cannot live in the arena */
    why->class_index = allocator_reported_class(candidate);
    if (why->verdict != HEADER_OK)
        return header_verdict_status(why->verdict);
    *h = candidate;
    return ORTHO_OK;
}

/* What large_check says of p, looking also at every cache's own large
 * blocks (large_local): a live block, an interior pointer or a freed one
 * sitting in a cache's stash. Registry lock held, so no cache can retire and
 * move its blocks to the shared registry meanwhile. */
static ortho_status_t allocator_check_large_locked(struct ortho_allocator *a, const void *p,
                                                  header_verdict_t *verdict)
{
    ortho_status_t status;
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next)
        if (large_local_check(&c->large, p, &status, verdict))
            return status;
    return large_check(&a->large, p, verdict);
}

/* Frees a pointer outside the arena: this cache's own large block (no
 * shared lock), else one in the shared registry, else another cache's
 * block (a cross-thread free), else the verdict on an unknown pointer. */
static ortho_status_t allocator_free_large(struct ortho_allocator *a, struct ortho_cache *cache,
                                           void *p, size_t expected_size,
                                           header_verdict_t *verdict)
{
    ortho_status_t status = ORTHO_OK;
    if (cache->state == CACHE_ACTIVE &&
        large_local_free(&a->large, &cache->large, p, expected_size, true, &status, verdict))
        return status;
    if (large_free_registered(&a->large, p, expected_size, &status, verdict))
        return status;
    lock_acquire(&a->registry_lock);
    bool found = false;
    for (struct ortho_cache *c = a->caches; c != NULL && !found; c = c->next)
        found = c != cache &&
                large_local_free(&a->large, &c->large, p, expected_size, false, &status, verdict);
    /* Its cache may have retired (blocks moved to the shared registry)
     * between the look above and taking the registry lock. */
    if (!found && !large_free_registered(&a->large, p, expected_size, &status, verdict))
        status = allocator_check_large_locked(a, p, verdict);
    lock_release(&a->registry_lock);
    return status;
}

/* Frees a pointer into the guard pool: a sampled block, or a mistake. An
 * overflow into the padding after the request is reported; the block is
 * freed all the same. */
static ortho_status_t allocator_free_sampled(struct ortho_allocator *a, void *p,
                                             size_t expected_size, struct free_failure *why)
{
    int64_t offset = 0;
    switch (guard_free(a->guard, p, expected_size, &offset)) {
    case GUARD_FREED:
        return ORTHO_OK;
    case GUARD_OVERFLOW:
        misuse_report_at("free", "overflow", p, SIZE_CLASS_LARGE, offset);
        return ORTHO_OK;
    case GUARD_DOUBLE_FREE:
        why->verdict = HEADER_DOUBLE_FREE;
        return ORTHO_E_DOUBLE_FREE;
    case GUARD_SIZE_MISMATCH:
        return ORTHO_E_SIZE_MISMATCH;
    case GUARD_NOT_A_BLOCK:
        break;
    }
    return ORTHO_E_MISALIGNED;
}

ortho_status_t allocator_free_slow(struct ortho_allocator *a, struct ortho_cache *cache,
                                   void *p, size_t expected_size, struct free_failure *why)
{
    why->verdict = HEADER_OK;
    why->class_index = SIZE_CLASS_LARGE;
    if (p == NULL)
        return ORTHO_OK;
    if (a->guard != NULL && guard_owns(a->guard, p))
        return allocator_free_sampled(a, p, expected_size, why);
    /* Large blocks are validated and freed under one lock in large.c. */
    if (arena_region_of(&a->arena, p) < 0)
        return allocator_free_large(a, cache, p, expected_size, &why->verdict);
    header_t *h = NULL; /* set by allocator_check_small on success */
    ortho_status_t status = allocator_check_small(p, &h, why);
    if (status != ORTHO_OK)
        return status;
    unsigned cls = h->class_index;
    if (expected_size != 0 && expected_size != h->requested_bytes)
        return ORTHO_E_SIZE_MISMATCH;
    if (a->full_check) {
        /* The slack past the request still holds the new-block pattern,
         * unless the program wrote past its end. */
        int64_t at = fullcheck_find_overflow(p, h->requested_bytes, h->usable_bytes);
        if (at >= 0)
            misuse_report_at("free", "overflow", p, cls, at);
    }
    uint64_t requested = h->requested_bytes;
    header_t *block = header_block(h);
    header_mark_freed(h);
    if (block != h)
        header_stamp_freed(block, cls); /* the block-start header was slack */
    allocator_put_block(a, cache, cls, block);
    allocator_count_requested(a, cache, cls, -requested);
    return ORTHO_OK;
}

ortho_status_t allocator_check_live(struct ortho_allocator *a, const void *p, header_t **h,
                                    struct free_failure *why)
{
    why->verdict = HEADER_OK;
    why->class_index = SIZE_CLASS_LARGE;
    *h = NULL;
    if (arena_region_of(&a->arena, p) >= 0)
        return allocator_check_small(p, h, why);
    if (a->guard != NULL && guard_owns(a->guard, p)) {
        *h = guard_live_header(a->guard, p);
        if (*h != NULL)
            return ORTHO_OK;
        why->verdict = HEADER_DOUBLE_FREE; /* freed, or not a block's start */
        return ORTHO_E_DOUBLE_FREE;
    }
    ortho_status_t status = large_check(&a->large, p, &why->verdict);
    if (status == ORTHO_E_FOREIGN) {
        /* Perhaps a cache's own large block. */
        lock_acquire(&a->registry_lock);
        status = allocator_check_large_locked(a, p, &why->verdict);
        lock_release(&a->registry_lock);
    }
    if (status == ORTHO_OK)
        *h = header_of_user(p);
    return status;
}

bool allocator_resize_in_place(struct ortho_allocator *a, struct ortho_cache *cache, header_t *h,
                               size_t n)
{
    uint64_t old = h->requested_bytes;
    if (h->kind == HEADER_KIND_GUARDED)
        return false; /* a sampled block keeps its exact size: it moves */
    if (h->kind == HEADER_KIND_SMALL) {
        if (h->offset_bytes != 0 || size_class_of(n) != h->class_index)
            return false;
        allocator_count_requested(a, cache, h->class_index, (uint64_t)n - old);
        if (a->full_check && n < old) /* what the request gave back is slack again */
            fullcheck_fill_new((char *)header_user(h) + n, old - n);
    } else {
        if (n > h->usable_bytes || n <= size_classes.largest_bytes || n < h->usable_bytes / 2)
            return false;
        large_note_resize(&a->large, old, n);
    }
    h->requested_bytes = n;
    h->checksum = header_checksum(h);
    return true;
}

/* The validated live header in front of p, or NULL. */
static const header_t *allocator_live_header(struct ortho_allocator *a, const void *p)
{
    header_t *h = NULL;
    struct free_failure why;
    if (p == NULL)
        return NULL;
    return allocator_check_live(a, p, &h, &why) == ORTHO_OK ? h : NULL;
}

size_t allocator_usable_size(struct ortho_allocator *a, const void *p)
{
    const header_t *h = allocator_live_header(a, p);
    if (h == NULL)
        return 0;
    /* In full-check mode the bytes past the request are the slack checked
     * at free: a program that sizes its writes by malloc_usable_size must
     * stay inside the request (AddressSanitizer answers the same). */
    if (a->full_check && h->kind == HEADER_KIND_SMALL)
        return h->requested_bytes;
    return h->usable_bytes;
}

bool allocator_owns_live(struct ortho_allocator *a, const void *p)
{
    return allocator_live_header(a, p) != NULL;
}

const char *allocator_failure_kind(ortho_status_t status, const struct free_failure *why)
{
    switch (status) {
    case ORTHO_E_FOREIGN: return "foreign_pointer";
    case ORTHO_E_MISALIGNED: return "misaligned_pointer";
    case ORTHO_E_SIZE_MISMATCH: return "size_mismatch";
    case ORTHO_E_DOUBLE_FREE: return "double_free";
    case ORTHO_E_CORRUPT: return header_verdict_name(why->verdict);
    default: return ortho_status_name(status);
    }
}

/* ---- stats and trim ---------------------------------------------------- */

void allocator_stats(struct ortho_allocator *a, ortho_stats_t *out)
{
    /* Caches of threads that died without their exit hook would otherwise
     * count as cached forever. */
    registry_reclaim_dead(a);
    memset(out, 0, sizeof *out);
    struct arena_usage usage;
    arena_usage(&a->arena, &usage);
    out->arena_reserved_bytes = usage.reserved_bytes;
    out->arena_committed_bytes = usage.committed_bytes;
    out->arena_carved_bytes = usage.carved_bytes;
    out->arena_released_bytes = usage.released_bytes;
    out->arena_regions = usage.regions;
    out->class_count = size_class_count();

    uint64_t requested[SIZE_CLASS_SLOTS];
    lock_acquire(&a->registry_lock);
    out->threads = atomic_load_explicit(&a->cache_count, memory_order_relaxed);
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        requested[cls] = atomic_load(&a->retired[cls].requested_net);
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next) {
        for (unsigned cls = 0; cls < size_class_count(); cls++) {
            requested[cls] +=
                atomic_load_explicit(&c->counters[cls].requested_net, memory_order_relaxed);
            out->classes[cls].cached_blocks += bin_count(&c->bins[cls]);
        }
        large_local_add_stats(&c->large, out);
    }
    lock_release(&a->registry_lock);

    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        ortho_class_stats_t *s = &out->classes[cls];
        s->payload_bytes = size_class_payload(cls);
        s->pool_blocks = atomic_load_explicit(&a->pools[cls].blocks, memory_order_relaxed);
        s->carved_blocks = atomic_load_explicit(&a->carved_blocks[cls], memory_order_relaxed);
        /* Every carved block is live, cached or pooled. The three are read
         * at slightly different moments while threads run: clamp at 0. */
        uint64_t idle = s->cached_blocks + s->pool_blocks;
        s->live_blocks = s->carved_blocks > idle ? s->carved_blocks - idle : 0;
        s->live_requested_bytes = requested[cls];
        s->live_usable_bytes = s->live_blocks * s->payload_bytes;
        out->live_requested_bytes += s->live_requested_bytes;
        out->live_usable_bytes += s->live_usable_bytes;
    }

    lock_acquire(&a->large.lock);
    /* += : the caches' own large blocks were added above. */
    out->large_allocs += a->large.allocs;
    out->large_frees += a->large.frees;
    out->large_live_blocks += a->large.live.count;
    out->large_live_requested_bytes += a->large.live_requested_bytes;
    out->large_live_mapped_bytes += a->large.live_mapped_bytes;
    out->large_free_blocks += a->large.retained_count;
    out->large_free_bytes += a->large.retained_bytes;
    out->large_unmapped_bytes = a->large.unmapped_bytes;
    lock_release(&a->large.lock);
    out->live_requested_bytes += out->large_live_requested_bytes;
    out->live_usable_bytes += out->large_live_mapped_bytes;
}

size_t allocator_trim(struct ortho_allocator *a)
{
    registry_reclaim_dead(a);
    uint64_t before = atomic_load(&a->arena.released_bytes);
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        header_t *chain = pool_take_all(&a->pools[cls]);
        while (chain != NULL) {
            header_t *next = pool_batch_next(chain);
            uint64_t blocks = pool_batch_blocks(chain);
            allocator_release_batch(a, cls, chain);
            pool_push(&a->pools[cls], chain, blocks);
            chain = next;
        }
    }
    size_t arena_bytes = (size_t)(atomic_load(&a->arena.released_bytes) - before);
    size_t stashed_bytes = 0;
    lock_acquire(&a->registry_lock);
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next)
        stashed_bytes += large_local_trim(&a->large, &c->large);
    lock_release(&a->registry_lock);
    return arena_bytes + stashed_bytes + large_trim(&a->large);
}

/* ---- fork -------------------------------------------------------------- */

void allocator_fork_prepare(struct ortho_allocator *a)
{
    lock_acquire(&a->registry_lock);
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next)
        lock_acquire(&c->large.lock);
    arena_fork_prepare(&a->arena);
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        pool_fork_prepare(&a->pools[cls]);
    large_fork_prepare(&a->large);
    fullcheck_quarantine_fork_prepare(&a->quarantine);
    if (a->guard != NULL)
        lock_acquire(&a->guard->lock);
}

void allocator_fork_parent(struct ortho_allocator *a)
{
    if (a->guard != NULL)
        lock_release(&a->guard->lock);
    fullcheck_quarantine_fork_parent(&a->quarantine);
    large_fork_parent(&a->large);
    for (unsigned cls = size_class_count(); cls-- > 0;)
        pool_fork_parent(&a->pools[cls]);
    arena_fork_parent(&a->arena);
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next)
        lock_release(&c->large.lock);
    lock_release(&a->registry_lock);
}

void allocator_fork_child(struct ortho_allocator *a, struct ortho_cache *survivor)
{
    if (a->guard != NULL)
        lock_reset(&a->guard->lock);
    fullcheck_quarantine_fork_child(&a->quarantine);
    large_fork_child(&a->large);
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        pool_fork_child(&a->pools[cls]);
    arena_fork_child(&a->arena);
    for (struct ortho_cache *c = a->caches; c != NULL; c = c->next)
        lock_reset(&c->large.lock);
    lock_reset(&a->registry_lock);
    /* Only the forking thread exists in the child: every other record
     * belongs to a thread that is gone. The child is single-threaded here. */
    lock_acquire(&a->registry_lock);
    for (struct ortho_cache *c = a->caches; c != NULL;) {
        struct ortho_cache *next = c->next;
        if (c != survivor)
            registry_retire_locked(a, c);
        c = next;
    }
    /* The survivor runs under a new thread id in the child; without this
     * the dead-thread sweep would take its live cache away. */
    if (survivor != NULL && survivor->state == CACHE_ACTIVE)
        registry_rekey_locked(a, survivor, prim_thread_id());
    lock_release(&a->registry_lock);
}
