/* large.c - owns every mapping of the large path of one allocator. All state
 * is under large->lock: the large path maps or touches megabytes per call,
 * so one uncontended lock is noise. A block's header records its offset from
 * the mapping start and its usable size, from which free recovers the whole
 * mapping; the registry lookup comes first, so a foreign pointer is refused
 * without reading memory that may not exist. */
#include "large.h"

#include <string.h>

#include "prim.h"

/* Reuse a retained mapping only if it wastes at most a quarter of itself. */
#define LARGE_FIT_SLACK_DIVISOR 4

void large_init(struct large *large, size_t retain_bytes, uint32_t retain_count)
{
    memset(large, 0, sizeof *large);
    large->retain_bytes_max = retain_bytes;
    large->retain_count_max = retain_count > LARGE_RETAIN_SLOTS ? LARGE_RETAIN_SLOTS : retain_count;
}

static size_t large_map_bytes_of(const header_t *h)
{
    return h->offset_bytes + ORTHO_HEADER_SIZE + h->usable_bytes;
}

static void large_unmap_live(uintptr_t user, void *ctx)
{
    (void)ctx;
    header_t *h = header_of_user((void *)user);
    prim_unmap(header_block(h), large_map_bytes_of(h));
}

void large_destroy(struct large *large)
{
    ptrset_each(&large->live, large_unmap_live, NULL);
    ptrset_destroy(&large->live);
    large_trim(large);
}

/* Removes retained[index], keeping the rest oldest-first. Lock held. */
static struct large_span large_take_retained(struct large *large, uint32_t index)
{
    struct large_span span = large->retained[index];
    memmove(&large->retained[index], &large->retained[index + 1],
            (large->retained_count - index - 1) * sizeof span);
    large->retained_count--;
    large->retained_bytes -= span.map_bytes;
    return span;
}

/* Remembers that the block at `user` was freed and its mapping unmapped.
 * Lock held. */
static void large_remember_unmapped(struct large *large, uintptr_t user)
{
    large->recent_unmapped[large->recent_next] = user;
    large->recent_next = (large->recent_next + 1) % LARGE_RECENT_SLOTS;
}

/* Forgets remembered pointers inside a range that is mapped again: a new
 * block may live there now. Lock held. */
static void large_forget_unmapped(struct large *large, const char *base, size_t map_bytes)
{
    for (uint32_t i = 0; i < LARGE_RECENT_SLOTS; i++) {
        uintptr_t user = large->recent_unmapped[i];
        if (user >= (uintptr_t)base && user < (uintptr_t)base + map_bytes)
            large->recent_unmapped[i] = 0;
    }
}

/* Whether a mapping of `have` bytes may serve one that needs `need`. */
static bool large_fits(size_t have, size_t need)
{
    return have >= need && have - need <= have / LARGE_FIT_SLACK_DIVISOR;
}

/* Best-fitting retained mapping of at least `need` bytes, or NULL. Lock held. */
static char *large_reuse(struct large *large, size_t need, size_t *map_bytes)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < large->retained_count; i++) {
        size_t have = large->retained[i].map_bytes;
        if (!large_fits(have, need))
            continue;
        if (best == UINT32_MAX || have < large->retained[best].map_bytes)
            best = i;
    }
    if (best == UINT32_MAX)
        return NULL;
    struct large_span span = large_take_retained(large, best);
    *map_bytes = span.map_bytes;
    return span.base;
}

/* The user pointer of a block aligned to `align` in a mapping at base: the
 * first aligned address with room for the header in front. */
static uintptr_t large_user_in(const char *base, size_t align)
{
    return ((uintptr_t)base + ORTHO_HEADER_SIZE + align - 1) & ~(uintptr_t)(align - 1);
}

/* Stamps the header of a block of `size` bytes aligned to `align` in the
 * mapping [base, base+map_bytes); returns its user pointer. */
