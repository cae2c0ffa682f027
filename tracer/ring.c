/* ring.c - the single-producer single-consumer record ring (see ring.h for
 * the layout and the ordering contract). The producer half runs inside the
 * traced program, often inside malloc: it takes no lock, never allocates,
 * and only ring_push_blocking waits (spin, sched_yield, nanosleep - all
 * async-signal-safe). The consumer half runs in the collector process and
 * treats everything in the shared header as untrusted: a corrupted producer
 * index makes it stop, not read out of bounds. One producer thread and one
 * consumer per ring; neither side is reentrant. */
#include "ring.h"

#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h" /* lock_cpu_relax */
#include "prim.h" /* prim_thread_id, prim_now_ns */

/* Waiting in ring_push_blocking: spin first (the collector usually frees
 * room within microseconds), then yield, then sleep on the ring's futex
 * until the consumer pops, so neither a stalled collector nor thousands of
 * waiting threads cost the CPU the collector needs. give_up is asked
 * after every round once spinning is over; a sleep ends by itself after
 * RING_WAIT_SLEEP_NS, doubled for each sleep of the same wait up to
 * RING_WAIT_SLEEP_MAX_NS. The pop wakes the sleeper; the timeout is only
 * there to ask give_up again. At a fixed 10 ms, a thousand busy processes
 * waiting on one collector woke 100,000 times a second between pops (a
 * system call or two each, and a context switch) and took 95% of the
 * CPU from the collector they were waiting for (bench/README.md). */
#define RING_WAIT_SPINS 128         /* pause instructions per spin round */
#define RING_WAIT_SPIN_ROUNDS 4     /* rounds of pure spinning before yielding */
#define RING_WAIT_YIELD_ROUNDS 4    /* rounds ending in sched_yield before sleeping */
#define RING_WAIT_SLEEP_NS 10000000ull      /* first sleep of a wait: 10 ms */
#define RING_WAIT_SLEEP_MAX_NS 160000000ull /* longest sleep: 160 ms */

static bool ring_capacity_ok(size_t capacity)
{
    return capacity >= RING_MIN_CAPACITY && capacity <= RING_MAX_CAPACITY &&
           (capacity & (capacity - 1)) == 0;
}

size_t ring_bytes_for(size_t capacity)
{
    if (!ring_capacity_ok(capacity))
        return 0;
    return sizeof(ring_t) + capacity * sizeof(record_t);
}

static void ring_set_limit(ring_t *ring, uint64_t head, uint64_t tail);

ring_t *ring_init(void *mem, size_t bytes, size_t capacity)
{
    size_t need = ring_bytes_for(capacity);
    if (mem == NULL || ((uintptr_t)mem % RING_LINE_BYTES) != 0 || need == 0 || bytes < need)
        return NULL;
    ring_t *ring = mem;
    /* FREE while the fields are written: an attaching collector that reads
     * the state first never sees a half-made header. */
    atomic_store_explicit(&ring->state, RING_STATE_FREE, memory_order_relaxed);
    ring->magic = RING_MAGIC;
    ring->version = RING_VERSION;
    ring->record_bytes = (uint32_t)sizeof(record_t);
    ring->capacity = (uint32_t)capacity;
    ring->slots_offset = (uint32_t)sizeof(ring_t);
    memset(ring->pad0, 0, sizeof ring->pad0);
    memset(ring->pad2, 0, sizeof ring->pad2);
    atomic_store_explicit(&ring->producer_pid, (uint32_t)getpid(), memory_order_relaxed);
    atomic_store_explicit(&ring->producer_tid, prim_thread_id(), memory_order_relaxed);
    atomic_store_explicit(&ring->head, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->dropped_records, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->waits, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->wait_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->unwinds, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->sleeping, 0, memory_order_relaxed);
    ring->window = (uint32_t)ring_window(capacity);
    ring->drops_pending = 0;
    ring_set_limit(ring, 0, 0);
    atomic_store_explicit(&ring->tail, 0, memory_order_relaxed);
    ring->cached_head = 0;
    atomic_store_explicit(&ring->state, RING_STATE_ACTIVE, memory_order_release);
    return ring;
}

ring_t *ring_attach(void *mem, size_t bytes)
{
    if (mem == NULL || ((uintptr_t)mem % RING_LINE_BYTES) != 0 || bytes < sizeof(ring_t))
        return NULL;
    ring_t *ring = mem;
    /* Acquire pairs with the release in ring_init: the identity fields read
     * below are the ones init wrote. */
    if (atomic_load_explicit(&ring->state, memory_order_acquire) == RING_STATE_FREE)
        return NULL;
    if (!ring_is_valid(ring) || bytes < ring_bytes_for(ring->capacity))
        return NULL;
    return ring;
}

