/* stackmemo.c - the stack memo of stackmemo.h: learning where a chain of
 * return addresses lies on the stack (checking it again, on every traced
 * allocation, is inlined from the header). The scan reads stack words of
 * other functions' frames, so AddressSanitizer must not instrument it (an
 * instrumented caller's redzones are ordinary memory here, only read). */
#define _GNU_SOURCE
#include "stackmemo.h"

#include <pthread.h>
#include <string.h>

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

/* The way of `set` that hit last: the one its hot entry is. */
static unsigned stackmemo_hot_way(const stackmemo_t *memo, unsigned set)
{
    return memo->hot[set] != NULL ? (unsigned)(memo->hot[set] - memo->entries[set]) : 0;
}

/* Makes way `way` of `set`, whose chain is on the stack at here, the
 * set's hot way; the way that was hot before it becomes the one tried
 * second (prev_hit). */
static void stackmemo_make_hot(stackmemo_t *memo, unsigned set, unsigned way, uintptr_t here)
{
    unsigned last = stackmemo_hot_way(memo, set);
    if (way != last)
        memo->prev_hit[set] = (uint8_t)last;
    memo->hot[set] = &memo->entries[set][way];
    memo->hot_here[set] = here;
}

STACKMEMO_NO_ASAN ORTHO_NOINLINE uint32_t stackmemo_find_other_ways(stackmemo_t *memo, unsigned set,
                                                                   uintptr_t here)
{
    unsigned last = stackmemo_hot_way(memo, set), prev = memo->prev_hit[set];
    /* The find tried the hot way only if its anchor is this one. */
    bool tried_last = memo->hot_here[set] == here;
    if (prev != last && stackmemo_way_hits(memo, set, prev, here)) {
        stackmemo_make_hot(memo, set, prev, here);
        return memo->entries[set][prev].id;
    }
    for (unsigned way = 0; way < STACKMEMO_WAYS; way++) {
        if ((way == last && tried_last) || (way == prev && prev != last) ||
            !stackmemo_way_hits(memo, set, way, here))
            continue;
        stackmemo_make_hot(memo, set, way, here);
        return memo->entries[set][way].id;
    }
    return 0;
}

/* Finds each return address of ras above the previous one's slot, filling
 * e's slots (in words) and values. false if one is missing within the scan limit or
 * the stack's top. */
STACKMEMO_NO_ASAN static bool stackmemo_locate(stackmemo_entry_t *e, uintptr_t here,
                                               uintptr_t top, void *const *ras, int count)
{
    /* here is word-aligned (stackmemo_inside), as return addresses are. */
    uintptr_t at = here;
    for (int i = 0; i < count; i++) {
        uint64_t want = (uint64_t)(uintptr_t)ras[i];
        uintptr_t limit = at + (uintptr_t)STACKMEMO_SCAN_WORDS * 8;
        if (limit > top - 8)
            limit = top - 8;
        while (at <= limit && *(const volatile uint64_t *)at != want)
            at += 8;
        if (at > limit || (at - here) / 8 > UINT32_MAX)
            return false;
        e->word[i] = (uint32_t)((at - here) / 8);
        e->value[i] = want;
        at += 8;
    }
    /* Whole groups for stackmemo_holds: the last slot again, which holds
     * whenever the last slot does. */
    uint32_t padded = ((uint32_t)count + STACKMEMO_GROUP - 1) / STACKMEMO_GROUP * STACKMEMO_GROUP;
    for (uint32_t i = (uint32_t)count; i < padded; i++) {
        e->word[i] = e->word[count - 1];
        e->value[i] = e->value[count - 1];
    }
    e->count = padded;
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
    tag->here = 0; /* invalid while being rewritten, as a hot way too */
    if (memo->hot[set] == e)
        memo->hot_here[set] = 0;
    if (!stackmemo_locate(e, here, bounds->hi, ras, count))
        return false;
    e->id = id;
    tag->key_word = e->word[key];
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
