/* ring.h - one single-producer single-consumer lock-free ring of trace
 * records, laid out in caller-provided memory that is meant to be a shared
 * mapping between the traced process (producer: one thread) and the
 * collector process (consumer). The structure therefore holds no pointers,
 * only a header with counters and the slots right after it, and every
 * cross-process field is a lock-free, address-free C11 atomic.
 *
 * Indices are 64-bit counts of records ever pushed (head) and popped (tail);
 * slot = index & (capacity - 1), so they never wrap in practice. The producer
 * writes slots, then publishes head with release; the consumer reads head
 * with acquire, copies, then publishes tail with release; the producer reads
 * tail with acquire (only off its fast path: at a window boundary, or when
 * the room it knew of is used up) before reusing slots. A producer that has
 * waited a while on a full ring sleeps on `sleeping` (a futex in the shared
 * memory); the consumer wakes it when it pops: thousands of waiting threads
 * polling would take the CPU the consumer needs. head and the producer's
 * private state share one 64-byte line, tail and the consumer's another, so
 * neither side writes the other's.
 *
 * Windows: a ring of at least two windows (RING_WINDOW records) is written
 * a window at a time. At each boundary of its window the producer looks at
 * tail; if the consumer is close behind, it writes a SKIP record there and
 * goes back to slot 0 (the index jumps to the next lap), so a thread whose
 * collector keeps up writes the same first window over and over. Why: the
 * slots a producer cycles through stay in the shared cache, and a 4 MiB
 * ring cycled whole took an eighth of a 32 MiB L3 from the program (sqlite3
 * under cachegrind: 1.4 M more misses to memory than untraced; 0.2 M with
 * windows). The rest of the ring is there for bursts and stalls: each time
 * the producer has found the ring full (it waited, or dropped) its window
 * doubles, up to the whole ring, so a thread whose collector falls further
 * behind (python3's 5 M records a second through a 10-20 ms pause of the
 * collector) soon runs through all of it, as before windows. The consumer
 * honours a SKIP only where a producer may write one: at the start of an
 * event on a RING_WINDOW boundary other than slot 0, published in full (its
 * skip ends at or before head). Any other is passed on as data (the
 * collector ignores the kind), so a wild write cannot stall the ring.
 *
 * Rules: exactly one producer thread and one consumer at a time. Pushes take
 * no lock, never call malloc, and make no syscall except the waiting in
 * ring_push_blocking; they are async-signal-safe but not reentrant: a signal
 * handler must not push to a ring its thread was pushing to when interrupted
 * (the tracer's per-thread recursion guard ensures that). A framed event
 * (record.h) is pushed with one *_n call and becomes visible whole or not at
 * all. Losses are never silent: every record dropped is counted in
 * dropped_records, and the next record that fits is preceded, in the same
 * publication, by a RECORD_DROPPED record holding the count lost in between.
 *
 * Lifecycle (state): FREE (zeroed memory) -> ring_init -> ACTIVE ->
 * ring_close (producer, e.g. at thread exit) -> CLOSED -> the consumer pops
 * until ring_is_drained -> ring_release -> FREE. Claiming a FREE ring among
 * many threads is the shm layer's job; ring_init itself is not atomic. */
#ifndef ORTHO_TRACER_RING_H
#define ORTHO_TRACER_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"

#define RING_MAGIC 0x474e4952u       /* "RING" in little-endian memory */
#define RING_VERSION 4u              /* bump on any layout change of ring_t or record_t (2: waits, 3: unwinds, 4: windows) */
#define RING_LINE_BYTES 64           /* cache line: what the header fields are padded to */
#define RING_MIN_CAPACITY 2u         /* room for a DROPPED marker plus one record */
#define RING_MAX_CAPACITY (1u << 30) /* records; keeps ring_bytes_for far from overflow */
#define RING_WINDOW 8192u            /* records (256 KiB): a producer's first window (Windows, above) */

