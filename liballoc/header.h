/* header.h - the 64-byte, 64-aligned header in front of every block: layout,
 * stamping on allocation, and validation on free. It holds orthotope's
 * AllocationHeader fields (magic, kind, class index, requested and usable
 * size) with sizes widened to 64 bits so nothing truncates above 4 GiB, and
 * spends the spare bytes on what a checked allocator needs: a checksum over
 * the header and its own address, a live/freed state for double-free
 * detection, the offset back to the block start (over-aligned blocks place
 * the header further in), and the words a tracer keeps per block
 * (trace_port.h: stack id, timestamp, thread).
 *
 * Field order differs from orthotope on purpose: the checked tag (magic,
 * kind, class, state, flags) is the last 8 bytes, right before the user
 * pointer, and the checksummed sizes come just before it, so even a one-byte
 * underflow lands on something the next free verifies. The unchecked fields
 * (free-list link, tracer words or pool batch links) are at the far end.
 *
 * While a block sits free its header keeps state FREED and `next_free` links
 * it into a free list, and its first payload word holds a canary keyed per
 * process, by address and by that link. A block taken from a free list is
 * handed out - and its link followed - only if both are as its free left
 * them (header_is_free_intact), so a write after free - into the header, the
 * link, the first payload word, or all of it - is caught when the block
 * would be reused, before anyone depends on it.
 * Everything here is inline: it is the fast path. */
#ifndef ORTHO_HEADER_H
#define ORTHO_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "orthotope.h"
#include "size_class.h"
#include "trace_port.h"

#define HEADER_MAGIC 0x4f525448u /* "ORTH", as orthotope */
#define HEADER_KIND_SMALL 1u
#define HEADER_KIND_LARGE 2u
#define HEADER_KIND_GUARDED 3u /* a sampled block in the guard pool (guard.h) */
#define HEADER_CLASS_LARGE 0xffu /* class_index of large blocks */
#define HEADER_STATE_LIVE 0xa1u
#define HEADER_STATE_FREED 0xf4u
/* Entries of header_templates: the class field masked to 7 bits indexes it,
 * so no range check is needed; entries past the last class have tag 0,
 * which no header's tag equals (the magic is never 0). */
#define HEADER_TEMPLATE_SLOTS 128u
_Static_assert(SIZE_CLASS_SLOTS <= HEADER_TEMPLATE_SLOTS, "classes must fit the template index");
_Static_assert((HEADER_CLASS_LARGE & (HEADER_TEMPLATE_SLOTS - 1)) >= SIZE_CLASS_SLOTS,
               "the large class must mask to an empty template");

typedef struct header {
    struct header *next_free; /* free-list link while FREED (block-start header) */
    union {
        trace_port_tag_t trace; /* while LIVE: the tracer's words (trace_port.h) */
        struct {
            struct header *next_batch; /* the next batch in a central pool */
            uint64_t blocks;           /* blocks in this batch */
        } batch;                /* while FREED, first block of a pool batch (pool.h) */
    };
    uint32_t spare;           /* reserved, 0; not checksummed */
    uint32_t checksum;        /* header_checksum() of the fields and address */
    uint64_t offset_bytes;    /* header address minus block start, bytes */
    uint64_t requested_bytes; /* size the caller asked for */
    uint64_t usable_bytes;    /* bytes from user pointer to block end */
    uint32_t magic;           /* HEADER_MAGIC */
    uint8_t kind;             /* HEADER_KIND_SMALL or HEADER_KIND_LARGE */
    uint8_t class_index;      /* size class, HEADER_CLASS_LARGE for large */
    uint8_t state;            /* HEADER_STATE_LIVE or HEADER_STATE_FREED */
    uint8_t flags;            /* reserved, 0; checksummed */
} header_t;

_Static_assert(sizeof(header_t) == ORTHO_HEADER_SIZE, "header must be 64 bytes");
_Static_assert(offsetof(header_t, magic) == ORTHO_HEADER_SIZE - 8, "tag must end the header");

/* The tag (magic, kind, class, state, flags) as one little-endian word, so a
 * stamp is one store and a check one compare. */
#define HEADER_STATE_SHIFT 48
#define HEADER_STATE_MASK ((uint64_t)0xff << HEADER_STATE_SHIFT)
#define HEADER_CLASS_SHIFT 40
#define HEADER_CLASS_MASK ((uint64_t)0xff << HEADER_CLASS_SHIFT)

ORTHO_INLINE uint64_t header_make_tag(unsigned kind, unsigned cls, unsigned state)
{
    return (uint64_t)HEADER_MAGIC | ((uint64_t)kind << 32) | ((uint64_t)cls << HEADER_CLASS_SHIFT) |
           ((uint64_t)state << HEADER_STATE_SHIFT);
}