void ring_set_producer(ring_t *ring, uint32_t pid, uint32_t tid)
{
    atomic_store_explicit(&ring->producer_pid, pid, memory_order_relaxed);
    atomic_store_explicit(&ring->producer_tid, tid, memory_order_relaxed);
}

/* The consumer's tail, for the producer. Acquire pairs with the consumer's
 * release of tail: its reads of the slots we are about to overwrite are
 * finished. Read only off the fast path (about once a window), which keeps
 * the producer off the consumer's cache line. */
static inline uint64_t ring_tail_seen(ring_t *ring)
{
    return atomic_load_explicit(&ring->tail, memory_order_acquire);
}

/* Free slots for a producer at `head` that saw `tail`. */
static inline uint64_t ring_room(const ring_t *ring, uint64_t head, uint64_t tail)
{
    return ring->capacity - (head - tail);
}

/* Sets the fast path's limit (ring_fast_room) for a producer at `head` that
 * saw `tail`: the end of the room, or the next boundary of its window if
 * that comes first. A head on a boundary is its own limit, so the slow path
 * decides there whether to go back, except at a lap's start: nothing is
 * decided there. 0 while a DROPPED marker waits: the slow path writes it. */
static void ring_set_limit(ring_t *ring, uint64_t head, uint64_t tail)
{
    uint64_t step = ring->window;
    uint64_t boundary = (head + step - 1) & ~(step - 1);
    if (boundary == head && (head & (ring->capacity - 1)) == 0)
        boundary = head + step;
    uint64_t room_end = tail + ring->capacity;
    ring->limit = ring->drops_pending != 0 ? 0 : (boundary < room_end ? boundary : room_end);
}

/* At a boundary of the producer's window (not a lap's start), with the
 * consumer less than a quarter window behind and room for `need` at the
 * lap's start: writes a SKIP at head and returns the next lap's first
 * index, where the event goes instead; otherwise returns head. Nothing is
 * published here: the SKIP becomes visible with the event behind it, in
 * one store of head. */
static uint64_t ring_rewind(ring_t *ring, uint64_t head, uint64_t tail, uint64_t need)
{
    uint64_t capacity = ring->capacity;
    uint64_t window = ring->window;
    uint64_t slot = head & (capacity - 1);
    if (window >= capacity || slot == 0 || (slot & (window - 1)) != 0)
        return head;
    uint64_t lap_start = head - slot;
    if (head - tail > window / 4 || tail < lap_start || tail - lap_start < need)
        return head;
    record_t skip = {.kind = RECORD_SKIP, .class_index = RECORD_CLASS_NONE};
    ring_slots(ring)[slot] = skip;
    return lap_start + capacity;
}

/* Writes recs[0..n) at index `at` onward, wrapping at the end of the slots. */
static inline void ring_write_slots(ring_t *ring, uint64_t at, const record_t *recs, size_t n)
{
    record_t *slots = ring_slots(ring);
    uint64_t mask = ring->capacity - 1;
    size_t first = (size_t)(at & mask);
    size_t run = ring->capacity - first;
    if (run > n)
        run = n;
    memcpy(&slots[first], recs, run * sizeof(record_t));
    if (run < n)
        memcpy(&slots[0], recs + run, (n - run) * sizeof(record_t));
}

/* The one push: all n records (behind a DROPPED marker when drops are
 * pending) become visible with one release store of head, or nothing
 * changes. Events longer than capacity - 1 never fit, so a marker always can
 * go in front. */
static bool ring_push_core(ring_t *ring, const record_t *recs, size_t n)
{
    if (n == 0 || n >= ring->capacity)
        return false;
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed); /* ours */
    uint64_t tail = ring_tail_seen(ring);
    uint64_t pending = ring->drops_pending;
    uint64_t need = n + (pending != 0);
    head = ring_rewind(ring, head, tail, need);
    if (ring_room(ring, head, tail) < need) {
        ring_set_limit(ring, head, tail);
        return false;
    }
    if (pending != 0) {
        /* Stamped with the next event's time: the loss happened before it. */
        record_t marker = {.kind = RECORD_DROPPED, .class_index = RECORD_CLASS_NONE,
                           .ts_ns = recs[0].ts_ns};
        marker.count = pending;
        ring_write_slots(ring, head, &marker, 1);
        head++;
        ring->drops_pending = 0;
    }
    ring_write_slots(ring, head, recs, n);
    /* Release: the slot writes above (and a SKIP) happen-before the
     * consumer's acquire load that sees this head. */
    atomic_store_explicit(&ring->head, head + n, memory_order_release);
    ring_set_limit(ring, head + n, tail);
    return true;
}