/* Cross-process atomics must not fall back to a lock inside one process. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free for shared memory");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 || ATOMIC_LLONG_LOCK_FREE == 2,
               "64-bit atomics must be lock-free for shared memory");

typedef enum {
    RING_STATE_FREE = 0,   /* zeroed or released: nobody produces */
    RING_STATE_ACTIVE = 1, /* initialised; the producer may push */
    RING_STATE_CLOSED = 2, /* the producer is done; drain, then release */
} ring_state_t;

typedef struct ring {
    /* Line 0: identity, written by ring_init before state turns ACTIVE. */
    _Atomic uint32_t state;  /* ring_state_t; the publication point of init */
    uint32_t magic;          /* RING_MAGIC */
    uint32_t version;        /* RING_VERSION */
    uint32_t record_bytes;   /* sizeof(record_t), checked by ring_attach */
    uint32_t capacity;       /* slots, a power of two, records */
    uint32_t slots_offset;   /* from the ring's first byte to slot 0, bytes */
    _Atomic uint32_t producer_pid; /* process of the producer (getpid) */
    _Atomic uint32_t producer_tid; /* kernel thread id of the producer */
    uint8_t pad0[RING_LINE_BYTES - 8 * sizeof(uint32_t)];

    /* Line 1: written by the producer only. */
    _Atomic uint64_t head;            /* records ever published (producer index) */
    _Atomic uint64_t dropped_records; /* records ever dropped, for the database */
    uint64_t limit;                   /* head may grow to this on the fast path (ring_fast_room) */
    uint64_t drops_pending;           /* dropped since the last DROPPED marker, records */
    _Atomic uint64_t waits;           /* blocking pushes that found the ring full */
    _Atomic uint64_t wait_ns;         /* time those pushes waited for room, ns */
    _Atomic uint32_t sleeping;        /* 1: the producer sleeps until the consumer pops (a futex) */
    uint32_t window;                  /* producer's window, records: doubles when full (Windows) */
    _Atomic uint64_t unwinds;         /* stacks the thread unwound: its stack memo missed */

    /* Line 2: written by the consumer only. */
    _Atomic uint64_t tail;  /* records ever consumed (consumer index) */
    uint64_t cached_head;   /* consumer's last read of head, records */
    uint8_t pad2[RING_LINE_BYTES - 2 * sizeof(uint64_t)];

    /* Slots follow at slots_offset (== sizeof(ring_t)). */
} ring_t;

_Static_assert(sizeof(ring_t) == 3 * RING_LINE_BYTES, "ring header is three cache lines");
_Static_assert(offsetof(ring_t, head) == RING_LINE_BYTES, "head starts the producer line");
_Static_assert(offsetof(ring_t, tail) == 2 * RING_LINE_BYTES, "tail starts the consumer line");
_Static_assert(offsetof(ring_t, unwinds) + sizeof(uint64_t) == 2 * RING_LINE_BYTES,
               "the producer line is full: a new producer field needs a new line");

/* Gives up a blocking push: return true when waiting is pointless (the
 * consumer process is gone, the program is exiting). Called from the
 * waiting producer, so it must not malloc or push to the same ring. */
typedef bool (*ring_give_up_fn)(void *arg);

/* Bytes of memory a ring of `capacity` records needs; 0 if capacity is not
 * a power of two within [RING_MIN_CAPACITY, RING_MAX_CAPACITY]. */
size_t ring_bytes_for(size_t capacity);

/* Formats `bytes` of memory at mem (RING_LINE_BYTES-aligned, e.g. an mmap)
 * as an empty ACTIVE ring of `capacity` records whose producer is the
 * calling thread. Returns mem as a ring, or NULL (memory untouched) if mem
 * is NULL or misaligned, capacity is not a valid power of two, or bytes <
 * ring_bytes_for(capacity). Not thread-safe: nobody may use the memory yet. */
