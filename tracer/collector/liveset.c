/* liveset.c - see liveset.h. A slot's two words hold, for an entry:
 *   word[0]: requested (low 32 bits), stack id (high 32)
 *   word[1]: thread id (low 32), class id (bits 32-39), LIVESET_* flags (40-47)
 * and for the second slot of an entry that did not fit one (LIVESET_WIDE):
 *   a live allocation: requested, usable, each in full;
 *   a pending free:    the free's timestamp, the freeing thread's index.
 * They live in the collector, a normal process: plain malloc is fine. */
#include "liveset.h"

#include <stdlib.h>
#include <string.h>

#define LIVESET_PENDING 1u /* a free whose allocation has not come yet */
#define LIVESET_WIDE 2u    /* its second slot is at (addr + 1, alloc_ts) */

void liveset_init(struct liveset *s)
{
    memset(s, 0, sizeof *s);
    livetab_init(&s->tab);
}

void liveset_free(struct liveset *s)
{
    livetab_free(&s->tab);
    liveset_init(s);
}

void liveset_set_classes(struct liveset *s, const uint64_t *payload, unsigned count)
{
    if (count > CLASS_TABLE_MAX)
        count = CLASS_TABLE_MAX;
    memcpy(s->payload, payload, count * sizeof *payload);
    s->classes = count;
}

/* Whether e fits one slot: its usable size follows from its class. */
static bool liveset_fits(const struct liveset *s, const struct live_entry *e)
{
    return !e->pending_free && e->requested <= UINT32_MAX && e->class_id < s->classes &&
           e->usable == s->payload[e->class_id];
}

/* A head slot's LIVESET_* flags. */
static unsigned liveset_flags(const struct live_slot *head)
{
    return (unsigned)(head->word[1] >> 40) & 0xffu;
}

bool liveset_put(struct liveset *s, const struct live_entry *e)
{
    if (!liveset_address_ok(e->addr))
        return false;
    bool wide = !liveset_fits(s, e);
    unsigned flags = (e->pending_free ? LIVESET_PENDING : 0u) | (wide ? LIVESET_WIDE : 0u);
    struct live_slot head = {
        .addr = e->addr, .alloc_ts = e->alloc_ts,
        .word = {(wide ? 0 : e->requested) | (uint64_t)e->stack_id << 32,
                 e->thread_id | (uint64_t)e->class_id << 32 | (uint64_t)flags << 40}};
    if (livetab_insert(&s->tab, &head) == NULL)
        return false;
    if (wide) {
        struct live_slot rest = {.addr = e->addr + 1, .alloc_ts = e->alloc_ts};
        rest.word[0] = e->pending_free ? e->free_ts : e->requested;
        rest.word[1] = e->pending_free ? e->free_thread : e->usable;
        if (livetab_insert(&s->tab, &rest) == NULL) {
            /* A failed insert changes nothing: the head goes again. */
            struct live_slot *again = livetab_find(&s->tab, e->addr, e->alloc_ts);
            if (again != NULL)
                livetab_remove(&s->tab, again);
            return false;
        }
    }
    s->pending += e->pending_free ? 1 : 0;
    return true;
}

/* *out from the head slot's words and, if wide, its second slot's (rest:
 * NULL if missing, which only a bug could make). */
static void liveset_unpack(const struct liveset *s, const struct live_slot *head,
                           const struct live_slot *rest, struct live_entry *out)
{
    unsigned flags = liveset_flags(head);
    memset(out, 0, sizeof *out);
    out->addr = head->addr;
    out->alloc_ts = head->alloc_ts;
    out->stack_id = (uint32_t)(head->word[0] >> 32);
    out->thread_id = (uint32_t)head->word[1];
    out->class_id = (uint8_t)(head->word[1] >> 32);
    out->pending_free = (flags & LIVESET_PENDING) != 0;
    if (!(flags & LIVESET_WIDE)) {
        out->requested = (uint32_t)head->word[0];
        out->usable = out->class_id < s->classes ? s->payload[out->class_id] : 0;
    } else if (rest != NULL && out->pending_free) {
        out->free_ts = rest->word[0];
        out->free_thread = (uint32_t)rest->word[1];
    } else if (rest != NULL) {
        out->requested = rest->word[0];
        out->usable = rest->word[1];
    }
}

