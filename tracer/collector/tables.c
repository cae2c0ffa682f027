/* tables.c - see tables.h. The live table of a program with a million
 * blocks live is over a hundred megabytes, written at random: a table of
 * that size is mapped apart from malloc's heap with its pages populated
 * in the one call that maps it. Left to fault in one by one, the first fill
 * after each growth took a page fault per insert (about a microsecond each
 * on a virtual machine), in bursts that kept the collector from the rings
 * for milliseconds (perl: batches of 4096 records ingested in 3-6 ms). */
#define _GNU_SOURCE
#include "tables.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Fibonacci hashing: one multiply, the top bits pick the slot. Keys here
 * are addresses (64-byte aligned), small integers and hashes; the multiply
 * carries every key bit into the top ones, which is all a linear-probing
 * table needs, at a third of the cost of a full mixer. */
static inline size_t tables_home(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(cap)));
}

#define TABLES_MAP_BYTES (2u << 20) /* tables this large are mapped apart, populated */

/* Zeroed memory for n slots of `size` bytes: calloc below
 * TABLES_MAP_BYTES, else an anonymous mapping, its pages populated. */
static void *tables_alloc(size_t n, size_t size)
{
    if (n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
    if (bytes < TABLES_MAP_BYTES)
        return calloc(n, size);
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                     -1, 0);
    return map != MAP_FAILED ? map : NULL;
}

/* Gives back what tables_alloc(n, size) returned. */
static void tables_release(void *p, size_t n, size_t size)
{
    if (p == NULL)
        return;
    if (n * size < TABLES_MAP_BYTES)
        free(p);
    else
        munmap(p, n * size);
}

void u64map_init(struct u64map *m)
{
    memset(m, 0, sizeof *m);
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->values);
    u64map_init(m);
}

static bool u64map_grow(struct u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys), *values = calloc(cap, sizeof *values);
    if (keys == NULL || values == NULL) {
        free(keys);
        free(values);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t j = tables_home(m->keys[i], cap);
        while (keys[j] != 0)
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = cap;
    return true;
}

uint64_t *u64map_find(const struct u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = tables_home(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return &m->values[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

uint64_t *u64map_slot(struct u64map *m, uint64_t key)
{
    uint64_t *found = u64map_find(m, key);
    if (found != NULL)
        return found;
    if ((m->count + 1) * 4 > m->cap * 3 && !u64map_grow(m))
        return NULL;
    size_t i = tables_home(key, m->cap);
    while (m->keys[i] != 0)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->values[i] = 0;
    m->count++;
    return &m->values[i];
}

void u64map_each(const struct u64map *m, void (*fn)(uint64_t key, uint64_t value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != 0)
            fn(m->keys[i], m->values[i], arg);
}

/* ---- livetab ------------------------------------------------------------- */

/* Blocks of one 4 KiB page get neighbouring homes: the page picks a
 * random start, and the block's 64-byte line within the page is added to
 * it. A program allocates and frees mostly near what it touched last (a
 * span carved in order, a free list of neighbours), so the table is walked
 * in runs of nearby slots, not at a random slot a record - which was a
 * cache and TLB miss per record once a million blocks were live. The
 * timestamp, which only tells apart the allocations of one address in
 * turn, stays out of the home: they share a probe run. */
static inline size_t livetab_home(const struct livetab *t, uint64_t addr, uint64_t ts)
{
    (void)ts;
    return (tables_home(addr >> 12, t->cap) + ((addr >> 6) & 63)) & (t->cap - 1);
}

void livetab_init(struct livetab *t)
{
    memset(t, 0, sizeof *t);
}

void livetab_free(struct livetab *t)
{
    tables_release(t->slots, t->cap, sizeof *t->slots);
    livetab_init(t);
}

static bool livetab_grow(struct livetab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    struct live_slot *slots = tables_alloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    struct livetab bigger = {.slots = slots, .cap = cap, .count = t->count};
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].addr == 0)
            continue;
        size_t j = livetab_home(&bigger, t->slots[i].addr, t->slots[i].alloc_ts);
        while (slots[j].addr != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    tables_release(t->slots, t->cap, sizeof *t->slots);
    *t = bigger;
    return true;
}

struct live_slot *livetab_find(const struct livetab *t, uint64_t addr, uint64_t alloc_ts)
{
    if (t->cap == 0)
        return NULL;
    for (size_t i = livetab_home(t, addr, alloc_ts);; i = (i + 1) & (t->cap - 1)) {
        struct live_slot *e = &t->slots[i];
        if (e->addr == 0)
            return NULL;
        if (e->addr == addr && e->alloc_ts == alloc_ts)
            return e;
    }
}

struct live_slot *livetab_insert(struct livetab *t, const struct live_slot *e)
{
    if ((t->count + 1) * 4 > t->cap * 3 && !livetab_grow(t))
        return NULL;
    size_t i = livetab_home(t, e->addr, e->alloc_ts);
    while (t->slots[i].addr != 0)
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = *e;
    t->count++;
    return &t->slots[i];
}

void livetab_remove(struct livetab *t, struct live_slot *e)
{
    size_t mask = t->cap - 1;
    size_t hole = (size_t)(e - t->slots);
    t->slots[hole].addr = 0;
    t->count--;
    /* Backward shift: pull later members of the probe run into the hole
     * when the hole lies between their home and where they sit. */
    for (size_t i = (hole + 1) & mask; t->slots[i].addr != 0; i = (i + 1) & mask) {
        size_t home = livetab_home(t, t->slots[i].addr, t->slots[i].alloc_ts);
        bool movable = ((i - home) & mask) >= ((i - hole) & mask);
        if (movable) {
            t->slots[hole] = t->slots[i];
            t->slots[i].addr = 0;
            hole = i;
        }
    }
}