ring_t *ring_init(void *mem, size_t bytes, size_t capacity);

/* For the consumer (another process): checks that the `bytes` at mem hold a
 * ring made by ring_init of this version (state not FREE, magic, version,
 * record size, capacity, size). Returns the ring or NULL. */
ring_t *ring_attach(void *mem, size_t bytes);

/* Records the producer (pid, kernel tid) when a thread other than the one
 * that called ring_init will push. Producer side, before the first push. */
void ring_set_producer(ring_t *ring, uint32_t pid, uint32_t tid);

/* The slots, right after the header. */
static inline record_t *ring_slots(ring_t *ring)
{
    return (record_t *)((char *)ring + sizeof(ring_t));
}

/* A producer's first window, and the spacing of the slots where a consumer
 * may find a SKIP: RING_WINDOW, or the whole ring when that is under two
 * windows (then nothing rewinds). Either side computes it from its own
 * copy of the capacity. */
static inline uint64_t ring_window(uint64_t capacity)
{
    return capacity >= 2ull * RING_WINDOW ? RING_WINDOW : capacity;
}

/* Whether the inline pushes may write n records at head: below `limit`,
 * which the slow path (ring.c) sets to where the room it last saw ends, or
 * the next boundary of the producer's window if that comes first, or to 0
 * while a DROPPED marker waits to go first.
 * So one compare covers room, markers, boundaries and the end of the
 * slots: a fast push never wraps. */
static inline bool ring_fast_room(const ring_t *ring, uint64_t head, size_t n)
{
    return head + n <= ring->limit;
}

/* The producer's common push, inline: n (1 or 2) records, with
 * ring_fast_room. false: nothing written; the caller then takes
 * ring_push_blocking_n or ring_push_or_drop_n, which handle the rest. */
static inline bool ring_push_fast(ring_t *ring, const record_t *recs, size_t n)
{
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed); /* ours */
    size_t at = (size_t)(head & (ring->capacity - 1));
    if (n > 2 || !ring_fast_room(ring, head, n))
        return false;
    record_t *slots = ring_slots(ring);
    slots[at] = recs[0];
    if (n == 2)
        slots[at + 1] = recs[1];
    /* Release: the slot writes happen-before the consumer sees this head. */
    atomic_store_explicit(&ring->head, head + n, memory_order_release);
    return true;
}

/* The producer's own head (it is the only writer), for ring_fast_room. */
static inline uint64_t ring_head_mine(const ring_t *ring)
{
    return atomic_load_explicit(&ring->head, memory_order_relaxed);
}

/* Writes one record given as words into slot `head` and publishes it;
 * head is ring_head_mine's, and ring_fast_room said yes for it. */
static inline void ring_put_words(ring_t *ring, uint64_t head, record_words_t w)
{
    char *slot = (char *)&ring_slots(ring)[head & (ring->capacity - 1)];
    memcpy(slot, &w.w[0], 8);
    memcpy(slot + 8, &w.w[1], 8);
    memcpy(slot + 16, &w.w[2], 8);
    memcpy(slot + 24, &w.w[3], 8);
    /* Release: the slot writes happen-before the consumer sees this head. */
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
}

/* ring_push_fast for one record given as words (record_words_t): each
 * word is stored into the slot as it is, never staged in memory first. */
static inline bool ring_push_fast_words(ring_t *ring, record_words_t w)
{
    uint64_t head = ring_head_mine(ring);
    if (!ring_fast_room(ring, head, 1))
        return false;
    ring_put_words(ring, head, w);
    return true;
}

/* Pushes one record if there is room (also for a pending DROPPED marker).
 * Returns false, changing nothing and counting nothing, when full. */
bool ring_try_push(ring_t *ring, const record_t *rec);
/* The same for n records published all at once (a framed event): false,
 * with nothing visible, unless all n (plus a pending marker) fit. */
