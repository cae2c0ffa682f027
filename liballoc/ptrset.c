/* ptrset.c - owns the mmap'd slot arrays of address sets. Grows by doubling
 * into a fresh mapping when keys plus deleted markers pass half the
 * capacity, which keeps probes short and rehashing rare. */
#include "ptrset.h"

#include "prim.h"

#define PTRSET_EMPTY 0u
#define PTRSET_DELETED 1u
#define PTRSET_MIN_CAPACITY 512u /* 4 KiB of slots: one page */

static size_t ptrset_hash(uintptr_t key, size_t capacity)
{
    /* Keys are 64-aligned addresses: multiply to spread the high bits. */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (capacity - 1);
}

static bool ptrset_grow(struct ptrset *set)
{
    size_t capacity = set->capacity == 0 ? PTRSET_MIN_CAPACITY : set->capacity * 2;
    /* Only rehash in place of doubling when deleted markers fill the table. */
    if (set->capacity != 0 && set->count < set->capacity / 4)
        capacity = set->capacity;
    uintptr_t *slots = prim_map(capacity * sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < set->capacity; i++) {
        uintptr_t key = set->slots[i];
        if (key <= PTRSET_DELETED)
            continue;
        size_t at = ptrset_hash(key, capacity);
        while (slots[at] != PTRSET_EMPTY)
            at = (at + 1) & (capacity - 1);
        slots[at] = key;
    }
    if (set->slots != NULL)
        prim_unmap(set->slots, set->capacity * sizeof *slots);
    set->slots = slots;
    set->capacity = capacity;
    set->used = set->count;
    return true;
}

bool ptrset_insert(struct ptrset *set, uintptr_t key)
{
    if ((set->used + 1) * 2 > set->capacity && !ptrset_grow(set))
        return false;
    size_t at = ptrset_hash(key, set->capacity);
    size_t reuse = SIZE_MAX;
    while (set->slots[at] != PTRSET_EMPTY) {
        if (set->slots[at] == key)
            return true;
        if (set->slots[at] == PTRSET_DELETED && reuse == SIZE_MAX)
            reuse = at;
        at = (at + 1) & (set->capacity - 1);
    }
    if (reuse != SIZE_MAX) {
        at = reuse;
    } else {
        set->used++;
    }
    set->slots[at] = key;
    set->count++;
    return true;
}

static size_t ptrset_find(const struct ptrset *set, uintptr_t key)
{
    if (set->capacity == 0)
        return SIZE_MAX;
    size_t at = ptrset_hash(key, set->capacity);
    while (set->slots[at] != PTRSET_EMPTY) {
        if (set->slots[at] == key)
            return at;
        at = (at + 1) & (set->capacity - 1);
    }
    return SIZE_MAX;
}

bool ptrset_remove(struct ptrset *set, uintptr_t key)
{
    size_t at = ptrset_find(set, key);
    if (at == SIZE_MAX)
        return false;
    set->slots[at] = PTRSET_DELETED;
    set->count--;
    return true;
}

bool ptrset_contains(const struct ptrset *set, uintptr_t key)
{
    return ptrset_find(set, key) != SIZE_MAX;
}

void ptrset_destroy(struct ptrset *set)
{
    if (set->slots != NULL)
        prim_unmap(set->slots, set->capacity * sizeof *set->slots);
    set->slots = NULL;
    set->capacity = set->used = set->count = 0;
}

void ptrset_each(const struct ptrset *set, void (*fn)(uintptr_t key, void *ctx), void *ctx)
{
    for (size_t i = 0; i < set->capacity; i++) {
        if (set->slots[i] > PTRSET_DELETED)
            fn(set->slots[i], ctx);
    }
}