/* The ring was full: doubles the producer's window (up to the whole ring),
 * as it was not room enough for this consumer's pauses. */
static void ring_widen(ring_t *ring)
{
    if (ring->window < ring->capacity)
        ring->window *= 2;
}

/* Counts n records lost. Only the producer writes the counter, so a plain
 * load and store suffice; atomic so the collector may read it any time. */
static void ring_count_drops(ring_t *ring, size_t n)
{
    uint64_t total = atomic_load_explicit(&ring->dropped_records, memory_order_relaxed);
    atomic_store_explicit(&ring->dropped_records, total + n, memory_order_relaxed);
    ring->drops_pending += n;
    ring->limit = 0; /* the marker goes first, from the slow path */
}

bool ring_try_push(ring_t *ring, const record_t *rec)
{
    return ring_push_core(ring, rec, 1);
}

bool ring_try_push_n(ring_t *ring, const record_t *recs, size_t n)
{
    return ring_push_core(ring, recs, n);
}

bool ring_push_or_drop(ring_t *ring, const record_t *rec)
{
    return ring_push_or_drop_n(ring, rec, 1);
}

bool ring_push_or_drop_n(ring_t *ring, const record_t *recs, size_t n)
{
    if (ring_push_core(ring, recs, n))
        return true;
    ring_count_drops(ring, n);
    ring_widen(ring);
    return false;
}

/* Sleeps until the consumer has popped (or timeout_ns), unless
 * `need` slots are free already. The store of `sleeping` and the load of
 * tail, and the consumer's store of tail and load of `sleeping`, are each
 * ordered by a full fence: one side always sees the other, so the consumer
 * never pops without waking a producer that went to sleep on a full ring. */
static void ring_sleep(ring_t *ring, uint64_t need, uint64_t timeout_ns)
{
    atomic_store_explicit(&ring->sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed); /* ours */
    if (ring_room(ring, head, ring_tail_seen(ring)) < need)
        prim_wait_while((const uint32_t *)&ring->sleeping, 1, timeout_ns, true);
    atomic_store_explicit(&ring->sleeping, 0, memory_order_relaxed);
}

bool ring_push_blocking(ring_t *ring, const record_t *rec, ring_give_up_fn give_up, void *arg)
{
    return ring_push_blocking_n(ring, rec, 1, give_up, arg);
}

