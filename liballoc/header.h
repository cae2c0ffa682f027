/* header.h - the 64-byte, 64-aligned header in front of every block: layout,
 * stamping on allocation, and validation on free. Layout follows orthotope's
 * AllocationHeader (magic, kind, class index, requested and usable size) with
 * sizes widened to 64 bits so nothing truncates above 4 GiB, and the spare
 * bytes spent on what a checked allocator needs: a checksum over the header
 * and its own address, a live/freed state for double-free detection, the
 * offset back to the block start (aligned allocations place the header
 * further in), and fields the tracer fills (stack id, timestamp, thread).
 * While a block sits free, its header keeps state FREED and `next_free` links
 * it into a free list, so use-after-free writes into the payload cannot
 * corrupt our lists. Everything here is inline: it is the fast path. */
#ifndef ORTHO_HEADER_H
#define ORTHO_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "orthotope.h"
#include "size_class.h"

#define HEADER_MAGIC 0x4f525448u /* "ORTH", as orthotope */
#define HEADER_KIND_SMALL 1u
#define HEADER_KIND_LARGE 2u
#define HEADER_CLASS_LARGE 0xffu /* class_index of large blocks */
#define HEADER_STATE_LIVE 0xa1u
#define HEADER_STATE_FREED 0xf4u

typedef struct header {
    uint32_t magic;           /* HEADER_MAGIC */
    uint8_t kind;             /* HEADER_KIND_SMALL or HEADER_KIND_LARGE */
    uint8_t class_index;      /* 0..11, HEADER_CLASS_LARGE for large */
    uint8_t state;            /* HEADER_STATE_LIVE or HEADER_STATE_FREED */
    uint8_t flags;            /* reserved for the tracer (sampled, ...) */
    uint32_t checksum;        /* header_checksum() of the fields and address */
    uint32_t thread_id;       /* allocating thread (tracer; 0 when untraced) */
    uint64_t offset_bytes;    /* header address minus block start, bytes */
    uint64_t requested_bytes; /* size the caller asked for */
    uint64_t usable_bytes;    /* bytes from user pointer to block end */
    uint64_t stack_id;        /* tracer: allocation stack id, 0 if none */
    uint64_t alloc_ts_ns;     /* tracer: allocation time, 0 if untraced */
    struct header *next_free; /* free-list link while FREED (block-start header) */
} header_t;

_Static_assert(sizeof(header_t) == ORTHO_HEADER_SIZE, "header must be 64 bytes");

/* Mixes the identifying fields with the header's own address: a header
 * copied elsewhere, or with any of these fields changed, fails. One multiply:
 * it runs on every alloc and free. The top half of the product depends on
 * every input bit. The state enters as a separate xor term so that marking a
 * block freed is one xor with a constant, not a second hash. */
ORTHO_INLINE uint32_t header_checksum_fields(const header_t *h)
{
    uint64_t word0 = (uint64_t)h->magic | ((uint64_t)h->kind << 32) |
                     ((uint64_t)h->class_index << 40);
    uint64_t x = word0 ^ (uint64_t)(uintptr_t)h;
    x ^= (h->requested_bytes << 23) | (h->requested_bytes >> 41);
    x ^= ((h->usable_bytes + h->offset_bytes) << 47) | ((h->usable_bytes + h->offset_bytes) >> 17);
    return (uint32_t)((x * 0xff51afd7ed558ccdull) >> 32);
}

/* The state's contribution to the checksum. */
ORTHO_INLINE uint32_t header_state_term(uint8_t state)
{
    return (uint32_t)state * 0x01010101u;
}

ORTHO_INLINE uint32_t header_checksum(const header_t *h)
{
    return header_checksum_fields(h) ^ header_state_term(h->state);
}

ORTHO_INLINE header_t *header_of_user(const void *user)
{
    return (header_t *)((uintptr_t)user - ORTHO_HEADER_SIZE);
}

ORTHO_INLINE void *header_user(header_t *h)
{
    return (char *)h + ORTHO_HEADER_SIZE;
}

/* Start of the block the header belongs to (the header itself unless the
 * allocation was over-aligned). */
ORTHO_INLINE header_t *header_block(header_t *h)
{
    return (header_t *)((uintptr_t)h - h->offset_bytes);
}

/* Marks a small block live for a request of `requested` bytes, with the
 * header `offset` bytes into a block of class `cls`. */
/* The first 8 bytes (magic, kind, class, state, flags) as one word, so a
 * stamp is one store and a check one compare (little-endian layout). */
ORTHO_INLINE uint64_t header_word0(unsigned kind, unsigned cls, unsigned state)
{
    return (uint64_t)HEADER_MAGIC | ((uint64_t)kind << 32) | ((uint64_t)cls << 40) |
           ((uint64_t)state << 48);
}

ORTHO_INLINE void header_stamp_small(header_t *h, unsigned cls, size_t requested, size_t offset)
{
    uint64_t word0 = header_word0(HEADER_KIND_SMALL, cls, HEADER_STATE_LIVE);
    __builtin_memcpy(h, &word0, sizeof word0);
    h->offset_bytes = offset;
    h->requested_bytes = requested;
    h->usable_bytes = size_class_payload(cls) - offset;
    h->checksum = header_checksum(h);
}

ORTHO_INLINE void header_stamp_large(header_t *h, size_t requested, size_t usable, size_t offset)
{
    h->magic = HEADER_MAGIC;
    h->kind = HEADER_KIND_LARGE;
    h->class_index = HEADER_CLASS_LARGE;
    h->state = HEADER_STATE_LIVE;
    h->flags = 0;
    h->offset_bytes = offset;
    h->requested_bytes = requested;
    h->usable_bytes = usable;
    h->checksum = header_checksum(h);
}

/* Flips a validated live header to FREED (keeping the checksum valid, so a
 * second free is recognised as a double free, not as corruption). */
ORTHO_INLINE void header_mark_freed(header_t *h)
{
    h->state = HEADER_STATE_FREED;
    h->checksum ^= header_state_term(HEADER_STATE_LIVE) ^ header_state_term(HEADER_STATE_FREED);
}

/* The quick test the fast free path runs inline: magic, checksum and state
 * all as a live small block. A false answer goes to header_diagnose(). */
ORTHO_INLINE bool header_is_live_small(const header_t *h)
{
    return ORTHO_LIKELY(h->magic == HEADER_MAGIC && h->kind == HEADER_KIND_SMALL &&
                        h->state == HEADER_STATE_LIVE && h->class_index < SIZE_CLASS_COUNT &&
                        h->checksum == header_checksum(h));
}

/* What is wrong with a header, for reporting and for the status returned. */
typedef enum {
    HEADER_OK = 0,
    HEADER_BAD_MAGIC,
    HEADER_BAD_CHECKSUM,
    HEADER_BAD_SIZE,
    HEADER_BAD_CLASS,
    HEADER_DOUBLE_FREE,
} header_verdict_t;

/* Full validation of a header believed to be at h (memory known readable).
 * Checks, in order: magic, checksum, state, kind/class, size consistency
 * (requested <= usable, usable matches the class and offset; the offset is a
 * 64-multiple inside the block). For large headers, usable is only checked
 * against requested (the large registry knows the mapping). */
header_verdict_t header_validate(const header_t *h);

/* Short name of a verdict as used in the corruption table ("bad_magic"). */
const char *header_verdict_name(header_verdict_t verdict);

/* The public status a verdict maps to. */
ortho_status_t header_verdict_status(header_verdict_t verdict);

#endif