static uintptr_t large_stamp(char *base, size_t map_bytes, size_t size, size_t align)
{
    uintptr_t user = large_user_in(base, align);
    header_t *h = header_of_user((void *)user);
    header_stamp_large(h, size, (uintptr_t)base + map_bytes - user, (uintptr_t)h - (uintptr_t)base);
    return user;
}

/* Stamps a block in the mapping [base, base+map_bytes) and registers it as
 * live. `fresh`: the mapping is new, so remembered unmapped pointers inside
 * it are stale (a retained mapping was never unmapped, so none can lie
 * inside it). Returns the user pointer, or 0 if the registry could not
 * grow. Lock held. */
static uintptr_t large_register(struct large *large, char *base, size_t map_bytes, size_t size,
                                size_t align, bool fresh)
{
    if (!ptrset_insert(&large->live, large_user_in(base, align)))
        return 0;
    uintptr_t user = large_stamp(base, map_bytes, size, align);
    if (fresh)
        large_forget_unmapped(large, base, map_bytes);
    large->allocs++;
    large->live_requested_bytes += size;
    large->live_mapped_bytes += map_bytes;
    return user;
}

/* Bytes to map for a block of `size` aligned to `align` (align >= 64):
 * room for the header, the worst-case alignment shift and the payload,
 * whole pages. false if the size would wrap. */
static bool large_need(size_t size, size_t align, size_t *need)
{
    size_t page = prim_page_size();
    size_t extra = ORTHO_HEADER_SIZE + (align > ORTHO_MIN_ALIGN ? align : 0) + page;
    if (size > SIZE_MAX - extra)
        return false;
    *need = (size + extra - page + page - 1) / page * page;
    return true;
}

/* A new mapping of `bytes` for a block, recorded for the tracer. NULL: the
 * OS refused. */
static char *large_map_new(struct large *large, size_t bytes)
{
    char *base = prim_map(bytes);
    if (base != NULL && large_traced(large))
        trace_port_event(TRACE_PORT_LARGE_MAP, TRACE_PORT_CLASS_NONE, (uintptr_t)base, bytes);
    return base;
}

void *large_alloc(struct large *large, size_t size, size_t align, bool *fresh)
{
    if (align < ORTHO_MIN_ALIGN)
        align = ORTHO_MIN_ALIGN;
    size_t need;
    if (!large_need(size, align, &need))
        return NULL;

    /* Warm reuse takes the lock once: find a retained mapping and register
     * the block in the same critical section. */
    lock_acquire(&large->lock);
    size_t map_bytes = 0;
    char *base = large_reuse(large, need, &map_bytes);
    uintptr_t user = base != NULL ? large_register(large, base, map_bytes, size, align, false) : 0;
    lock_release(&large->lock);
    *fresh = base == NULL;
    if (base == NULL) {
        /* A fresh mapping: mmap outside the lock, then register. */
        map_bytes = need;
        base = large_map_new(large, map_bytes);
        if (base == NULL)
            return NULL;
        lock_acquire(&large->lock);
        user = large_register(large, base, map_bytes, size, align, true);
        lock_release(&large->lock);
    }
    if (user == 0) {
        prim_unmap(base, map_bytes);
        return NULL;
    }
    return (void *)user;
}

/* Context of the search for a live large block containing a pointer. */
struct large_containing {
    uintptr_t address; /* the pointer looked for */
    bool found;        /* it lies inside a live block's mapping */
};

/* Whether address lies in the mapping of the live block at `user`. */
static bool large_block_holds(uintptr_t user, uintptr_t address)
{
    const header_t *h = header_of_user((void *)user);
    uintptr_t base = (uintptr_t)h - h->offset_bytes;
    return address >= base && address < base + large_map_bytes_of(h);
}

static void large_check_containing(uintptr_t user, void *ctx)
{
    struct large_containing *search = ctx;
    if (large_block_holds(user, search->address))
        search->found = true;
}

/* The verdict on p if it lies in the freed mapping `span` (kept for
 * reuse): its block's start whose header says freed is a double free,
 * anything else inside an interior pointer. false: p is not inside. */