bool ring_push_blocking_n(ring_t *ring, const record_t *recs, size_t n, ring_give_up_fn give_up,
                          void *arg)
{
    if (n == 0)
        return false;
    if (n >= ring->capacity) { /* would wait forever */
        ring_count_drops(ring, n);
        return false;
    }
    if (ring_push_core(ring, recs, n))
        return true;
    /* Full: the consumer is behind. The wait is counted (only the
     * producer writes these, so load and store suffice). */
    ring_widen(ring);
    uint64_t start_ns = prim_now_ns();
    atomic_store_explicit(&ring->waits, atomic_load_explicit(&ring->waits, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    bool pushed = false;
    uint64_t sleep_ns = RING_WAIT_SLEEP_NS;
    for (unsigned round = 0; !pushed; round++) {
        for (unsigned spin = 0; spin < RING_WAIT_SPINS; spin++) {
            if (ring_push_core(ring, recs, n)) {
                pushed = true;
                break;
            }
            lock_cpu_relax();
        }
        if (pushed || round < RING_WAIT_SPIN_ROUNDS)
            continue;
        /* Asked only once spinning is over: it may make a syscall. */
        if (give_up != NULL && give_up(arg)) {
            ring_count_drops(ring, n);
            break;
        }
        if (round < RING_WAIT_SPIN_ROUNDS + RING_WAIT_YIELD_ROUNDS) {
            sched_yield();
        } else {
            ring_sleep(ring, n + (ring->drops_pending != 0), sleep_ns);
            if (sleep_ns < RING_WAIT_SLEEP_MAX_NS)
                sleep_ns *= 2;
        }
    }
    uint64_t waited = prim_now_ns() - start_ns;
    atomic_store_explicit(&ring->wait_ns,
                          atomic_load_explicit(&ring->wait_ns, memory_order_relaxed) + waited,
                          memory_order_relaxed);
    return pushed;
}

size_t ring_pop_batch(ring_t *ring, record_t *out, size_t max)
{
    size_t got = ring_pop_batch_sized(ring, ring->capacity, out, max);
    if (got > 0)
        ring_wake_producer(ring);
    return got;
}

void ring_wake_producer(ring_t *ring)
{
    /* Pairs with the fence in ring_sleep: either the producer sees the
     * tail stored before this, or this sees it asleep. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ring->sleeping, memory_order_relaxed) != 0)
        prim_wake_all((const uint32_t *)&ring->sleeping, true);
}

size_t ring_pop_batch_sized(ring_t *ring, uint32_t capacity, record_t *out, size_t max)
{
    if (!ring_capacity_ok(capacity))
        return 0;
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed); /* ours */
    uint64_t avail = ring->cached_head - tail;
    if (avail < max || avail > capacity) {
        /* Acquire pairs with the producer's release of head: the slots up
         * to it are fully written. (A cached head beyond reach is a stale
         * or overwritten one: read the real head before judging.) */
        ring->cached_head = atomic_load_explicit(&ring->head, memory_order_acquire);
        avail = ring->cached_head - tail;
    }
    if (avail > capacity)
        return 0; /* the producer's side of the header was overwritten */
    uint64_t head = tail + avail;
    /* Every index below is taken modulo the caller's capacity, never the
     * header's: the slots read lie within the ring it knows. Copies stop at
     * window boundaries, where the producer may have gone back to the
     * start: a SKIP there is taken (and the stale rest of the lap never
     * copied) only at the start of an event. Frame lengths are read from
     * our copy (a wild write in the traced process could change the
     * slots; our copy cannot change under us). Events are published
     * whole, so only max can cut one. */
    const record_t *slots = ring_slots(ring);
    uint64_t mask = (uint64_t)capacity - 1;
    uint64_t window = ring_window(capacity);
    uint64_t at = tail;  /* the next slot to copy */
    size_t got = 0;      /* records copied */
    size_t whole = 0;    /* of them, those of whole events */
    while (got < max && at < head) {
        uint64_t slot = at & mask;
        /* A SKIP that head does not cover is not the producer's (it
         * publishes a SKIP with what follows): a wild write, passed on as
         * data like any other, so the ring goes on. */
        if (whole == got && window < capacity && slot != 0 && (slot & (window - 1)) == 0 &&
            slots[slot].kind == RECORD_SKIP && capacity - slot <= head - at) {
            at += capacity - slot;
            continue;
        }
        uint64_t take = window - (slot & (window - 1));
        if (take > max - got)
            take = max - got;
        if (take > head - at)
            take = head - at;
        memcpy(out + got, &slots[slot], (size_t)take * sizeof(record_t));
        got += (size_t)take;
        at += take;
        while (whole < got) {
            size_t span = 1 + (size_t)out[whole].payload_records;
            if (whole + span > got)
                break;
            whole += span;
        }
    }
    uint64_t done = at - (got - whole); /* past the last whole event (and any SKIP before it) */
    if (done == tail)
        return 0;
    /* Release: our copies are done before the producer may reuse the slots. */
    atomic_store_explicit(&ring->tail, done, memory_order_release);
    return whole;
}

void ring_close(ring_t *ring)
{
    /* Release: every push happens-before a consumer that sees CLOSED. */
    atomic_store_explicit(&ring->state, RING_STATE_CLOSED, memory_order_release);
}

bool ring_is_drained(const ring_t *ring)
{
    if (atomic_load_explicit(&ring->state, memory_order_acquire) != RING_STATE_CLOSED)
        return false;
    return atomic_load_explicit(&ring->head, memory_order_acquire) ==
           atomic_load_explicit(&ring->tail, memory_order_acquire);
}

bool ring_release(ring_t *ring)
{
    if (!ring_is_drained(ring))
        return false;
    atomic_store_explicit(&ring->state, RING_STATE_FREE, memory_order_release);
    return true;
}

uint64_t ring_dropped(const ring_t *ring)
{
    return atomic_load_explicit(&ring->dropped_records, memory_order_relaxed);
}

uint64_t ring_waits(const ring_t *ring)
{
    return atomic_load_explicit(&ring->waits, memory_order_relaxed);
}

uint64_t ring_unwinds(const ring_t *ring)
{
    return atomic_load_explicit(&ring->unwinds, memory_order_relaxed);
}

uint64_t ring_wait_ns(const ring_t *ring)
{
    return atomic_load_explicit(&ring->wait_ns, memory_order_relaxed);
}

bool ring_is_intact(const ring_t *ring, uint32_t capacity)
{
    return ring->capacity == capacity && ring_is_valid(ring);
}

bool ring_is_valid(const ring_t *ring)
{
    if (ring->magic != RING_MAGIC || ring->version != RING_VERSION ||
        ring->record_bytes != sizeof(record_t) || ring->slots_offset != sizeof(ring_t) ||
        !ring_capacity_ok(ring->capacity))
        return false;
    uint32_t state = atomic_load_explicit(&ring->state, memory_order_acquire);
    if (state > RING_STATE_CLOSED)
        return false;
    /* tail first: head only grows, so head read after it is >= tail unless
     * something overwrote the header. */
    uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    return head - tail <= ring->capacity;
}
