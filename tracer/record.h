/* record.h - the trace record: the one fixed-size, 32-byte unit that moves
 * through a ring from a traced thread to the collector process. It owns the
 * byte layout (a contract between two processes, so it carries no pointers
 * that matter to the reader, only values), the list of kinds, which fields
 * each kind uses, and the framing of events that need more than 32 bytes: a
 * head record whose `payload_records` says how many raw continuation records
 * follow it, published all-or-nothing by the ring. Records carry no thread
 * id of their own: every record in a ring belongs to that ring's producer
 * thread (see ring.h); only FREE names another thread, the allocating one.
 * Everything here is plain inline code on caller memory: no locks, no
 * malloc, no syscalls, safe in signal handlers and inside malloc. */
#ifndef ORTHO_TRACER_RECORD_H
#define ORTHO_TRACER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Kinds, with the number each one has on the wire (never renumber: the
 * collector and stored traces depend on them). X(name, value). */
#define RECORD_KIND_LIST(X)  \
    X(ALLOC, 1)              \
    X(FREE, 2)               \
    X(REALLOC, 3)            \
    X(CORRUPTION, 4)         \
    X(CACHE_REFILL, 5)       \
    X(CACHE_DRAIN, 6)        \
    X(ARENA_CARVE, 7)        \
    X(LARGE_MAP, 8)          \
    X(LARGE_UNMAP, 9)        \
    X(OS_RELEASE, 10)        \
    X(THREAD_START, 11)      \
    X(THREAD_EXIT, 12)       \
    X(MODULE_LOAD, 13)       \
    X(STACK_DEF, 14)         \
    X(DROPPED, 15)           \
    X(PROCESS_INFO, 16)      \
    X(SKIP, 17)

typedef enum {
    RECORD_KIND_NONE = 0, /* never sent; a zeroed slot reads as this */
#define RECORD_KIND_ENUM(name, value) RECORD_##name = value,
    RECORD_KIND_LIST(RECORD_KIND_ENUM)
#undef RECORD_KIND_ENUM
} record_kind_t;

/* Which fields each kind uses (unused fields are zero):
 *
 *   kind          class  stack_id      addr           word at 16           payload
 *   ALLOC         yes    alloc site    user pointer   size_bytes requested  LARGE: 1 record_alloc_large_t
 *   FREE          yes    alloc site(1) user pointer   alloc_ts_ns           -
 *   REALLOC       new    call site     new pointer    size_bytes requested  1: record_realloc_from_t
 *   CORRUPTION    hdr(2) detecting     user pointer   payload_bytes (4)     record_corruption_t + names
 *   CACHE_REFILL  yes    -             source (3)     count (blocks)        -
 *   CACHE_DRAIN   yes    -             -              count (blocks)        -
 *   ARENA_CARVE   yes    -             span start     count (blocks)        -
 *   LARGE_MAP     -      -             mapping start  size_bytes mapped     -
 *   LARGE_UNMAP   -      -             mapping start  size_bytes unmapped   -
 *   OS_RELEASE    -      -             range start    size_bytes released   -
 *   THREAD_START  -      -             -              -                     1: thread name (16 bytes)
 *   THREAD_EXIT   -      -             -              -                     1: thread name (16 bytes)
 *   MODULE_LOAD   -      -             load bias      payload_bytes         path bytes, no NUL
 *   STACK_DEF     -      id defined    -              payload_bytes         uint64_t PCs, innermost first
 *   DROPPED       -      -             -              count (records lost)  -
 *   PROCESS_INFO  -      -             -              count (= an info key) -
 *   SKIP          -      -             -              -                     -  (5)
 *
 * ts_ns (CLOCK_MONOTONIC) is set for every kind; per ring it never goes
 * backwards, and an ALLOC's ts_ns is also stamped into the block header, so
 * (addr, alloc ts) names one allocation exactly: that is how the collector
 * pairs a FREE with its ALLOC even when the two sit in different threads'
 * rings and are drained in either order. (1) For FREE, stack_id is the
 * allocation's stack id as kept in the block header (stack ids are
 * process-wide). (2) For CORRUPTION, class_index is the class byte as read
 * from the (possibly smashed) header. (3) CACHE_REFILL addr is 0 when the
 * blocks came from the central pool, 1 when freshly carved from the arena,
 * 2 for the snapshot of what caches (REFILL) and pools (DRAIN) held when
 * this image started tracing; ARENA_CARVE addr 2 is the snapshot of the
 * blocks carved before then (no span of its own). (4) For CORRUPTION the
 * allocating thread and stack as the header told them sit in the payload
 * (record_corruption_t), followed by the kind's and the call's names.
 * (5) SKIP is the ring's own (ring.h, Windows): the rest of the lap holds
 * nothing; the consumer's pop takes it and never hands it on.
 * "-" in the class column means RECORD_CLASS_NONE. A DROPPED record is
 * written by the ring itself in front of the next record that fits after a
 * loss (see ring.h). The class of large blocks is RECORD_CLASS_LARGE. */