static bool large_span_verdict(const struct large_span *span, const void *p,
                               ortho_status_t *status, header_verdict_t *verdict)
{
    uintptr_t address = (uintptr_t)p;
    if (span->base == NULL || address < (uintptr_t)span->base ||
        address >= (uintptr_t)span->base + span->map_bytes)
        return false;
    *status = ORTHO_E_MISALIGNED;
    if (address == span->user && header_validate(header_of_user(p)) == HEADER_DOUBLE_FREE) {
        *verdict = HEADER_DOUBLE_FREE;
        *status = ORTHO_E_DOUBLE_FREE;
    }
    return true;
}

/* Classifies a pointer that is no live large block, without reading memory
 * that may be gone. Lock held. A remembered unmapped block or a retained
 * mapping whose header says FREED: double free. Inside a live or retained
 * mapping but not its block's start: misaligned (interior) pointer.
 * Anything else: foreign. */
static ortho_status_t large_classify_dead(struct large *large, const void *p,
                                          header_verdict_t *verdict)
{
    uintptr_t address = (uintptr_t)p;
    for (uint32_t i = 0; i < LARGE_RECENT_SLOTS; i++) {
        if (address != 0 && large->recent_unmapped[i] == address) {
            *verdict = HEADER_DOUBLE_FREE;
            return ORTHO_E_DOUBLE_FREE;
        }
    }
    ortho_status_t status;
    for (uint32_t i = 0; i < large->retained_count; i++)
        if (large_span_verdict(&large->retained[i], p, &status, verdict))
            return status;
    struct large_containing search = {address, false};
    ptrset_each(&large->live, large_check_containing, &search);
    return search.found ? ORTHO_E_MISALIGNED : ORTHO_E_FOREIGN;
}

/* Keeps a freed mapping for reuse or unmaps it, oldest first, to stay
 * within the retain budget. Lock held; unmaps happen after release. */
static size_t large_retain(struct large *large, struct large_span freed,
                           struct large_span *evicted, size_t evicted_max)
{
    size_t evicted_count = 0;
    if (freed.map_bytes > large->retain_bytes_max || large->retain_count_max == 0) {
        evicted[evicted_count++] = freed;
        return evicted_count;
    }
    while (large->retained_count > 0 && evicted_count < evicted_max &&
           (large->retained_count >= large->retain_count_max ||
            large->retained_bytes + freed.map_bytes > large->retain_bytes_max)) {
        evicted[evicted_count++] = large_take_retained(large, 0);
    }
    large->retained[large->retained_count++] = freed;
    large->retained_bytes += freed.map_bytes;
    return evicted_count;
}

/* Validates the header of a live block (memory known mapped) for a free
 * with `expected_size` (0: unchecked). */
static ortho_status_t large_check_header(const void *p, size_t expected_size,
                                         header_verdict_t *verdict)
{
    const header_t *h = header_of_user(p);
    *verdict = header_validate(h);
    if (*verdict == HEADER_OK && h->kind != HEADER_KIND_LARGE)
        *verdict = HEADER_BAD_CLASS;
    ortho_status_t status = header_verdict_status(*verdict);
    if (status == ORTHO_OK && expected_size != 0 && expected_size != h->requested_bytes)
        status = ORTHO_E_SIZE_MISMATCH;
    return status;
}

/* Validates p as a live large block: registered, then a header that
 * validates and says large; otherwise what large_classify_dead makes of it.
 * Lock held. */
static ortho_status_t large_check_locked(struct large *large, const void *p,
                                         header_verdict_t *verdict)
{
    *verdict = HEADER_OK;
    if (!ptrset_contains(&large->live, (uintptr_t)p))
        return large_classify_dead(large, p, verdict);
    return large_check_header(p, 0, verdict);
}
/* Unmaps mappings evicted from the retained list (lock not held). */
static void large_unmap_evicted(struct large *large, const struct large_span *evicted, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        prim_unmap(evicted[i].base, evicted[i].map_bytes);
        if (large_traced(large))
            trace_port_event(TRACE_PORT_LARGE_UNMAP, TRACE_PORT_CLASS_NONE, (uintptr_t)evicted[i].base,
                         evicted[i].map_bytes);
    }
}

