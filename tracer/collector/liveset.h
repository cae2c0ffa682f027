/* liveset.h - the allocations of one process image that are live, as the
 * collector knows them, and the frees that came before their allocation
 * (the two records were in different threads' rings). Every allocation
 * record inserts an entry and every free record takes one out, so this is
 * the collector's hottest structure: an entry is packed into one 32-byte
 * slot of a livetab (tables.h) when its sizes allow - a request under
 * 4 GiB whose usable size is its class's payload, which is nearly every
 * malloc - and otherwise (the large class, an aligned block, a pending
 * free) takes a second slot for what does not fit, keyed by the odd
 * address one past its own, which no block can have, so it lands in the
 * neighbouring slots. Entries go in and come out whole, as live_entry. */
#ifndef ORTHO_COLLECTOR_LIVESET_H
#define ORTHO_COLLECTOR_LIVESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "tables.h"

/* One allocation, or one pending free, whole. */
struct live_entry {
    uint64_t addr;      /* even, not 0: others are refused (liveset_put) */
    uint64_t alloc_ts;
    uint64_t requested;
    uint64_t usable;
    uint32_t stack_id;  /* canonical */
    uint32_t thread_id; /* allocating thread (or, pending, the freeing one) */
    uint64_t free_ts;   /* pending_free: when it was freed */
    uint8_t class_id;
    uint8_t pending_free;
    uint32_t free_thread; /* pending_free: index of the freeing thread's record */
};

struct liveset {
    struct livetab tab;
    size_t pending;                          /* of its entries, the pending frees */
    unsigned classes;                        /* payload[0..classes) are the size classes */
    uint64_t payload[CLASS_TABLE_MAX];       /* each class's payload bytes */
};

void liveset_init(struct liveset *s);
void liveset_free(struct liveset *s);

/* The size classes whose payload an entry's usable size is checked
 * against; before the first liveset_put. Class ids from `count` on (the
 * large class) always keep their sizes in full. */
void liveset_set_classes(struct liveset *s, const uint64_t *payload, unsigned count);

/* Whether an entry may have address addr: not 0 and even (no block has
 * another; an odd address is the key of a wide entry's second slot). */
static inline bool liveset_address_ok(uint64_t addr)
{
    return addr != 0 && (addr & 1) == 0;
}

/* Adds a copy of *e. false: no memory, or an address liveset_address_ok
 * refuses (the record is garbage); nothing was added. */
bool liveset_put(struct liveset *s, const struct live_entry *e);

/* Takes out the entry (addr, alloc_ts) that is a pending free if
 * `pending`, a live allocation if not, into *out. false: none. */
bool liveset_take(struct liveset *s, uint64_t addr, uint64_t alloc_ts, bool pending,
                  struct live_entry *out);

/* Calls fn for every live allocation (not the pending frees), in no
 * particular order; fn must not change the set. */
void liveset_each(const struct liveset *s, void (*fn)(const struct live_entry *e, void *arg),
                  void *arg);

/* Takes out every pending free; how many there were. With none (nearly
 * always), returns at once: the walk reads the whole table. */
size_t liveset_drop_pending(struct liveset *s);

/* How many pending frees it holds. */
static inline size_t liveset_pending(const struct liveset *s)
{
    return s->pending;
}

/* livetab_prefetch for the entries of addr: the collector calls it a
 * few records ahead of the one it ingests. */
static inline void liveset_prefetch(const struct liveset *s, uint64_t addr)
{
    livetab_prefetch(&s->tab, addr);
}

/* Slots in use: entries, plus one per entry that did not fit one. */
size_t liveset_slots(const struct liveset *s);

#endif
