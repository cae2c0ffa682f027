/* tables.h - the collector's two hash tables, both open addressing with
 * linear probing:
 *   u64map  - a 64-bit key (never 0) to a 64-bit value: sizes, thread pairs,
 *             stack hashes; entries are never removed;
 *   livetab - 32-byte slots keyed by (address, allocation timestamp),
 *             the pair that names one allocation exactly (record.h);
 *             liveset.h keeps the live allocations in one. A removal
 *             leaves a tombstone, and a table whose tombstones pile up is
 *             purged of them in place (tables.c), so a table that churns
 *             millions of entries stays as fast as a fresh one.
 * They live in the collector, a normal process: plain malloc is fine.
 * One thread uses all of them (the collector's main one); a livetab's
 * growth is helped by a thread of tables.c's own, which only populates
 * pages and is out of an array before it is unmapped. */
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

/* One slot of the live table: its key, the pair (address, allocation
 * timestamp) that names one allocation exactly (record.h), and 16 bytes
 * that liveset.h packs the allocation into. 32 bytes: two to a cache
 * line, where the entries of 56 bytes they replaced straddled lines and
 * made the table the collector's largest cost (python3, 3.4 million
 * blocks live: 470 MB of table, 42 ns a record in the table alone). */
struct live_slot {
    uint64_t addr;      /* 0 = empty slot, LIVETAB_TOMB = a removed entry's tombstone */
    uint64_t alloc_ts;
    uint64_t word[2];   /* liveset.c's */
};

/* A removal leaves this in the slot's addr when a probe may pass it
 * (tables.c): no key may be 0 or 1. */
#define LIVETAB_TOMB 1u

/* While it grows, the table is two arrays: entries are inserted into the
 * new one, and each insertion first moves a few of the old array's over;
 * a find looks in both. count covers both. Before, from half full, the
 * new array is populated as the table fills (tables.c). */
struct livetab {
    struct live_slot *slots; /* the array insertions go to */
    size_t cap;
    size_t count;            /* entries in slots and old */
    size_t tombs;            /* tombstones in slots (old's are not counted) */
    struct live_slot *old;   /* NULL, or the array being moved over */
    size_t old_cap;
    size_t old_start;        /* where the walk of old started (an empty slot) */
    size_t old_done;         /* slots of old walked so far, from old_start */
    struct live_slot *next;  /* NULL, or the next growth's array (2 * cap), mapped early */
    size_t next_ready;       /* bytes of next populated so far */
    bool next_filled;        /* the filler thread populates next too (tables.c) */
};

void livetab_init(struct livetab *t);
void livetab_free(struct livetab *t);
struct live_slot *livetab_find(const struct livetab *t, uint64_t addr, uint64_t alloc_ts);
/* Inserts a copy of *e (its addr neither 0 nor LIVETAB_TOMB); the stored
 * slot, or NULL on no memory. Moves other slots (a growth, or a purge of
 * tombstones): pointers from earlier calls are stale after. */
struct live_slot *livetab_insert(struct livetab *t, const struct live_slot *e);
/* Removes the slot (a pointer from find/insert); moves no other slot. */
void livetab_remove(struct livetab *t, struct live_slot *e);
/* Asks the CPU to load the home slot of addr's blocks ahead of a find or
 * insert: the table is far larger than the caches, and a miss a record
 * was most of its cost. A hint; any addr is safe. */
void livetab_prefetch(const struct livetab *t, uint64_t addr);

#endif