/* Puts a freed mapping on the retained list (or unmaps it), evicting the
 * oldest beyond the budget. Lock held; returns how many went to
 * `evicted`, to unmap once the lock is released. */
static size_t large_retain_locked(struct large *large, struct large_span freed,
                                  struct large_span *evicted)
{
    size_t count = large_retain(large, freed, evicted, LARGE_RETAIN_SLOTS + 1);
    for (size_t i = 0; i < count; i++) {
        large->unmapped_bytes += evicted[i].map_bytes;
        large_remember_unmapped(large, evicted[i].user);
    }
    return count;
}

/* large_retain_locked with the lock taken and the unmapping done. */
static void large_give_back(struct large *large, struct large_span freed)
{
    struct large_span evicted[LARGE_RETAIN_SLOTS + 1];
    lock_acquire(&large->lock);
    size_t count = large_retain_locked(large, freed, evicted);
    lock_release(&large->lock);
    large_unmap_evicted(large, evicted, count);
}

bool large_free_registered(struct large *large, void *p, size_t expected_size,
                           ortho_status_t *status, header_verdict_t *verdict)
{
    struct large_span evicted[LARGE_RETAIN_SLOTS + 1];
    size_t evicted_count = 0;
    *verdict = HEADER_OK;

    lock_acquire(&large->lock);
    if (!ptrset_contains(&large->live, (uintptr_t)p)) {
        lock_release(&large->lock);
        return false;
    }
    *status = large_check_header(p, expected_size, verdict);
    if (*status == ORTHO_OK) {
        header_t *h = header_of_user(p);
        size_t map_bytes = large_map_bytes_of(h);
        ptrset_remove(&large->live, (uintptr_t)p);
        large->frees++;
        large->live_requested_bytes -= h->requested_bytes;
        large->live_mapped_bytes -= map_bytes;
        header_mark_freed(h);
        struct large_span freed = {(char *)header_block(h), map_bytes, (uintptr_t)p};
        evicted_count = large_retain_locked(large, freed, evicted);
    }
    lock_release(&large->lock);
    large_unmap_evicted(large, evicted, evicted_count);
    return true;
}

ortho_status_t large_free(struct large *large, void *p, size_t expected_size,
                          header_verdict_t *verdict)
{
    ortho_status_t status;
    if (large_free_registered(large, p, expected_size, &status, verdict))
        return status;
    /* Not registered: the verdict on an unknown pointer. */
    return large_check(large, p, verdict);
}

ortho_status_t large_check(struct large *large, const void *p, header_verdict_t *verdict)
{
    lock_acquire(&large->lock);
    ortho_status_t status = large_check_locked(large, p, verdict);
    lock_release(&large->lock);
    return status;
}

void large_note_resize(struct large *large, uint64_t old_requested, uint64_t new_requested)
{
    lock_acquire(&large->lock);
    large->live_requested_bytes += new_requested - old_requested;
    lock_release(&large->lock);
}

bool large_owns(struct large *large, const void *p)
{
    lock_acquire(&large->lock);
    bool owned = ptrset_contains(&large->live, (uintptr_t)p);
    lock_release(&large->lock);
    return owned;
}

size_t large_trim(struct large *large)
{
    struct large_span spans[LARGE_RETAIN_SLOTS];
    lock_acquire(&large->lock);
    uint32_t count = large->retained_count;
    memcpy(spans, large->retained, count * sizeof spans[0]);
    size_t bytes = large->retained_bytes;
    for (uint32_t i = 0; i < count; i++)
        large_remember_unmapped(large, spans[i].user);
    large->retained_count = 0;
    large->retained_bytes = 0;
    large->unmapped_bytes += bytes;
    lock_release(&large->lock);
    large_unmap_evicted(large, spans, count);
    return bytes;
}