#define RECORD_BYTES 32            /* size of every record and continuation */
#define RECORD_CLASS_NONE 0xffu    /* class_index of kinds without a class */
#define RECORD_STACK_NONE 0u       /* stack_id when no stack was captured */
#define RECORD_PAYLOAD_RECORDS_MAX 255u /* largest payload_records (a uint8_t) */
#define RECORD_PAYLOAD_BYTES_MAX (RECORD_PAYLOAD_RECORDS_MAX * RECORD_BYTES) /* 8160 */
/* Raw header bytes in a CORRUPTION payload: ORTHO_HEADER_SIZE (liballoc). */
#define RECORD_CORRUPTION_HEADER_BYTES 64u
/* class_index of blocks on the large path. Size classes are 0 up to the
 * image's class count (segment.h: its class table), at most
 * ORTHO_CLASS_MAX, so this never names one. */
#define RECORD_CLASS_LARGE 0xfeu

/* flags bits. */
#define RECORD_FLAG_SAMPLED 0x01u        /* ALLOC/REALLOC: stack captured by the sampler */
#define RECORD_FLAG_IN_PLACE 0x08u       /* REALLOC: the block did not move */
#define RECORD_FLAG_TRUNCATED 0x10u      /* STACK_DEF: deeper than the depth limit */
#define RECORD_FLAG_HEADER 0x20u         /* CORRUPTION: the raw header bytes are valid */

/* The entry point an ALLOC or REALLOC came through, in the top three bits
 * of its flags (RECORD_ENTRY_MASK): bits no flag of those two kinds uses
 * (HEADER is CORRUPTION's alone), so the record keeps its 32 bytes and the
 * hooks only OR a constant in. 0 means "not stated": a collector reads an
 * older library's ALLOC as of an unknown entry, and an older collector
 * ignores the bits, so the segment version did not change. An ALLOC of
 * entry REALLOC is a realloc that moved the block (the FREE of the old one
 * follows as a plain FREE); a REALLOC record is always one that did not.
 * X(name, value); never renumber. */
#define RECORD_ENTRY_LIST(X) \
    X(NONE, 0)               \
    X(MALLOC, 1)             \
    X(CALLOC, 2)             \
    X(REALLOC, 3)            \
    X(REALLOC_NULL, 4)       \
    X(ALIGNED, 5)            \
    X(NEW, 6)                \
    X(API, 7)

enum {
#define RECORD_ENTRY_ENUM(name, value) RECORD_ENTRY_##name = value,
    RECORD_ENTRY_LIST(RECORD_ENTRY_ENUM)
#undef RECORD_ENTRY_ENUM
};

#define RECORD_ENTRY_SHIFT 5
#define RECORD_ENTRY_MASK 0xe0u
#define RECORD_ENTRY_COUNT 8u /* values the field can hold */
_Static_assert(((RECORD_FLAG_SAMPLED | RECORD_FLAG_IN_PLACE) & RECORD_ENTRY_MASK) == 0,
               "the entry field shares no bit with the flags of ALLOC and REALLOC");
