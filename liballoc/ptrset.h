/* ptrset.h - a set of addresses (open addressing, linear probing) whose
 * storage comes straight from mmap, so the allocator can keep registries
 * without calling malloc. Not thread-safe: the owner locks around it. */
#ifndef ORTHO_PTRSET_H
#define ORTHO_PTRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ptrset {
    uintptr_t *slots; /* capacity entries: 0 empty, 1 deleted, else a key */
    size_t capacity;  /* power of two, 0 before the first insert */
    size_t used;      /* keys plus deleted markers (drives the rehash) */
    size_t count;     /* keys */
};

/* Adds key (not 0 or 1). false if the table could not grow (no memory). */
bool ptrset_insert(struct ptrset *set, uintptr_t key);
/* Removes key; false if it was not there. */
bool ptrset_remove(struct ptrset *set, uintptr_t key);
bool ptrset_contains(const struct ptrset *set, uintptr_t key);
/* Unmaps the table. */
void ptrset_destroy(struct ptrset *set);
/* Calls fn(key, ctx) for every key (the set must not change meanwhile). */
void ptrset_each(const struct ptrset *set, void (*fn)(uintptr_t key, void *ctx), void *ctx);

#endif