/* ---- a cache's own share ------------------------------------------------- */

/* Index of a free slot of local->live, or -1. Local lock held. */
static int large_local_free_slot(const struct large_local *local)
{
    for (int i = 0; i < LARGE_LOCAL_SLOTS; i++)
        if (local->live[i] == 0)
            return i;
    return -1;
}

/* Index of p in local->live, or -1. Local lock held. */
static int large_local_find(const struct large_local *local, uintptr_t p)
{
    for (int i = 0; i < LARGE_LOCAL_SLOTS; i++)
        if (p != 0 && local->live[i] == p)
            return i;
    return -1;
}

/* Stamps a block in [base, base+map_bytes) and records it in slot `slot`.
 * Local lock held. */
static uintptr_t large_local_place(struct large_local *local, int slot, char *base,
                                   size_t map_bytes, size_t size, size_t align)
{
    uintptr_t user = large_stamp(base, map_bytes, size, align);
    local->live[slot] = user;
    local->allocs++;
    local->live_requested_bytes += size;
    local->live_mapped_bytes += map_bytes;
    return user;
}

void *large_local_alloc(struct large *large, struct large_local *local, size_t size, size_t align,
                        bool *fresh)
{
    if (align < ORTHO_MIN_ALIGN)
        align = ORTHO_MIN_ALIGN;
    size_t need;
    if (!large_need(size, align, &need))
        return NULL;
    lock_acquire(&local->lock);
    int slot = large_local_free_slot(local);
    struct large_span stash = local->stash;
    if (slot >= 0 && stash.base != NULL && large_fits(stash.map_bytes, need)) {
        local->stash = (struct large_span){0};
        uintptr_t user = large_local_place(local, slot, stash.base, stash.map_bytes, size, align);
        lock_release(&local->lock);
        *fresh = false;
        return (void *)user;
    }
    lock_release(&local->lock);
    if (slot < 0)
        return large_alloc(large, size, align, fresh);

    /* A free slot but no fitting stash: a mapping from the shared level. */
    size_t map_bytes = 0;
    lock_acquire(&large->lock);
    char *base = large_reuse(large, need, &map_bytes);
    lock_release(&large->lock);
    *fresh = base == NULL;
    if (base == NULL) {
        map_bytes = need;
        base = large_map_new(large, map_bytes);
        if (base == NULL)
            return NULL;
        lock_acquire(&large->lock);
        large_forget_unmapped(large, base, map_bytes);
        lock_release(&large->lock);
    }
    lock_acquire(&local->lock);
    /* Only this thread fills slots; others may only have emptied some. */
    slot = large_local_free_slot(local);
    uintptr_t user = large_local_place(local, slot, base, map_bytes, size, align);
    lock_release(&local->lock);
    return (void *)user;
}

bool large_local_free(struct large *large, struct large_local *local, void *p, size_t expected_size,
                      bool keep, ortho_status_t *status, header_verdict_t *verdict)
{
    *verdict = HEADER_OK;
    lock_acquire(&local->lock);
    int slot = large_local_find(local, (uintptr_t)p);
    if (slot < 0) {
        lock_release(&local->lock);
        return false;
    }
    *status = large_check_header(p, expected_size, verdict);
    if (*status != ORTHO_OK) {
        lock_release(&local->lock);
        return true;
    }
    header_t *h = header_of_user(p);
    struct large_span freed = {(char *)header_block(h), large_map_bytes_of(h), (uintptr_t)p};
    local->live[slot] = 0;
    local->frees++;
    local->live_requested_bytes -= h->requested_bytes;
    local->live_mapped_bytes -= freed.map_bytes;
    header_mark_freed(h);
    struct large_span spill = freed;
    /* The stash honours the retain settings: none with a count of 0, and
     * never a mapping larger than the whole byte budget. */
    if (keep && large->retain_count_max > 0 && freed.map_bytes <= large->retain_bytes_max) {
        spill = local->stash;
        local->stash = freed;
    }
    lock_release(&local->lock);
    if (spill.base != NULL)
        large_give_back(large, spill);
    return true;
}