_Static_assert(RECORD_ENTRY_API < RECORD_ENTRY_COUNT &&
                   (RECORD_ENTRY_COUNT - 1) << RECORD_ENTRY_SHIFT == RECORD_ENTRY_MASK,
               "every entry fits the field");

/* The entry field of an ALLOC's or REALLOC's flags. */
static inline unsigned record_entry(unsigned flags)
{
    return (flags & RECORD_ENTRY_MASK) >> RECORD_ENTRY_SHIFT;
}

typedef struct record {
    uint8_t kind;            /* record_kind_t */
    uint8_t class_index;     /* size class, RECORD_CLASS_NONE if none */
    uint8_t flags;           /* RECORD_FLAG_* */
    uint8_t payload_records; /* continuation records that follow; 0 unless framed */
    uint32_t stack_id;       /* thread-local stack id, RECORD_STACK_NONE if none */
    uint64_t addr;           /* address (user pointer or region start), 0 if unused */
    union {
        uint64_t size_bytes;    /* bytes requested or covered, see the table */
        uint64_t count;         /* blocks (CACHE_*) or records (DROPPED) */
        uint64_t payload_bytes; /* framed kinds with variable payload: exact bytes */
        uint64_t alloc_ts_ns;   /* FREE: ts_ns of the ALLOC being undone */
    };
    uint64_t ts_ns; /* CLOCK_MONOTONIC when the event happened, ns */
} record_t;

_Static_assert(sizeof(record_t) == RECORD_BYTES, "a trace record must be 32 bytes");
_Static_assert(offsetof(record_t, payload_records) == 3, "framing byte is part of the wire format");
#ifdef ORTHO_HEADER_SIZE
_Static_assert(RECORD_CORRUPTION_HEADER_BYTES == ORTHO_HEADER_SIZE, "corruption payload is one header");
#endif

/* Payload of REALLOC: where the block came from. The collector treats a
 * REALLOC as the FREE of (old_addr, old_alloc_ts_ns) plus the ALLOC of the
 * head's block, so per-class counts stay exact whether it moved or not. */
typedef struct record_realloc_from {
    uint64_t old_addr;         /* previous user pointer */
    uint64_t old_alloc_ts_ns;  /* ts_ns of the old block's ALLOC */
    uint64_t new_usable_bytes; /* usable bytes of the new block */
    uint8_t old_class_index;   /* old class (RECORD_CLASS_LARGE if large) */
    uint8_t reserved[7];       /* zero */
} record_realloc_from_t;
_Static_assert(sizeof(record_realloc_from_t) == RECORD_BYTES, "realloc payload is one record");

/* Payload of a large ALLOC: what the large path handed out. */
typedef struct record_alloc_large {
    uint64_t usable_bytes; /* from the user pointer to the end of the mapping */
    uint64_t reserved[3];  /* zero */
} record_alloc_large_t;
_Static_assert(sizeof(record_alloc_large_t) == RECORD_BYTES, "large alloc payload is one record");

/* Payload of CORRUPTION: this fixed part, then the kind's name
 * ("misaligned_pointer") and the name of the API entry that found it
 * ("free"), kind_bytes and call_bytes long, one after the other with no
 * NUL: the names go whole (up to RECORD_CORRUPTION_NAME_MAX bytes each),
 * so the database never stores one cut short. header holds the 64 bytes in
 * front of the pointer as they were found (valid only with
 * RECORD_FLAG_HEADER: a foreign pointer's neighbourhood may not be
 * readable). The head's payload_bytes is the fixed part plus both names. */
#define RECORD_CORRUPTION_NAME_MAX 255u
typedef struct record_corruption {
    uint8_t header[RECORD_CORRUPTION_HEADER_BYTES];
    uint32_t alloc_tid;      /* thread in the header (0: unknown) */
    uint32_t alloc_stack_id; /* stack id in the header (0: unknown) */
    uint8_t kind_bytes;      /* 1 .. RECORD_CORRUPTION_NAME_MAX */
    uint8_t call_bytes;      /* 0 .. RECORD_CORRUPTION_NAME_MAX */
    uint8_t reserved[22];    /* zero */
} record_corruption_t;
_Static_assert(sizeof(record_corruption_t) == 3 * RECORD_BYTES, "corruption payload starts with three records");
/* Records a CORRUPTION event spans at most: the head, the fixed part, two names. */
#define RECORD_CORRUPTION_FRAME_MAX \
    (1 + (sizeof(record_corruption_t) + 2 * RECORD_CORRUPTION_NAME_MAX + RECORD_BYTES - 1) / RECORD_BYTES)

