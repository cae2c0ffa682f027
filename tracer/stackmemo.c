/* stackmemo.c - the stack memo of stackmemo.h: learning where a chain of
 * return addresses lies on the stack, and checking it again. The reads of
 * stack words belong to other functions' frames, so AddressSanitizer must
 * not instrument them (an instrumented caller's redzones are ordinary
 * memory here, only read). */
#define _GNU_SOURCE
#include "stackmemo.h"

#include "compiler.h"

#include <pthread.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define STACKMEMO_NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACKMEMO_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef STACKMEMO_NO_ASAN
#define STACKMEMO_NO_ASAN
#endif

bool stackmemo_thread_bounds(stackmemo_bounds_t *bounds)
{
    bounds->lo = bounds->hi = 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return false;
    void *addr = NULL;
    size_t size = 0;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0 || addr == NULL || size == 0)
        return false;
    bounds->lo = (uintptr_t)addr;
    bounds->hi = (uintptr_t)addr + size;
    return true;
}

/* The set an anchor maps to. Anchors differ by whole frames (multiples of
 * 16 bytes), hence the shifts. */
static unsigned stackmemo_set(uintptr_t here)
{
    return (unsigned)((here >> 4) ^ (here >> 9)) & (STACKMEMO_SETS - 1);
}

static bool stackmemo_inside(const stackmemo_bounds_t *bounds, uintptr_t here)
{
    return bounds->hi != 0 && here >= bounds->lo && here < bounds->hi;
}

/* The stack word of e's slot i, XOR the return address the memo expects
 * there: 0 while the slot still holds it. */
STACKMEMO_NO_ASAN ORTHO_INLINE uint64_t stackmemo_slot_diff(const stackmemo_entry_t *e,
                                                            uintptr_t here, uint32_t i)
{
    return *(const volatile uint64_t *)(here + e->offset[i]) ^ e->value[i];
}

/* Whether every slot of e still holds its return address. Four slots are
 * folded into one test at a time: a hit, the common case, checks every
 * slot anyway, and with a branch per slot the checks were 135 of the 214
 * instructions of a find (jq under cachegrind, some 20 slots a find). */
STACKMEMO_NO_ASAN ORTHO_INLINE bool stackmemo_holds(const stackmemo_entry_t *e, uintptr_t here)
{
    uint32_t n = e->count, i = 0;
    for (; i + 4 <= n; i += 4)
        if ((stackmemo_slot_diff(e, here, i) | stackmemo_slot_diff(e, here, i + 1) |
             stackmemo_slot_diff(e, here, i + 2) | stackmemo_slot_diff(e, here, i + 3)) != 0)
            return false;
    uint64_t diff = 0;
    for (; i < n; i++)
        diff |= stackmemo_slot_diff(e, here, i);
    return diff == 0;
}

/* The low half of the stack word at here + offset. */
STACKMEMO_NO_ASAN ORTHO_INLINE uint32_t stackmemo_key_at(uintptr_t here, uint32_t offset)
{
    return (uint32_t)*(const volatile uint64_t *)(here + offset);
}

/* Whether way `way` of `set` holds a chain that is on the stack at here.
 * Inlined, with what it calls, into stackmemo_find, so that trying a way
 * is no call; not instrumented, like the reads it is made of (an ASan
 * build could not inline them into it otherwise). */
STACKMEMO_NO_ASAN ORTHO_INLINE bool stackmemo_way_hits(const stackmemo_t *memo, unsigned set,
                                                       unsigned way, uintptr_t here)
{
    const stackmemo_tag_t *tag = &memo->tags[set][way];
    return tag->here == here && stackmemo_key_at(here, tag->key_offset) == tag->key_low &&
           stackmemo_holds(&memo->entries[set][way], here);
}