bool large_local_check(struct large_local *local, const void *p, ortho_status_t *status,
                       header_verdict_t *verdict)
{
    uintptr_t address = (uintptr_t)p;
    bool known = true;
    *verdict = HEADER_OK;
    lock_acquire(&local->lock);
    if (large_local_find(local, address) >= 0) {
        *status = large_check_header(p, 0, verdict);
        goto out;
    }
    for (int i = 0; i < LARGE_LOCAL_SLOTS; i++) {
        if (local->live[i] != 0 && large_block_holds(local->live[i], address)) {
            *status = ORTHO_E_MISALIGNED; /* inside a live block, not its start */
            goto out;
        }
    }
    known = large_span_verdict(&local->stash, p, status, verdict);
out:
    lock_release(&local->lock);
    return known;
}

void large_local_flush(struct large *large, struct large_local *local)
{
    struct large_local taken;
    lock_acquire(&local->lock);
    memcpy(taken.live, local->live, sizeof taken.live);
    taken.stash = local->stash;
    taken.allocs = local->allocs;
    taken.frees = local->frees;
    taken.live_requested_bytes = local->live_requested_bytes;
    taken.live_mapped_bytes = local->live_mapped_bytes;
    memset(local->live, 0, sizeof local->live);
    local->stash = (struct large_span){0};
    local->allocs = local->frees = 0;
    local->live_requested_bytes = local->live_mapped_bytes = 0;
    lock_release(&local->lock);
    struct large_span evicted[LARGE_RETAIN_SLOTS + 1];
    size_t evicted_count = 0;
    lock_acquire(&large->lock);
    /* A block whose insert fails (the registry could not grow: out of
     * memory) stays mapped but unknown; freeing it later is refused as
     * foreign rather than risk reading a header that may not exist. */
    for (int i = 0; i < LARGE_LOCAL_SLOTS; i++)
        if (taken.live[i] != 0)
            ptrset_insert(&large->live, taken.live[i]);
    large->allocs += taken.allocs;
    large->frees += taken.frees;
    large->live_requested_bytes += taken.live_requested_bytes;
    large->live_mapped_bytes += taken.live_mapped_bytes;
    if (taken.stash.base != NULL)
        evicted_count = large_retain_locked(large, taken.stash, evicted);
    lock_release(&large->lock);
    large_unmap_evicted(large, evicted, evicted_count);
}

size_t large_local_trim(struct large *large, struct large_local *local)
{
    lock_acquire(&local->lock);
    struct large_span stash = local->stash;
    local->stash = (struct large_span){0};
    lock_release(&local->lock);
    if (stash.base == NULL)
        return 0;
    lock_acquire(&large->lock);
    large_remember_unmapped(large, stash.user);
    large->unmapped_bytes += stash.map_bytes;
    lock_release(&large->lock);
    large_unmap_evicted(large, &stash, 1);
    return stash.map_bytes;
}

void large_local_add_stats(struct large_local *local, ortho_stats_t *out)
{
    lock_acquire(&local->lock);
    out->large_allocs += local->allocs;
    out->large_frees += local->frees;
    for (int i = 0; i < LARGE_LOCAL_SLOTS; i++)
        out->large_live_blocks += local->live[i] != 0;
    out->large_live_requested_bytes += local->live_requested_bytes;
    out->large_live_mapped_bytes += local->live_mapped_bytes;
    if (local->stash.base != NULL) {
        out->large_free_blocks++;
        out->large_free_bytes += local->stash.map_bytes;
    }
    lock_release(&local->lock);
}

void large_fork_prepare(struct large *large) { lock_acquire(&large->lock); }
void large_fork_parent(struct large *large) { lock_release(&large->lock); }
void large_fork_child(struct large *large) { lock_reset(&large->lock); }