/* CACHE_REFILL sources (the addr word); SNAPSHOT also for CACHE_DRAIN:
 * blocks already cached (refill) or pooled (drain) when tracing began. */
#define RECORD_REFILL_FROM_POOL 0u
#define RECORD_REFILL_FROM_ARENA 1u
#define RECORD_REFILL_SNAPSHOT 2u

/* PROCESS_INFO keys (the `count` word): facts a process states once. */
#define RECORD_INFO_EXE_PATH 1u /* payload: /proc/self/exe as text, no NUL */

/* Name of a kind as spelled in the list ("ALLOC", "CACHE_REFILL"), for
 * messages and dumps; "unknown" for values outside it. Never NULL. */
static inline const char *record_kind_name(unsigned kind)
{
    switch (kind) {
#define RECORD_KIND_CASE(name, value) \
    case value: return #name;
        RECORD_KIND_LIST(RECORD_KIND_CASE)
#undef RECORD_KIND_CASE
    default: return "unknown";
    }
}

/* A single record as its four 64-bit words, in the layout of record_t on
 * this (little-endian) machine: word 0 packs kind, class, flags, framing and
 * stack id; then addr, the word at 16, ts_ns. The hot hooks build their
 * ALLOC and FREE this way and hand the words to ring_push_fast_words, so
 * the record goes from registers straight into the ring slot. Built as a
 * record_t on the stack a byte at a time and then copied whole, it was read
 * back wider than it was written, which defeats store-to-load forwarding:
 * that stall was a third of a traced free. */
typedef struct record_words {
    uint64_t w[4];
} record_words_t;
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "record_words_t packs a little-endian record");
_Static_assert(sizeof(record_words_t) == sizeof(record_t), "a record is four words");

static inline record_words_t record_words_make(unsigned kind, unsigned class_index, unsigned flags,
                                               uint32_t stack_id, uint64_t addr, uint64_t word16,
                                               uint64_t ts_ns)
{
    uint64_t head = (uint64_t)(uint8_t)kind | (uint64_t)(uint8_t)class_index << 8 |
                    (uint64_t)(uint8_t)flags << 16 | (uint64_t)stack_id << 32;
    return (record_words_t){{head, addr, word16, ts_ns}};
}

/* An ALLOC (requested: the size the caller asked for) and a FREE (alloc
 * ts and stack from the block header: they name the allocation undone). */
static inline record_words_t record_words_alloc(uint64_t addr, uint64_t requested_bytes,
                                                unsigned class_index, uint32_t stack_id,
                                                unsigned flags, uint64_t ts_ns)
{
    return record_words_make(RECORD_ALLOC, class_index, flags, stack_id, addr, requested_bytes, ts_ns);
}

static inline record_words_t record_words_free(uint64_t addr, unsigned class_index,
                                               uint64_t alloc_ts_ns, uint32_t alloc_stack_id,
                                               uint64_t ts_ns)
{
    return record_words_make(RECORD_FREE, class_index, 0, alloc_stack_id, addr, alloc_ts_ns, ts_ns);
}

static inline record_t record_from_words(record_words_t w)
{
    record_t r;
    memcpy(&r, &w, sizeof r);
    return r;
}

/* An ALLOC record; requested is the size the caller asked for. */
static inline record_t record_make_alloc(uint64_t addr, uint64_t requested_bytes, unsigned class_index,
                                         uint32_t stack_id, unsigned flags, uint64_t ts_ns)
{
    return record_from_words(record_words_alloc(addr, requested_bytes, class_index, stack_id, flags, ts_ns));
}

/* A FREE record. alloc_ts_ns and alloc_stack_id come from the block
 * header: they name the allocation being undone. */