bool ring_try_push_n(ring_t *ring, const record_t *recs, size_t n);

/* Pushes, or counts the record(s) as dropped when full. Never waits.
 * Returns true if pushed. */
bool ring_push_or_drop(ring_t *ring, const record_t *rec);
bool ring_push_or_drop_n(ring_t *ring, const record_t *recs, size_t n);

/* Pushes, waiting while full: spins, then sched_yield, then short sleeps,
 * asking give_up (if not NULL) between rounds; a push that had to wait is
 * counted in waits and its wait in wait_ns. Returns true once pushed;
 * false if give_up said so or the event can never fit (n > capacity - 1),
 * in which case the record(s) are counted as dropped. With give_up NULL a
 * dead consumer blocks the producer forever: pass one. */
bool ring_push_blocking(ring_t *ring, const record_t *rec, ring_give_up_fn give_up, void *arg);
bool ring_push_blocking_n(ring_t *ring, const record_t *recs, size_t n, ring_give_up_fn give_up,
                          void *arg);

/* Consumer: copies up to max records, oldest first, to out and frees their
 * slots, then wakes the producer if it sleeps on the full ring. A batch
 * never ends inside a framed event: if the next event does not fit in what
 * is left of max it stays for the next call (so pass max >= 1 +
 * RECORD_PAYLOAD_RECORDS_MAX to always make progress). Returns the records
 * copied; 0 when empty, or when the producer's index is corrupt
 * (ring_is_valid says false then). Never blocks. */
size_t ring_pop_batch(ring_t *ring, record_t *out, size_t max);
/* ring_pop_batch for a consumer that does not trust the shared header (the
 * collector): `capacity` is its own copy, taken when the ring was
 * registered, and every slot index is reduced by it, so a producer that
 * overwrote the header can lose its own records but never make the
 * consumer read outside those `capacity` slots. */
size_t ring_pop_batch_sized(ring_t *ring, uint32_t capacity, record_t *out, size_t max);
/* Consumer: wakes the producer if it sleeps on its full ring, as it does
 * after waiting a while. ring_pop_batch_sized leaves this to the caller:
 * a consumer of many rings pops from all of them first and then wakes
 * their producers, instead of being preempted by each one it wakes while
 * the others wait to be drained. Never blocks. */
void ring_wake_producer(ring_t *ring);

/* Producer: no more pushes will follow (thread exit). */
void ring_close(ring_t *ring);

/* Consumer: true once the ring is CLOSED and every record was popped. */
bool ring_is_drained(const ring_t *ring);

/* Consumer: hands a drained ring back as FREE for reuse; false (no change)
 * if it is not closed and drained. */
bool ring_release(ring_t *ring);

/* Records ever dropped on this ring (either side may read). */
uint64_t ring_dropped(const ring_t *ring);
/* Blocking pushes that found the ring full, and the time they waited
 * (either side may read): how often and how long the producer out-ran its
 * consumer. */
uint64_t ring_waits(const ring_t *ring);
uint64_t ring_wait_ns(const ring_t *ring);

/* The stacks the producer unwound because its stack memo missed (either
 * side may read: the collector stores it as stack_unwinds). */
uint64_t ring_unwinds(const ring_t *ring);

/* Counts one unwound stack of the producer's (the only writer). */
static inline void ring_count_unwind(ring_t *ring)
{
    atomic_store_explicit(&ring->unwinds, atomic_load_explicit(&ring->unwinds, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Invariant check for tests and the collector: header fields consistent
 * and 0 <= head - tail <= capacity. Call it from the consumer (or with the
 * producer stopped): a third party's tail can be stale and fail the check. */
bool ring_is_valid(const ring_t *ring);
/* ring_is_valid, and the header still says `capacity` (the consumer's own
 * copy): false means the header was overwritten. Consumer side. */
bool ring_is_intact(const ring_t *ring, uint32_t capacity);

#endif