STACKMEMO_NO_ASAN uint32_t stackmemo_find(stackmemo_t *memo, uintptr_t here,
                                          const stackmemo_bounds_t *bounds)
{
    if (!stackmemo_inside(bounds, here))
        return 0;
    unsigned set = stackmemo_set(here);
    /* The last hit first: without it a find walked 8 of the 16 ways on
     * average (jq), most of them other call sites at the same depth. */
    unsigned last = memo->last_hit[set];
    if (stackmemo_way_hits(memo, set, last, here))
        return memo->entries[set][last].id;
    for (unsigned way = 0; way < STACKMEMO_WAYS; way++) {
        if (way == last || !stackmemo_way_hits(memo, set, way, here))
            continue;
        memo->last_hit[set] = (uint8_t)way;
        return memo->entries[set][way].id;
    }
    return 0;
}

/* Finds each return address of ras above the previous one's slot, filling
 * e's offsets and values. false if one is missing within the scan limit or
 * the stack's top. */
STACKMEMO_NO_ASAN static bool stackmemo_locate(stackmemo_entry_t *e, uintptr_t here,
                                               uintptr_t top, void *const *ras, int count)
{
    /* Word-aligned start: return addresses are stored 8-byte aligned. */
    uintptr_t at = (here + 7) & ~(uintptr_t)7;
    for (int i = 0; i < count; i++) {
        uint64_t want = (uint64_t)(uintptr_t)ras[i];
        uintptr_t limit = at + (uintptr_t)STACKMEMO_SCAN_WORDS * 8;
        if (limit > top - 8)
            limit = top - 8;
        while (at <= limit && *(const volatile uint64_t *)at != want)
            at += 8;
        if (at > limit || at - here > UINT32_MAX)
            return false;
        e->offset[i] = (uint32_t)(at - here);
        e->value[i] = want;
        at += 8;
    }
    e->count = (uint32_t)count;
    return true;
}

/* Whether a chain of `count` for `id` at `here` may be learned at all;
 * past this only the scan can fail. */
static bool stackmemo_learnable(uintptr_t here, const stackmemo_bounds_t *bounds, int count,
                                uint32_t id)
{
    return id != 0 && count >= 1 && count <= STACKMEMO_MAX_FRAMES &&
           stackmemo_inside(bounds, here) && bounds->hi - here >= 16;
}

bool stackmemo_learn(stackmemo_t *memo, uintptr_t here, const stackmemo_bounds_t *bounds,
                     void *const *ras, int count, int key, uint32_t id)
{
    if (!stackmemo_learnable(here, bounds, count, id))
        return false;
    if (key < 0 || key >= count)
        key = 0;
    unsigned set = stackmemo_set(here);
    unsigned way = memo->next_way[set];
    stackmemo_tag_t *tag = &memo->tags[set][way];
    stackmemo_entry_t *e = &memo->entries[set][way];
    tag->here = 0; /* invalid while being rewritten */
    if (!stackmemo_locate(e, here, bounds->hi, ras, count))
        return false;
    e->id = id;
    tag->key_offset = e->offset[key];
    tag->key_low = (uint32_t)e->value[key];
    tag->here = here;
    memo->next_way[set] = (uint8_t)((way + 1) % STACKMEMO_WAYS);
    return true;
}

bool stackmemo_offer(stackmemo_t *memo, uintptr_t here, const stackmemo_bounds_t *bounds,
                     void *const *ras, int count, int key, uint32_t id)
{
    if (!stackmemo_learnable(here, bounds, count, id))
        return false;
    uint32_t bit = id % STACKMEMO_ID_BITS;
    uint64_t mask = 1ull << (bit % 64);
    if (memo->unlearnable[bit / 64] & mask)
        return false;
    if (!(memo->seen[bit / 64] & mask)) {
        memo->seen[bit / 64] |= mask;
        return false;
    }
    if (stackmemo_learn(memo, here, bounds, ras, count, key, id))
        return true;
    memo->unlearnable[bit / 64] |= mask; /* learnable, so the scan itself failed */
    return false;
}
