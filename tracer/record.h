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
    X(DROPPED, 15)

typedef enum {
    RECORD_KIND_NONE = 0, /* never sent; a zeroed slot reads as this */
#define RECORD_KIND_ENUM(name, value) RECORD_##name = value,
    RECORD_KIND_LIST(RECORD_KIND_ENUM)
#undef RECORD_KIND_ENUM
} record_kind_t;

/* Which fields each kind uses (unused fields are zero):
 *
 *   kind          class  stack_id      addr           word at 16           payload
 *   ALLOC         yes    alloc site    user pointer   size_bytes requested  -
 *   FREE          yes    alloc site(1) user pointer   free_info             -
 *   REALLOC       new    call site     new pointer    size_bytes requested  1: record_realloc_from_t
 *   CORRUPTION    hdr(2) detecting     user pointer   corruption_info       2: raw header bytes
 *   CACHE_REFILL  yes    -             -              count (blocks)        -
 *   CACHE_DRAIN   yes    -             -              count (blocks)        -
 *   ARENA_CARVE   yes    -             region start   size_bytes of region  -
 *   LARGE_MAP     -      -             mapping start  size_bytes mapped     -
 *   LARGE_UNMAP   -      -             mapping start  size_bytes unmapped   -
 *   OS_RELEASE    -      -             range start    size_bytes released   -
 *   THREAD_START  -      -             -              -                     -
 *   THREAD_EXIT   -      -             -              -                     -
 *   MODULE_LOAD   -      -             load base      payload_bytes         path bytes, no NUL
 *   STACK_DEF     -      id defined    -              payload_bytes         uint64_t PCs, innermost first
 *   DROPPED       -      -             -              count (records lost)  -
 *
 * ts_ns (CLOCK_MONOTONIC) is set for every kind. (1) For FREE, stack_id is
 * the allocation's stack id as kept in the block header, which lives in the
 * id space of free_info.alloc_tid's thread, so a cross-thread free still
 * names its allocation site. (2) For CORRUPTION, class_index is the class
 * byte as read from the (possibly smashed) header. "-" in the class column
 * means RECORD_CLASS_NONE. A DROPPED record is written by the ring itself in
 * front of the next record that fits after a loss (see ring.h). */

#define RECORD_BYTES 32            /* size of every record and continuation */
#define RECORD_CLASS_NONE 0xffu    /* class_index of kinds without a class */
#define RECORD_STACK_NONE 0u       /* stack_id when no stack was captured */
#define RECORD_PAYLOAD_RECORDS_MAX 255u /* largest payload_records (a uint8_t) */
#define RECORD_PAYLOAD_BYTES_MAX (RECORD_PAYLOAD_RECORDS_MAX * RECORD_BYTES) /* 8160 */
/* Raw header bytes in a CORRUPTION payload: ORTHO_HEADER_SIZE (liballoc). */
#define RECORD_CORRUPTION_HEADER_BYTES 64u
/* FREE carries the requested size in 32 bits; larger sizes saturate to this
 * and set RECORD_FLAG_SIZE_SATURATED (the collector then takes the size from
 * the matching ALLOC). */
#define RECORD_FREE_SIZE_SATURATED UINT32_MAX

/* flags bits. */
#define RECORD_FLAG_SAMPLED 0x01u        /* ALLOC/REALLOC: stack captured by the sampler */
#define RECORD_FLAG_CROSS_THREAD 0x02u   /* FREE: alloc_tid differs from this ring's thread */
#define RECORD_FLAG_SIZE_SATURATED 0x04u /* FREE: requested_bytes32 was clamped */
#define RECORD_FLAG_IN_PLACE 0x08u       /* REALLOC: the block did not move */

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
        struct {
            uint32_t alloc_tid;         /* kernel tid that allocated the block */
            uint32_t requested_bytes32; /* requested size, saturated, bytes */
        } free_info;
        struct {
            uint32_t verdict; /* header_verdict_t of the failed check */
            uint32_t op;      /* record_kind_t of the call that found it */
        } corruption_info;
    };
    uint64_t ts_ns; /* CLOCK_MONOTONIC when the event happened, ns */
} record_t;

_Static_assert(sizeof(record_t) == RECORD_BYTES, "a trace record must be 32 bytes");
_Static_assert(offsetof(record_t, payload_records) == 3, "framing byte is part of the wire format");
#ifdef ORTHO_HEADER_SIZE
_Static_assert(RECORD_CORRUPTION_HEADER_BYTES == ORTHO_HEADER_SIZE, "corruption payload is one header");
#endif

/* Payload of REALLOC: where the block came from. */
typedef struct record_realloc_from {
    uint64_t old_addr;            /* previous user pointer */
    uint64_t old_requested_bytes; /* previous requested size, bytes */
    uint64_t old_alloc_ts_ns;     /* when the old block was allocated, ns (0 if untraced) */
    uint32_t old_alloc_tid;       /* kernel tid that allocated the old block */
    uint8_t old_class_index;      /* old class, RECORD_CLASS_NONE if large */
    uint8_t reserved[3];          /* zero */
} record_realloc_from_t;
_Static_assert(sizeof(record_realloc_from_t) == RECORD_BYTES, "realloc payload is one record");

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

/* An ALLOC record; requested is the size the caller asked for. */
static inline record_t record_make_alloc(uint64_t addr, uint64_t requested_bytes, unsigned class_index,
                                         uint32_t stack_id, unsigned flags, uint64_t ts_ns)
{
    record_t r = {.kind = RECORD_ALLOC, .class_index = (uint8_t)class_index, .flags = (uint8_t)flags,
                  .stack_id = stack_id, .addr = addr, .ts_ns = ts_ns};
    r.size_bytes = requested_bytes;
    return r;
}

/* A FREE record. alloc_tid and alloc_stack_id come from the block header;
 * self_tid is the freeing (this ring's) thread, used only to set
 * RECORD_FLAG_CROSS_THREAD. Sizes of 4 GiB and above saturate. */
static inline record_t record_make_free(uint64_t addr, uint64_t requested_bytes, unsigned class_index,
                                        uint32_t alloc_tid, uint32_t alloc_stack_id, uint32_t self_tid,
                                        uint64_t ts_ns)
{
    unsigned flags = alloc_tid != self_tid ? RECORD_FLAG_CROSS_THREAD : 0u;
    uint32_t size32 = (uint32_t)requested_bytes;
    if (requested_bytes >= RECORD_FREE_SIZE_SATURATED) {
        size32 = RECORD_FREE_SIZE_SATURATED;
        flags |= RECORD_FLAG_SIZE_SATURATED;
    }
    record_t r = {.kind = RECORD_FREE, .class_index = (uint8_t)class_index, .flags = (uint8_t)flags,
                  .stack_id = alloc_stack_id, .addr = addr, .ts_ns = ts_ns};
    r.free_info.alloc_tid = alloc_tid;
    r.free_info.requested_bytes32 = size32;
    return r;
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

#endif
