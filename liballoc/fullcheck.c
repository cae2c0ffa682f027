/* fullcheck.c - the patterns and the quarantine of ORTHO_CHECK=full (fullcheck.h).
 * The pattern scans compare a word at a time and look at bytes only to
 * name the first one that differs. The quarantine lock is held only to add
 * and take pointers; checking and releasing what leaves happen outside it. */
#include "fullcheck.h"

#include <string.h>

#include "prim.h"
#include "size_class.h"

#define FULLCHECK_WORD(byte) ((uint64_t)(byte) * 0x0101010101010101ull)

void fullcheck_fill_new(void *user, size_t usable)
{
    memset(user, FULLCHECK_NEW_BYTE, usable);
}

/* Offset from base of the first byte in [from, to) that is not `byte`, or
 * -1. */
static int64_t fullcheck_find_other(const unsigned char *base, size_t from, size_t to, unsigned byte)
{
    size_t at = from;
    uint64_t word = FULLCHECK_WORD(byte);
    while (at < to && at % sizeof word != 0) {
        if (base[at] != byte)
            return (int64_t)at;
        at++;
    }
    while (at + sizeof word <= to) {
        uint64_t got;
        memcpy(&got, base + at, sizeof got);
        if (got != word)
            break;
        at += sizeof word;
    }
    for (; at < to; at++) {
        if (base[at] != byte)
            return (int64_t)at;
    }
    return -1;
}

int64_t fullcheck_find_overflow(const void *user, size_t requested, size_t usable)
{
    return fullcheck_find_other(user, requested, usable, FULLCHECK_NEW_BYTE);
}

void fullcheck_fill_freed(header_t *block, size_t payload_bytes)
{
    unsigned char *user = header_user(block);
    memset(user + sizeof(uint64_t), FULLCHECK_FREE_BYTE, payload_bytes - sizeof(uint64_t));
}

int64_t fullcheck_find_written(header_t *block, size_t payload_bytes)
{
    return fullcheck_find_other(header_user(block), sizeof(uint64_t), payload_bytes,
                                FULLCHECK_FREE_BYTE);
}

size_t fullcheck_quarantine_push(struct fullcheck_quarantine *q, header_t *block, unsigned cls,
                                 struct fullcheck_held *out, size_t cap)
{
    struct fullcheck_held held = {.block = block, .class_index = cls};
    size_t n = 0;
    lock_acquire(&q->lock);
    if (q->ring == NULL && q->budget_bytes != 0) {
        size_t slots = (size_t)(q->budget_bytes / ORTHO_MIN_ALIGN) + 1;
        q->ring = prim_map(slots * sizeof *q->ring); /* pages are touched as used */
        q->capacity = q->ring != NULL ? slots : 0;
    }
    if (q->count == q->capacity) {
        lock_release(&q->lock);
        out[0] = held; /* nowhere to wait: reused as soon as checked */
        return 1;
    }
    q->ring[(q->first + q->count) % q->capacity] = held;
    q->count++;
    q->bytes += size_class_payload(cls);
    while (n < cap && q->count > 0 && q->bytes > q->budget_bytes) {
        struct fullcheck_held oldest = q->ring[q->first];
        q->first = (q->first + 1) % q->capacity;
        q->count--;
        q->bytes -= size_class_payload(oldest.class_index);
        out[n++] = oldest;
    }
    lock_release(&q->lock);
    return n;
}

void fullcheck_quarantine_fork_prepare(struct fullcheck_quarantine *q) { lock_acquire(&q->lock); }
void fullcheck_quarantine_fork_parent(struct fullcheck_quarantine *q) { lock_release(&q->lock); }
void fullcheck_quarantine_fork_child(struct fullcheck_quarantine *q) { lock_reset(&q->lock); }
