/* arena.c - owns the regions of one allocator: reservation, lazy commit,
 * bump carving of spans and growth into new regions. Carving and growth run
 * under arena->lock (slow path: a span feeds a whole cache refill), while
 * ownership checks read region_count and committed_bytes with atomics and
 * never block. Regions are only unmapped by arena_destroy, so a pointer that
 * passed an ownership check stays readable. With huge pages asked for
 * (ORTHO_HUGE_PAGES), a region is reserved 2 MiB-aligned and advised whole
 * before any commit splits its mapping, so every part of it keeps the
 * advice: carving is dense and sequential, which is what lets most of
 * those pages be whole. */
#include "arena.h"

#include <string.h>

#include "prim.h"

static size_t arena_round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

/* Reserves region `index`. Caller holds the lock or is initialising. */
static bool arena_add_region(struct arena *arena, unsigned index)
{
    void *base = arena->huge_pages ? prim_reserve_huge(arena->region_bytes)
                                   : prim_reserve(arena->region_bytes);
    if (base == NULL)
        return false;
    struct arena_region *region = &arena->regions[index];
    region->base = base;
    region->reserved_bytes = arena->region_bytes;
    region->carved_bytes = 0;
    atomic_store_explicit(&region->committed_bytes, 0, memory_order_relaxed);
    /* Publish only a fully initialised region to lock-free readers. */
    atomic_store_explicit(&arena->region_count, index + 1, memory_order_release);
    return true;
}

bool arena_init(struct arena *arena, size_t region_bytes, uint32_t max_regions, bool huge_pages)
{
    memset(arena, 0, sizeof *arena);
    arena->huge_pages = huge_pages;
    arena->region_bytes = arena_round_up(region_bytes, prim_page_size());
    arena->max_regions = max_regions > ARENA_REGION_LIMIT ? ARENA_REGION_LIMIT : max_regions;
    return arena_add_region(arena, 0);
}

void arena_destroy(struct arena *arena)
{
    unsigned count = atomic_load(&arena->region_count);
    for (unsigned i = 0; i < count; i++)
        prim_unmap(arena->regions[i].base, arena->regions[i].reserved_bytes);
    atomic_store(&arena->region_count, 0);
}

/* Makes sure [0, end) of the region is committed. Caller holds the lock. */
static bool arena_commit_to(struct arena_region *region, size_t end)
{
    size_t committed = atomic_load_explicit(&region->committed_bytes, memory_order_relaxed);
    if (end <= committed)
        return true;
    size_t target = arena_round_up(end, ARENA_COMMIT_CHUNK);
    if (target > region->reserved_bytes)
        target = region->reserved_bytes;
    if (!prim_commit(region->base + committed, target - committed))
        return false;
    /* Release: a reader that sees the new size also sees the pages usable. */
    atomic_store_explicit(&region->committed_bytes, target, memory_order_release);
    return true;
}

void *arena_carve(struct arena *arena, size_t bytes)
{
    void *span = NULL;
    lock_acquire(&arena->lock);
    unsigned index = atomic_load_explicit(&arena->region_count, memory_order_relaxed) - 1;
    struct arena_region *region = &arena->regions[index];
    if (region->reserved_bytes - region->carved_bytes < bytes) {
        /* The tail of a full region is left uncarved: at most one span. */
        if (bytes > arena->region_bytes || index + 1 >= arena->max_regions ||
            !arena_add_region(arena, index + 1))
            goto out;
        region = &arena->regions[index + 1];
    }
    if (!arena_commit_to(region, region->carved_bytes + bytes))
        goto out;
    span = region->base + region->carved_bytes;
    region->carved_bytes += bytes;
    atomic_fetch_add_explicit(&arena->carved_total_bytes, bytes, memory_order_relaxed);
out:
    lock_release(&arena->lock);
    return span;
}

int arena_region_of(const struct arena *arena, const void *p)
{
    unsigned count = atomic_load_explicit(&arena->region_count, memory_order_acquire);
    uintptr_t address = (uintptr_t)p;
    for (unsigned i = 0; i < count; i++) {
        const struct arena_region *region = &arena->regions[i];
        uintptr_t base = (uintptr_t)region->base;
        size_t committed = atomic_load_explicit(&region->committed_bytes, memory_order_acquire);
        if (address >= base + 64 && address < base + committed)
            return (int)i;
    }
    return -1;
}

void arena_release(struct arena *arena, void *p, size_t bytes)
{
    size_t page = prim_page_size();
    uintptr_t start = arena_round_up((uintptr_t)p, page);
    uintptr_t end = ((uintptr_t)p + bytes) / page * page;
    if (end <= start)
        return;
    prim_release_pages((void *)start, end - start);
    atomic_fetch_add_explicit(&arena->released_bytes, end - start, memory_order_relaxed);
}

void arena_usage(const struct arena *arena, struct arena_usage *out)
{
    memset(out, 0, sizeof *out);
    unsigned count = atomic_load_explicit(&arena->region_count, memory_order_acquire);
    out->regions = count;
    for (unsigned i = 0; i < count; i++) {
        out->reserved_bytes += arena->regions[i].reserved_bytes;
        out->committed_bytes +=
            atomic_load_explicit(&arena->regions[i].committed_bytes, memory_order_relaxed);
    }
    out->carved_bytes = atomic_load_explicit(&arena->carved_total_bytes, memory_order_relaxed);
    out->released_bytes = atomic_load_explicit(&arena->released_bytes, memory_order_relaxed);
}

void arena_fork_prepare(struct arena *arena) { lock_acquire(&arena->lock); }
void arena_fork_parent(struct arena *arena) { lock_release(&arena->lock); }
void arena_fork_child(struct arena *arena) { lock_reset(&arena->lock); }
