/* tables.h - the collector's two hash tables, both open addressing with
 * linear probing and backward-shift deletion (no tombstones, so a table
 * that churns millions of entries stays as fast as a fresh one):
 *   u64map  - a 64-bit key (never 0) to a 64-bit value: sizes, thread pairs,
 *             stack hashes;
 *   livetab - live allocations keyed by (address, allocation timestamp),
 *             the pair that names one allocation exactly (record.h).
 * They live in the collector, a normal process: plain malloc is fine. */
#ifndef ORTHO_COLLECTOR_TABLES_H
#define ORTHO_COLLECTOR_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys; /* 0 = empty */
    uint64_t *values;
    size_t cap;     /* power of two */
    size_t count;
};

void u64map_init(struct u64map *m);
void u64map_free(struct u64map *m);
/* Pointer to the value of key (inserted as 0 if absent); NULL: no memory. */
uint64_t *u64map_slot(struct u64map *m, uint64_t key);
/* Pointer to the value of key, or NULL if absent. */
uint64_t *u64map_find(const struct u64map *m, uint64_t key);
/* Calls fn for every entry. */
void u64map_each(const struct u64map *m, void (*fn)(uint64_t key, uint64_t value, void *arg), void *arg);

/* One allocation the collector knows about. A FREE that arrives before its
 * ALLOC (the two were in different threads' rings) is kept as an entry
 * with pending_free set until the ALLOC shows up. */
struct live_entry {
    uint64_t addr;      /* 0 = empty slot */
    uint64_t alloc_ts;
    uint64_t requested;
    uint64_t usable;
    uint32_t stack_id;  /* canonical */
    uint32_t thread_id; /* allocating thread (or, pending, the freeing one) */
    uint64_t free_ts;   /* pending_free: when it was freed */
    uint8_t class_id;
    uint8_t pending_free;
    uint8_t pad[2];
    uint32_t free_thread; /* pending_free: index of the freeing thread's record */
};

struct livetab {
    struct live_entry *slots;
    size_t cap;
    size_t count;
};

void livetab_init(struct livetab *t);
void livetab_free(struct livetab *t);
struct live_entry *livetab_find(const struct livetab *t, uint64_t addr, uint64_t alloc_ts);
/* Inserts a copy of *e; the stored entry, or NULL on no memory. */
struct live_entry *livetab_insert(struct livetab *t, const struct live_entry *e);
/* Removes the entry (a pointer from find/insert). */
void livetab_remove(struct livetab *t, struct live_entry *e);

#endif