/* The table's array a (0: the current one, 1: the one a growth is
 * moving over, empty if none) and its capacity: a walk of every slot
 * visits both (tables.h). */
static const struct live_slot *liveset_array(const struct liveset *s, int a, size_t *cap)
{
    *cap = a == 0 ? s->tab.cap : (s->tab.old != NULL ? s->tab.old_cap : 0);
    return a == 0 ? s->tab.slots : s->tab.old;
}

static bool liveset_is_head(const struct live_slot *slot)
{
    return liveset_address_ok(slot->addr);
}

bool liveset_take(struct liveset *s, uint64_t addr, uint64_t alloc_ts, bool pending,
                  struct live_entry *out)
{
    if (addr & 1)
        return false;
    struct live_slot *head = livetab_find(&s->tab, addr, alloc_ts);
    if (head == NULL)
        return false;
    unsigned flags = liveset_flags(head);
    if (((flags & LIVESET_PENDING) != 0) != pending)
        return false;
    struct live_slot copy = *head;
    /* Each slot is looked up just before it goes, so that nothing here
     * depends on what a removal does to the other slots. */
    livetab_remove(&s->tab, head);
    struct live_slot *rest = NULL, rest_copy;
    if (flags & LIVESET_WIDE) {
        rest = livetab_find(&s->tab, addr + 1, alloc_ts);
        if (rest != NULL) {
            rest_copy = *rest;
            livetab_remove(&s->tab, rest);
            rest = &rest_copy;
        }
    }
    liveset_unpack(s, &copy, rest, out);
    s->pending -= pending ? 1 : 0;
    return true;
}

void liveset_each(const struct liveset *s, void (*fn)(const struct live_entry *e, void *arg),
                  void *arg)
{
    for (int a = 0; a < 2; a++) {
        size_t cap;
        const struct live_slot *slots = liveset_array(s, a, &cap);
        for (size_t i = 0; i < cap; i++) {
            const struct live_slot *head = &slots[i];
            if (!liveset_is_head(head))
                continue;
            unsigned flags = liveset_flags(head);
            if (flags & LIVESET_PENDING)
                continue;
            const struct live_slot *rest =
                (flags & LIVESET_WIDE) ? livetab_find(&s->tab, head->addr + 1, head->alloc_ts)
                                       : NULL;
            struct live_entry e;
            liveset_unpack(s, head, rest, &e);
            fn(&e, arg);
        }
    }
}

size_t liveset_drop_pending(struct liveset *s)
{
    if (s->pending == 0)
        return 0;
    /* Keys first, removals after: the walk never depends on what a
     * removal does to the slots. */
    size_t count = 0, cap = 0;
    struct {
        uint64_t addr, alloc_ts;
    } *keys = NULL;
    bool full = false;
    for (int a = 0; a < 2 && !full; a++) {
        size_t slots_cap;
        const struct live_slot *slots = liveset_array(s, a, &slots_cap);
        for (size_t i = 0; i < slots_cap; i++) {
            const struct live_slot *head = &slots[i];
            if (!liveset_is_head(head) || !(liveset_flags(head) & LIVESET_PENDING))
                continue;
            if (count == cap) {
                size_t grown = cap ? cap * 2 : 64;
                void *more = realloc(keys, grown * sizeof *keys);
                if (more == NULL) {
                    full = true; /* no memory: the rest stay pending */
                    break;
                }
                keys = more;
                cap = grown;
            }
            keys[count].addr = head->addr;
            keys[count].alloc_ts = head->alloc_ts;
            count++;
        }
    }
    size_t dropped = 0;
    struct live_entry gone;
    for (size_t k = 0; k < count; k++)
        dropped += liveset_take(s, keys[k].addr, keys[k].alloc_ts, true, &gone);
    free(keys);
    return dropped;
}

size_t liveset_slots(const struct liveset *s)
{
    return s->tab.count;
}