ORTHO_INLINE uint64_t header_tag(const header_t *h)
{
    uint64_t tag;
    __builtin_memcpy(&tag, &h->magic, sizeof tag);
    return tag;
}

ORTHO_INLINE void header_set_tag(header_t *h, uint64_t tag)
{
    __builtin_memcpy(&h->magic, &tag, sizeof tag);
}

ORTHO_INLINE uint64_t header_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* The checksum mixes the tag (all but the state), the sizes and offset, and
 * the header's own address, with one multiply: a header copied elsewhere, or
 * with any of these bytes changed, fails. The top half of the product
 * depends on every input bit. The state enters as a separate xor term so
 * that marking a block freed is one xor with a constant, not a second hash.
 * `partial` is everything but the address and the requested size, which
 * lets the fast paths use a per-class precomputed value. */
ORTHO_INLINE uint64_t header_checksum_partial(uint64_t tag, uint64_t usable, uint64_t offset)
{
    return (tag & ~HEADER_STATE_MASK) ^ header_rotl(usable + offset, 47);
}

ORTHO_INLINE uint32_t header_state_term(unsigned state)
{
    return (uint32_t)state * 0x01010101u;
}

ORTHO_INLINE uint32_t header_checksum_finish(uint64_t partial, const header_t *h, uint64_t requested,
                                             unsigned state)
{
    uint64_t x = partial ^ (uint64_t)(uintptr_t)h ^ header_rotl(requested, 23);
    return (uint32_t)((x * 0xff51afd7ed558ccdull) >> 32) ^ header_state_term(state);
}

ORTHO_INLINE uint32_t header_checksum(const header_t *h)
{
    uint64_t tag = header_tag(h);
    return header_checksum_finish(header_checksum_partial(tag, h->usable_bytes, h->offset_bytes), h,
                                  h->requested_bytes, h->state);
}

/* What a live small block of each class looks like at offset 0: its tag,
 * its usable size and the checksum part that follows from them. */
struct header_template {
    uint64_t tag;          /* live small tag of the class */
    uint64_t freed_tag;    /* the same with state FREED */
    uint64_t usable_bytes; /* class payload */
    uint64_t partial;      /* header_checksum_partial of tag and usable, offset 0 */
};
extern ORTHO_HIDDEN struct header_template header_templates[HEADER_TEMPLATE_SLOTS];
/* Fills header_templates for the classes in force (size_class_setup), and
 * picks the process's canary key the first time. */
void header_templates_build(void);

/* The per-process key of free-block canaries: random (the kernel's
 * AT_RANDOM bytes), so a program cannot forge a canary by accident, and a
 * canary copied from another block or process does not match. */
extern ORTHO_HIDDEN uint64_t header_canary_key;

/* The canary of a free block whose block-start header is h and whose link
 * is next: the key mixed with h's address (a canary moved to another block
 * fails) and the link (a link changed without its canary fails). */
ORTHO_INLINE uint64_t header_canary(const header_t *h, const header_t *next)
{
    return header_canary_key ^ (uint64_t)(uintptr_t)h ^ (uint64_t)(uintptr_t)next;
}