static inline record_t record_make_free(uint64_t addr, unsigned class_index, uint64_t alloc_ts_ns,
                                        uint32_t alloc_stack_id, uint64_t ts_ns)
{
    return record_from_words(record_words_free(addr, class_index, alloc_ts_ns, alloc_stack_id, ts_ns));
}

/* Records a head plus payload_bytes of payload occupy; 0 if the payload is
 * larger than RECORD_PAYLOAD_BYTES_MAX (such an event cannot be framed). */
static inline size_t record_frame_records(size_t payload_bytes)
{
    if (payload_bytes > RECORD_PAYLOAD_BYTES_MAX)
        return 0;
    return 1 + (payload_bytes + RECORD_BYTES - 1) / RECORD_BYTES;
}

/* Lays out a framed event in out[0..]: a copy of *head with payload_records
 * set, then the payload in whole records, the last one zero-padded. The
 * caller sets head->payload_bytes itself for kinds that use it (the framing
 * only needs the record count). Returns the records written, or 0 (nothing
 * written) if the payload is too large or out_cap records are not enough.
 * Push the result with one ring_*_n call so it is published whole. */
static inline size_t record_frame_write(record_t *out, size_t out_cap, const record_t *head,
                                        const void *payload, size_t payload_bytes)
{
    size_t n = record_frame_records(payload_bytes);
    if (n == 0 || n > out_cap)
        return 0;
    out[0] = *head;
    out[0].payload_records = (uint8_t)(n - 1);
    if (n > 1) {
        memset(&out[n - 1], 0, RECORD_BYTES);
        if (payload_bytes > 0)
            memcpy(&out[1], payload, payload_bytes);
    }
    return n;
}

/* Reads the framed event starting at recs[0] (count records available):
 * copies up to payload_cap bytes of its payload (payload_records * 32
 * bytes, padding included; the kind says how many are meaningful) to
 * payload. Returns the records the event spans, so the caller can step to
 * the next one, or 0 if the frame runs past count (a truncated batch). */
static inline size_t record_frame_read(const record_t *recs, size_t count, void *payload, size_t payload_cap)
{
    if (count == 0)
        return 0;
    size_t n = 1 + (size_t)recs[0].payload_records;
    if (n > count)
        return 0;
    size_t bytes = (n - 1) * RECORD_BYTES;
    if (bytes > payload_cap)
        bytes = payload_cap;
    if (bytes > 0)
        memcpy(payload, &recs[1], bytes);
    return n;
}

/* Lays out a CORRUPTION event in out[0..]: a copy of *head (kind set, and
 * payload_bytes) with body and the two names (cut at
 * RECORD_CORRUPTION_NAME_MAX; kind must not be empty). Returns the records
 * written, or 0 if out_cap is too small. */
static inline size_t record_corruption_write(record_t *out, size_t out_cap, const record_t *head,
                                             const record_corruption_t *body, const char *kind,
                                             const char *call)
{
    size_t kind_bytes = strlen(kind), call_bytes = strlen(call);
    if (kind_bytes > RECORD_CORRUPTION_NAME_MAX)
        kind_bytes = RECORD_CORRUPTION_NAME_MAX;
    if (call_bytes > RECORD_CORRUPTION_NAME_MAX)
        call_bytes = RECORD_CORRUPTION_NAME_MAX;
    uint8_t payload[sizeof(record_corruption_t) + 2 * RECORD_CORRUPTION_NAME_MAX];
    record_corruption_t fixed = *body;
    fixed.kind_bytes = (uint8_t)kind_bytes;
    fixed.call_bytes = (uint8_t)call_bytes;
    memcpy(payload, &fixed, sizeof fixed);
    memcpy(payload + sizeof fixed, kind, kind_bytes);
    memcpy(payload + sizeof fixed + kind_bytes, call, call_bytes);
    record_t first = *head;
    first.kind = RECORD_CORRUPTION;
    first.payload_bytes = sizeof fixed + kind_bytes + call_bytes;
    return record_frame_write(out, out_cap, &first, payload, first.payload_bytes);
}

#endif