/* The first payload word of the block whose header is h. */
ORTHO_INLINE uint64_t *header_first_word(header_t *h)
{
    return (uint64_t *)((char *)h + ORTHO_HEADER_SIZE);
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

/* Marks a block-start header live for a request of `requested` bytes in
 * class `cls`: the fast-path stamp, from the class template. */
ORTHO_INLINE void header_stamp_small_fast(header_t *h, unsigned cls, size_t requested)
{
    const struct header_template *t = &header_templates[cls];
    h->offset_bytes = 0;
    h->requested_bytes = requested;
    h->usable_bytes = t->usable_bytes;
    h->checksum = header_checksum_finish(t->partial, h, requested, HEADER_STATE_LIVE);
    header_set_tag(h, t->tag);
}

/* Marks a small block live with the header `offset` bytes into its block
 * (over-aligned allocations). */
ORTHO_INLINE void header_stamp_small(header_t *h, unsigned cls, size_t requested, size_t offset)
{
    h->offset_bytes = offset;
    h->requested_bytes = requested;
    h->usable_bytes = size_class_payload(cls) - offset;
    header_set_tag(h, header_make_tag(HEADER_KIND_SMALL, cls, HEADER_STATE_LIVE));
    h->checksum = header_checksum(h);
}

/* A live header of a block outside the arena (`kind`: the large path or
 * the guard pool), class HEADER_CLASS_LARGE. */
ORTHO_INLINE void header_stamp_outside(header_t *h, unsigned kind, size_t requested, size_t usable,
                                       size_t offset)
{
    h->offset_bytes = offset;
    h->requested_bytes = requested;
    h->usable_bytes = usable;
    header_set_tag(h, header_make_tag(kind, HEADER_CLASS_LARGE, HEADER_STATE_LIVE));
    h->checksum = header_checksum(h);
}

/* A live header of the large path (class HEADER_CLASS_LARGE). */
ORTHO_INLINE void header_stamp_large(header_t *h, size_t requested, size_t usable, size_t offset)
{
    header_stamp_outside(h, HEADER_KIND_LARGE, requested, usable, offset);
}

/* Flips a validated live header to FREED (keeping the checksum valid, so a
 * second free is recognised as a double free, not as corruption). */
ORTHO_INLINE void header_mark_freed(header_t *h)
{
    h->state = HEADER_STATE_FREED;
    h->checksum ^= header_state_term(HEADER_STATE_LIVE) ^ header_state_term(HEADER_STATE_FREED);
}

/* header_mark_freed for a block-start small header of a known class: the
 * tag is rewritten as one 8-byte word from the class template, never a byte
 * of it. The check that reuses the block loads the whole word, and a load
 * that overlaps a narrower store still in flight cannot be forwarded from
 * it: it waits for the store to reach the cache (3 ns a malloc/free pair
 * when a block is freed and taken again at once). */
ORTHO_INLINE void header_mark_freed_small(header_t *h, unsigned cls)
{
    header_set_tag(h, header_templates[cls].freed_tag);
    h->checksum ^= header_state_term(HEADER_STATE_LIVE) ^ header_state_term(HEADER_STATE_FREED);
}

/* Links the free block-start header h to next in a free list, with the
 * canary that vouches for both: the one way to write next_free. */
ORTHO_INLINE void header_link(header_t *h, header_t *next)
{
    h->next_free = next;
    *header_first_word(h) = header_canary(h, next);
}

/* Writes a whole FREED block-start header of class `cls` at h (a block
 * just carved, or one whose live header sat further in); header_link gives
 * it its link and canary. */
ORTHO_INLINE void header_stamp_freed(header_t *h, unsigned cls)
{
    const struct header_template *t = &header_templates[cls];
    h->offset_bytes = 0;
    h->requested_bytes = 0;
    h->usable_bytes = t->usable_bytes;
    h->spare = 0;
    h->checksum = header_checksum_finish(t->partial, h, 0, HEADER_STATE_FREED);
    header_set_tag(h, t->freed_tag);
}

/* Whether the free block-start header h, taken from a bin of class `cls`,
 * is as its free left it: its tag (magic, kind, class, state FREED: the 8
 * bytes an underflow of the block reaches first) and its canary, which
 * vouches for the link (the 8 bytes an overflow of the block below reaches
 * first) and is itself the word a dangling pointer writes first. Two
 * compares; the rest of the header is rewritten whole when the block is
 * handed out. The loads touch the header's line, which the stamp writes
 * next anyway, and the first payload line, which the program writes first. */
ORTHO_INLINE bool header_is_free_intact(header_t *h, unsigned cls)
{
    uint64_t mismatch = (header_tag(h) ^ header_templates[cls].freed_tag) |
                        (*header_first_word(h) ^ header_canary(h, h->next_free));
    return mismatch == 0;
}

/* The quick test the fast free path runs inline: a live small block at
 * offset 0 whose tag and checksum are as stamped. One compare of the tag
 * against its class template checks magic, kind, class, state and flags at
 * once (and any underflow from the user pointer reaches the tag first). The
 * checksum, recomputed from the template's usable size at offset 0 and the
 * header's own address and requested size, also catches a changed usable
 * size: it enters as usable + offset, which is why the offset is compared
 * on its own (an over-aligned block's live header sits further in, with the
 * same sum, and must take the slow path). header_validate also checks
 * requested <= usable; that cannot fail here unless someone forged a
 * matching checksum. Stores the class on success. A false answer goes to
 * the slow path, which validates fully. */
ORTHO_INLINE bool header_is_live_small(const header_t *h, unsigned *cls_out)
{
    uint64_t tag = header_tag(h);
    unsigned cls = (unsigned)(tag >> HEADER_CLASS_SHIFT) & (HEADER_TEMPLATE_SLOTS - 1);
    const struct header_template *t = &header_templates[cls];
    if (ORTHO_UNLIKELY(tag != t->tag || h->offset_bytes != 0))
        return false;
    *cls_out = cls;
    return ORTHO_LIKELY(h->checksum ==
                        header_checksum_finish(t->partial, h, h->requested_bytes, HEADER_STATE_LIVE));
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
