/* check_ring.c - the trace ring and the record framing: argument checks,
 * order and content, full-ring behaviour in each push mode, drop counting
 * and the DROPPED marker, wrap-around, all-or-nothing framed events, a
 * producer and a consumer thread moving millions of records (the test that
 * must stay clean under ThreadSanitizer), a blocking push that gives up, and
 * a forked child consuming from a MAP_SHARED mapping as the collector will.
 * Every record carries a sequence number in addr, so loss, duplication and
 * reordering all show up as a wrong number. No timing is measured. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_support.h"
#include "lock.h" /* lock_cpu_relax */
#include "prim.h"
#include "record.h"
#include "ring.h"

/* Records the two-thread test moves (about 6 s under ThreadSanitizer). */
#define THREADED_RECORDS 10000000ull
#define THREADED_CAPACITY 1024      /* small, so the producer often finds it full */
#define THREADED_FRAME_EVERY 4096   /* every so many records, also push a framed event */
#define THREADED_FRAME_PAYLOAD 3    /* continuation records in those events */
#define POP_MAX (1 + RECORD_PAYLOAD_RECORDS_MAX) /* always enough for a whole event */
#define WINDOWED_CAPACITY (4 * RING_WINDOW) /* a ring the producer rewinds */
#define WINDOWED_THREADED_CAPACITY (16 * RING_WINDOW) /* four waits before it stops rewinding */
#define WINDOWED_RECORDS 3000000ull /* records the windowed two-thread test moves */
#define FORK_RECORDS 200000ull
#define FORK_CAPACITY 256

/* A 64-aligned buffer for one ring, freed by the caller. */
static void *ring_memory(size_t capacity, size_t *bytes_out)
{
    size_t bytes = ring_bytes_for(capacity);
    ck_assert_uint_gt(bytes, 0);
    void *mem = aligned_alloc(RING_LINE_BYTES, bytes);
    ck_assert_ptr_nonnull(mem);
    memset(mem, 0, bytes);
    *bytes_out = bytes;
    return mem;
}

static record_t seq_record(uint64_t seq)
{
    return record_make_alloc(seq, seq * 3 + 1, (unsigned)(seq % 12), (uint32_t)(seq % 97), 0, seq * 10);
}

static bool seq_record_ok(const record_t *r, uint64_t seq)
{
    record_t want = seq_record(seq);
    return memcmp(r, &want, sizeof want) == 0;
}

START_TEST(init_rejects_a_capacity_that_is_not_a_power_of_two)
{
    size_t bytes;
    void *mem = ring_memory(64, &bytes);
    ck_assert_uint_eq(ring_bytes_for(48), 0);
    ck_assert_uint_eq(ring_bytes_for(0), 0);
    ck_assert_uint_eq(ring_bytes_for(1), 0); /* below RING_MIN_CAPACITY */
    ck_assert_ptr_null(ring_init(mem, bytes, 48));
    ck_assert_ptr_null(ring_init(mem, bytes, 63));
    ck_assert_ptr_null(ring_init(mem, bytes, 0));
    ck_assert_ptr_null(ring_init(mem, bytes, (size_t)RING_MAX_CAPACITY * 2));
    ck_assert_ptr_nonnull(ring_init(mem, bytes, 64));
    free(mem);
}
END_TEST

START_TEST(init_rejects_memory_too_small_misaligned_or_null)
{
    size_t bytes;
    void *mem = ring_memory(64, &bytes);
    ck_assert_uint_eq(bytes, sizeof(ring_t) + 64 * RECORD_BYTES);
    ck_assert_ptr_null(ring_init(mem, bytes - 1, 64));
    ck_assert_ptr_null(ring_init(mem, sizeof(ring_t), 64));
    ck_assert_ptr_null(ring_init((char *)mem + 8, bytes - 8, 32));
    ck_assert_ptr_null(ring_init(NULL, bytes, 64));
    /* A refused init leaves the memory as it was (still FREE, all zero). */
    ck_assert_ptr_null(ring_attach(mem, bytes));
    ring_t *ring = ring_init(mem, bytes, 64);
    ck_assert_ptr_eq(ring, mem);
    ck_assert(ring_is_valid(ring));
    ck_assert_uint_eq(atomic_load(&ring->state), RING_STATE_ACTIVE);
    ck_assert_uint_eq(atomic_load(&ring->producer_pid), (uint32_t)getpid());
    free(mem);
}
END_TEST

START_TEST(attach_accepts_an_initialised_ring_and_rejects_a_smashed_one)
{
    size_t bytes;
    void *mem = ring_memory(16, &bytes);
    ring_t *ring = ring_init(mem, bytes, 16);
    ck_assert_ptr_eq(ring_attach(mem, bytes), ring);
    ck_assert_ptr_null(ring_attach(mem, bytes - RECORD_BYTES)); /* smaller than the ring */
    ring->version = RING_VERSION + 1;
    ck_assert_ptr_null(ring_attach(mem, bytes));
    ring->version = RING_VERSION;
    ring->capacity = 12;
    ck_assert_ptr_null(ring_attach(mem, bytes));
    ring->capacity = 16;
    ring->magic ^= 1;
    ck_assert_ptr_null(ring_attach(mem, bytes));
    free(mem);
}
END_TEST

START_TEST(pushed_records_pop_in_order_with_identical_content)
{
    size_t bytes;
    void *mem = ring_memory(64, &bytes);
    ring_t *ring = ring_init(mem, bytes, 64);
    for (uint64_t i = 0; i < 40; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_try_push(ring, &r));
    }
    record_t out[64];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 25), 25);
    ck_assert_uint_eq(ring_pop_batch(ring, out + 25, 64), 15);
    ck_assert_uint_eq(ring_pop_batch(ring, out, 64), 0);
    for (uint64_t i = 0; i < 40; i++)
        ck_assert_msg(seq_record_ok(&out[i], i), "record %llu differs", (unsigned long long)i);
    ck_assert_uint_eq(ring_dropped(ring), 0);
    free(mem);
}
END_TEST

START_TEST(free_records_name_the_allocation_they_undo_by_its_timestamp)
{
    record_t r = record_make_free(0x1000, 2, 123456789, 7, 5);
    ck_assert_uint_eq(r.kind, RECORD_FREE);
    ck_assert_uint_eq(r.addr, 0x1000);
    ck_assert_uint_eq(r.class_index, 2);
    ck_assert_uint_eq(r.alloc_ts_ns, 123456789);
    ck_assert_uint_eq(r.stack_id, 7);
    ck_assert_uint_eq(r.ts_ns, 5);
    ck_assert_uint_eq(r.flags, 0);
    ck_assert_str_eq(record_kind_name(RECORD_CACHE_REFILL), "CACHE_REFILL");
    ck_assert_str_eq(record_kind_name(99), "unknown");
}
END_TEST

START_TEST(records_built_as_words_keep_every_field_in_its_place)
{
    record_t a = record_make_alloc(0x7f0012345640ull, 4097, 7, 0xdeadbeefu, RECORD_FLAG_SAMPLED,
                                   987654321012ull);
    ck_assert_uint_eq(a.kind, RECORD_ALLOC);
    ck_assert_uint_eq(a.class_index, 7);
    ck_assert_uint_eq(a.flags, RECORD_FLAG_SAMPLED);
    ck_assert_uint_eq(a.payload_records, 0);
    ck_assert_uint_eq(a.stack_id, 0xdeadbeefu);
    ck_assert_uint_eq(a.addr, 0x7f0012345640ull);
    ck_assert_uint_eq(a.size_bytes, 4097);
    ck_assert_uint_eq(a.ts_ns, 987654321012ull);
    /* Out-of-range bytes are cut to their field, never spilled into the next. */
    record_t b = record_from_words(record_words_make(RECORD_FREE, 0x1ff, 0x2fe, 1, 2, 3, 4));
    ck_assert_uint_eq(b.kind, RECORD_FREE);
    ck_assert_uint_eq(b.class_index, 0xff);
    ck_assert_uint_eq(b.flags, 0xfe);
    ck_assert_uint_eq(b.payload_records, 0);
    ck_assert_uint_eq(b.stack_id, 1);
}
END_TEST

START_TEST(a_record_pushed_as_words_pops_intact_and_the_push_declines_when_full)
{
    size_t bytes;
    void *mem = ring_memory(4, &bytes);
    ring_t *ring = ring_init(mem, bytes, 4);
    record_t out[8];
    /* Three laps over four slots. The inline push never reads tail, so
     * after a pop it declines until the slow push (here ring_try_push) has
     * looked; every record must still arrive whole, in order. */
    unsigned fast = 0;
    for (uint64_t lap = 0; lap < 3; lap++) {
        for (uint64_t i = 0; i < 4; i++) {
            uint64_t seq = lap * 4 + i;
            record_words_t w = record_words_alloc(seq, seq * 3 + 1, (unsigned)(seq % 12),
                                                  (uint32_t)(seq % 97), 0, seq * 10);
            if (ring_push_fast_words(ring, w)) {
                fast++;
            } else {
                record_t r = record_from_words(w);
                ck_assert(ring_try_push(ring, &r));
            }
        }
        record_words_t extra = record_words_free(1, 2, 3, 4, 5);
        ck_assert(!ring_push_fast_words(ring, extra)); /* full */
        ck_assert_uint_eq(ring_dropped(ring), 0);
        ck_assert_uint_eq(ring_pop_batch(ring, out, 8), 4);
        for (uint64_t i = 0; i < 4; i++)
            ck_assert(seq_record_ok(&out[i], lap * 4 + i));
    }
    ck_assert_uint_ge(fast, 4 + 3 + 3); /* one slow push per lap after the first */
    free(mem);
    /* A pending DROPPED marker must go out first: with room for the record
     * and a fresh view of tail, the word push still declines. */
    mem = ring_memory(8, &bytes);
    ring = ring_init(mem, bytes, 8);
    for (uint64_t i = 0; i < 4; i++) {
        record_words_t w = record_words_free(i + 1, 2, 3, 4, 5);
        ck_assert(ring_push_fast_words(ring, w));
    }
    record_t frame[5] = {seq_record(0), seq_record(1), seq_record(2), seq_record(3), seq_record(4)};
    frame[0].payload_records = 4;
    ck_assert(!ring_push_or_drop_n(ring, frame, 5)); /* 4 free slots: all 5 dropped */
    record_words_t w = record_words_free(9, 2, 3, 4, 5);
    ck_assert(!ring_push_fast_words(ring, w));
    record_t r = record_from_words(w);
    ck_assert(ring_push_or_drop(ring, &r)); /* the slow push sends marker + record */
    ck_assert_uint_eq(ring_pop_batch(ring, out, 8), 6);
    ck_assert_uint_eq(out[4].kind, RECORD_DROPPED);
    ck_assert_uint_eq(out[4].count, 5);
    ck_assert_uint_eq(out[5].addr, 9);
    free(mem);
}
END_TEST

START_TEST(a_full_ring_refuses_try_push_until_the_consumer_pops)
{
    size_t bytes;
    void *mem = ring_memory(8, &bytes);
    ring_t *ring = ring_init(mem, bytes, 8);
    for (uint64_t i = 0; i < 8; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_try_push(ring, &r));
    }
    record_t extra = seq_record(8);
    ck_assert(!ring_try_push(ring, &extra));
    ck_assert(!ring_try_push(ring, &extra));
    ck_assert_uint_eq(ring_dropped(ring), 0); /* try_push counts nothing */
    record_t out[8];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 1), 1);
    ck_assert(seq_record_ok(&out[0], 0));
    ck_assert(ring_try_push(ring, &extra));
    ck_assert_uint_eq(ring_pop_batch(ring, out, 8), 8);
    for (uint64_t i = 0; i < 8; i++)
        ck_assert(seq_record_ok(&out[i], i + 1));
    free(mem);
}
END_TEST

START_TEST(push_or_drop_counts_exactly_the_dropped_records_and_marks_the_gap)
{
    size_t bytes;
    void *mem = ring_memory(8, &bytes);
    ring_t *ring = ring_init(mem, bytes, 8);
    unsigned pushed = 0;
    for (uint64_t i = 0; i < 20; i++) {
        record_t r = seq_record(i);
        pushed += ring_push_or_drop(ring, &r);
    }
    ck_assert_uint_eq(pushed, 8);
    ck_assert_uint_eq(ring_dropped(ring), 12);
    record_t frame[3] = {seq_record(100), seq_record(101), seq_record(102)};
    frame[0].payload_records = 2;
    ck_assert(!ring_push_or_drop_n(ring, frame, 3));
    ck_assert_uint_eq(ring_dropped(ring), 15); /* a framed event counts all its records */

    record_t out[16];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 16), 8);
    for (uint64_t i = 0; i < 8; i++)
        ck_assert(seq_record_ok(&out[i], i));
    /* The next record that fits comes behind a marker holding the loss. */
    record_t after = seq_record(20);
    ck_assert(ring_push_or_drop(ring, &after));
    ck_assert_uint_eq(ring_pop_batch(ring, out, 16), 2);
    ck_assert_uint_eq(out[0].kind, RECORD_DROPPED);
    ck_assert_uint_eq(out[0].count, 15);
    ck_assert_uint_eq(out[0].ts_ns, after.ts_ns);
    ck_assert(seq_record_ok(&out[1], 20));
    /* The marker is sent once; the counter keeps the total. */
    ck_assert(ring_push_or_drop(ring, &after));
    ck_assert_uint_eq(ring_pop_batch(ring, out, 16), 1);
    ck_assert(seq_record_ok(&out[0], 20));
    ck_assert_uint_eq(ring_dropped(ring), 15);
    free(mem);
}
END_TEST

START_TEST(indices_wrap_around_the_slots_over_many_laps)
{
    enum { CAPACITY = 8, LAPS = 5000 };
    size_t bytes;
    void *mem = ring_memory(CAPACITY, &bytes);
    ring_t *ring = ring_init(mem, bytes, CAPACITY);
    uint64_t next_push = 0, next_pop = 0;
    record_t out[CAPACITY];
    /* Batch sizes 1..7 against capacity 8 put every split point of a
     * two-part copy to work, on both sides. */
    for (unsigned lap = 0; lap < LAPS; lap++) {
        unsigned burst = 1 + lap % 7;
        for (unsigned k = 0; k < burst; k++) {
            record_t r = seq_record(next_push);
            if (!ring_try_push(ring, &r))
                break;
            next_push++;
        }
        size_t got = ring_pop_batch(ring, out, 1 + (lap * 3) % 7);
        for (size_t k = 0; k < got; k++, next_pop++)
            ck_assert_msg(seq_record_ok(&out[k], next_pop), "record %llu differs",
                          (unsigned long long)next_pop);
        ck_assert(ring_is_valid(ring));
    }
    size_t got;
    while ((got = ring_pop_batch(ring, out, CAPACITY)) > 0)
        for (size_t k = 0; k < got; k++, next_pop++)
            ck_assert(seq_record_ok(&out[k], next_pop));
    ck_assert_uint_eq(next_pop, next_push);
    ck_assert_uint_gt(next_push, (uint64_t)CAPACITY * 1000);
    free(mem);
}
END_TEST

START_TEST(a_framed_event_is_all_or_nothing_when_only_the_head_fits)
{
    size_t bytes;
    void *mem = ring_memory(8, &bytes);
    ring_t *ring = ring_init(mem, bytes, 8);
    for (uint64_t i = 0; i < 6; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_try_push(ring, &r));
    }
    /* A framed event: head plus two records of raw header bytes. */
    unsigned char header_bytes[RECORD_CORRUPTION_HEADER_BYTES];
    for (unsigned i = 0; i < sizeof header_bytes; i++)
        header_bytes[i] = (unsigned char)(0xa0 + i);
    record_t head = {.kind = RECORD_CORRUPTION, .class_index = 3, .addr = 0xdead0, .ts_ns = 77};
    record_t frame[4];
    size_t n = record_frame_write(frame, 4, &head, header_bytes, sizeof header_bytes);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(frame[0].payload_records, 2);

    /* Two free slots: the head and one payload record would fit, not all. */
    record_t out[8];
    ck_assert(!ring_try_push_n(ring, frame, n));
    ck_assert(!ring_push_or_drop_n(ring, frame, n));
    ck_assert_uint_eq(ring_dropped(ring), 3);
    ck_assert_uint_eq(ring_pop_batch(ring, out, 8), 6); /* nothing of the refused frame */
    for (uint64_t i = 0; i < 6; i++)
        ck_assert(seq_record_ok(&out[i], i));
    /* With room it goes in whole, behind the marker for the 3 lost. */
    ck_assert(ring_try_push_n(ring, frame, n));
    ck_assert_uint_eq(ring_pop_batch(ring, out, 8), 4);
    ck_assert_uint_eq(out[0].kind, RECORD_DROPPED);
    ck_assert_uint_eq(out[0].count, 3);
    unsigned char back[RECORD_CORRUPTION_HEADER_BYTES];
    ck_assert_uint_eq(record_frame_read(&out[1], 3, back, sizeof back), 3);
    ck_assert_uint_eq(out[1].kind, RECORD_CORRUPTION);
    ck_assert_uint_eq(out[1].addr, 0xdead0);
    ck_assert_mem_eq(back, header_bytes, sizeof header_bytes);
    /* An event as long as the ring can never fit. */
    record_t too_long[8] = {{0}};
    too_long[0].payload_records = 7;
    ck_assert(!ring_try_push_n(ring, too_long, 8));
    ck_assert(!ring_push_blocking_n(ring, too_long, 8, NULL, NULL));
    free(mem);
}
END_TEST

START_TEST(a_batch_never_ends_inside_a_framed_event)
{
    size_t bytes;
    void *mem = ring_memory(16, &bytes);
    ring_t *ring = ring_init(mem, bytes, 16);
    const char path[] = "/usr/lib/x86_64-linux-gnu/libexample.so.1"; /* 41 bytes: two records */
    record_t head = {.kind = RECORD_MODULE_LOAD, .class_index = RECORD_CLASS_NONE, .addr = 0x7f0000};
    head.payload_bytes = sizeof path - 1;
    record_t frame[4];
    size_t n = record_frame_write(frame, 4, &head, path, sizeof path - 1);
    ck_assert_uint_eq(n, 3);
    record_t one = seq_record(1);
    ck_assert(ring_try_push(ring, &one));
    ck_assert(ring_try_push_n(ring, frame, n));
    record_t out[16];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 2), 1); /* stops before the event */
    ck_assert_uint_eq(ring_pop_batch(ring, out, 2), 0); /* the event needs 3 */
    ck_assert_uint_eq(ring_pop_batch(ring, out, 3), 3);
    char back[2 * RECORD_BYTES];
    ck_assert_uint_eq(record_frame_read(out, 3, back, sizeof back), 3);
    ck_assert_uint_eq(out[0].payload_bytes, strlen(path));
    ck_assert_mem_eq(back, path, strlen(path));
    ck_assert_uint_eq(back[strlen(path)], 0); /* zero padding */
    ck_assert_uint_eq(record_frame_read(out, 2, back, sizeof back), 0); /* truncated */
    /* Payloads past what a uint8_t count can frame are refused. */
    ck_assert_uint_eq(record_frame_records(RECORD_PAYLOAD_BYTES_MAX), 1 + RECORD_PAYLOAD_RECORDS_MAX);
    ck_assert_uint_eq(record_frame_records(RECORD_PAYLOAD_BYTES_MAX + 1), 0);
    free(mem);
}
END_TEST

/* Two-thread run: the producer pushes THREADED_RECORDS sequence numbers,
 * with a framed event (sequence in the head, pattern in the payload) after
 * every THREADED_FRAME_EVERY; the consumer checks every one. */
struct threaded_run {
    ring_t *ring;
    uint64_t records;            /* sequence records to move */
    bool fast_first;             /* the producer tries the inline push first */
    bool consumer_naps;          /* the consumer sleeps once, so the ring fills */
    unsigned producer_work;      /* pause instructions a record: a program is slower than its collector */
    uint64_t skips_seen;         /* windows the producer came back from, seen by the consumer */
    atomic_bool consumer_failed; /* set when the consumer stops early */
    uint64_t consumed;           /* sequence records seen, records */
    uint64_t frames;             /* framed events seen, events */
    char error[160];             /* first failure, for the message */
};

static bool threaded_consumer_gone(void *arg)
{
    struct threaded_run *run = arg;
    return atomic_load(&run->consumer_failed);
}

static void threaded_frame(record_t frame[1 + THREADED_FRAME_PAYLOAD], uint64_t seq)
{
    uint64_t payload[THREADED_FRAME_PAYLOAD * RECORD_BYTES / sizeof(uint64_t)];
    for (size_t i = 0; i < sizeof payload / sizeof payload[0]; i++)
        payload[i] = seq ^ (i * 0x9e3779b97f4a7c15ull);
    record_t head = {.kind = RECORD_STACK_DEF, .class_index = RECORD_CLASS_NONE, .addr = seq};
    head.payload_bytes = sizeof payload;
    size_t n = record_frame_write(frame, 1 + THREADED_FRAME_PAYLOAD, &head, payload, sizeof payload);
    (void)n;
}

static void *threaded_producer(void *arg)
{
    struct threaded_run *run = arg;
    for (uint64_t seq = 0; seq < run->records; seq++) {
        record_t r = seq_record(seq);
        for (unsigned k = 0; k < run->producer_work; k++)
            lock_cpu_relax();
        if (!(run->fast_first && ring_push_fast(run->ring, &r, 1)) &&
            !ring_push_blocking(run->ring, &r, threaded_consumer_gone, run))
            break;
        if (seq % THREADED_FRAME_EVERY == THREADED_FRAME_EVERY - 1) {
            record_t frame[1 + THREADED_FRAME_PAYLOAD];
            threaded_frame(frame, seq);
            if (!ring_push_blocking_n(run->ring, frame, 1 + THREADED_FRAME_PAYLOAD,
                                      threaded_consumer_gone, run))
                break;
        }
    }
    ring_close(run->ring);
    return NULL;
}

static void *threaded_consumer(void *arg)
{
    struct threaded_run *run = arg;
    static record_t out[POP_MAX];
    uint64_t next = 0, since_nap = 0;
    for (;;) {
        uint64_t tail_before = atomic_load(&run->ring->tail);
        size_t got = ring_pop_batch(run->ring, out, POP_MAX);
        if (got > 0 && atomic_load(&run->ring->tail) - tail_before > got)
            run->skips_seen++; /* the pop stepped over the rest of a lap */
        since_nap += got;
        if (run->consumer_naps && since_nap >= 1000000) {
            run->consumer_naps = false; /* once, until the producer has filled the ring and waits */
            for (unsigned ms = 0; ms < 5000 && ring_waits(run->ring) == 0; ms++)
                usleep(1000);
        }
        if (got == 0) {
            if (ring_is_drained(run->ring))
                return NULL;
            continue;
        }
        for (size_t k = 0; k < got;) {
            if (out[k].kind == RECORD_STACK_DEF) {
                record_t want[1 + THREADED_FRAME_PAYLOAD];
                threaded_frame(want, next - 1);
                if (k + 1 + THREADED_FRAME_PAYLOAD > got ||
                    memcmp(&out[k], want, sizeof want) != 0) {
                    snprintf(run->error, sizeof run->error, "frame after %llu wrong or split",
                             (unsigned long long)(next - 1));
                    goto fail;
                }
                run->frames++;
                k += 1 + THREADED_FRAME_PAYLOAD;
                continue;
            }
            if (!seq_record_ok(&out[k], next)) {
                snprintf(run->error, sizeof run->error, "expected record %llu, found addr %llu kind %u",
                         (unsigned long long)next, (unsigned long long)out[k].addr, out[k].kind);
                goto fail;
            }
            next++;
            run->consumed = next;
            k++;
        }
    }
fail:
    atomic_store(&run->consumer_failed, true);
    return NULL;
}

/* A fresh run of `records` over a new ring of `capacity` (its memory,
 * which the caller frees, in *mem). */
static void threaded_prepare(struct threaded_run *run, size_t capacity, uint64_t records, void **mem)
{
    size_t bytes;
    *mem = ring_memory(capacity, &bytes);
    memset(run, 0, sizeof *run);
    run->ring = ring_init(*mem, bytes, capacity);
    run->records = records;
}

/* Runs the producer and the consumer thread over run->ring until both
 * are done; every record and framed event must have arrived once, in
 * order, none dropped, the ring drained. */
static void threaded_move(struct threaded_run *run)
{
    pthread_t producer, consumer;
    ck_assert_int_eq(pthread_create(&consumer, NULL, threaded_consumer, run), 0);
    ck_assert_int_eq(pthread_create(&producer, NULL, threaded_producer, run), 0);
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);
    ck_assert_msg(!atomic_load(&run->consumer_failed), "consumer: %s", run->error);
    ck_assert_uint_eq(run->consumed, run->records);
    ck_assert_uint_eq(run->frames, run->records / THREADED_FRAME_EVERY);
    ck_assert_uint_eq(ring_dropped(run->ring), 0);
    ck_assert(ring_is_drained(run->ring));
}

START_TEST(a_producer_and_a_consumer_thread_move_ten_million_records_in_order)
{
    static struct threaded_run run;
    void *mem;
    threaded_prepare(&run, THREADED_CAPACITY, THREADED_RECORDS, &mem);
    threaded_move(&run);
    ck_assert(ring_release(run.ring));
    ck_assert_uint_eq(atomic_load(&run.ring->state), RING_STATE_FREE);
    free(mem);
}
END_TEST

/* The same two threads over a ring of sixteen windows, the producer trying
 * the inline push first and the consumer napping once: the
 * producer goes back to the start whenever the consumer is close behind
 * and runs on through the whole ring when it is not; every record and
 * framed event still arrives once, in order. */
START_TEST(two_threads_move_every_record_in_order_through_a_ring_that_rewinds)
{
    static struct threaded_run run;
    void *mem;
    threaded_prepare(&run, WINDOWED_THREADED_CAPACITY, WINDOWED_RECORDS, &mem);
    run.fast_first = true;
    run.consumer_naps = true;
    run.producer_work = 16;
    threaded_move(&run);
    ck_assert_uint_gt(run.skips_seen, 0);        /* it went back to the start */
    ck_assert_uint_gt(ring_waits(run.ring), 0);  /* and ran full while the consumer napped */
    free(mem);
}
END_TEST

/* A ring of WINDOWED_CAPACITY records; its memory in *mem. */
static ring_t *windowed_ring(void **mem)
{
    size_t bytes;
    *mem = ring_memory(WINDOWED_CAPACITY, &bytes);
    return ring_init(*mem, bytes, WINDOWED_CAPACITY);
}

/* Pushes `count` sequence records from `*seq` on, inline where it may and
 * by the slow push where not, popping (and checking) whenever `every`
 * records are waiting; returns the highest slot written. */
static uint64_t push_and_keep_up(ring_t *ring, uint64_t *seq, uint64_t *popped, uint64_t count,
                                 uint64_t every)
{
    static record_t out[256];
    uint64_t highest = 0;
    for (uint64_t i = 0; i < count; i++, (*seq)++) {
        record_t r = seq_record(*seq);
        if (!ring_push_fast(ring, &r, 1))
            ck_assert(ring_try_push(ring, &r));
        uint64_t slot = (ring_head_mine(ring) - 1) & (ring->capacity - 1);
        if (slot > highest)
            highest = slot;
        while (ring_head_mine(ring) - atomic_load(&ring->tail) >= every) {
            size_t got = ring_pop_batch(ring, out, 256);
            ck_assert_uint_gt(got, 0);
            for (size_t k = 0; k < got; k++, (*popped)++)
                ck_assert_msg(seq_record_ok(&out[k], *popped), "record %llu", (unsigned long long)*popped);
        }
    }
    return highest;
}

START_TEST(a_producer_whose_consumer_keeps_up_writes_only_the_first_window)
{
    void *mem;
    ring_t *ring = windowed_ring(&mem);
    uint64_t seq = 0, popped = 0;
    /* Three rings' worth, the consumer never more than 64 records behind. */
    uint64_t highest = push_and_keep_up(ring, &seq, &popped, 3ull * WINDOWED_CAPACITY, 64);
    ck_assert_uint_lt(highest, RING_WINDOW);
    ck_assert_uint_gt(ring_head_mine(ring), 3ull * WINDOWED_CAPACITY); /* it did skip */
    /* A consumer half a window behind at a boundary is not close enough:
     * the producer runs on into the second window. */
    highest = push_and_keep_up(ring, &seq, &popped, 3ull * RING_WINDOW, RING_WINDOW / 2);
    ck_assert_uint_ge(highest, RING_WINDOW);
    free(mem);
}
END_TEST

/* A give_up that plays the consumer: pops what is there, then says go on. */
struct popping_consumer {
    ring_t *ring;
    uint64_t popped;
};

static bool give_up_after_popping(void *arg)
{
    struct popping_consumer *c = arg;
    static record_t out[256];
    size_t got;
    while ((got = ring_pop_batch(c->ring, out, 256)) > 0)
        for (size_t k = 0; k < got; k++, c->popped++)
            ck_assert(seq_record_ok(&out[k], c->popped));
    return false;
}

/* Fills the ring with nobody popping. */
static void fill_ring(ring_t *ring, uint64_t *seq)
{
    while (ring_head_mine(ring) - atomic_load(&ring->tail) < ring->capacity) {
        record_t r = seq_record((*seq)++);
        ck_assert(ring_try_push(ring, &r));
    }
}

/* Fills the ring; the push after that waits until its give_up (the
 * consumer here) pops everything. */
static void fill_and_wait(ring_t *ring, uint64_t *seq, struct popping_consumer *consumer)
{
    fill_ring(ring, seq);
    record_t r = seq_record((*seq)++);
    ck_assert(ring_push_blocking(ring, &r, give_up_after_popping, consumer));
}

/* With the consumer close behind, a producer whose window has doubled once
 * goes back to the start at the end of its second window. */
static void assert_cycles_through_two_windows(ring_t *ring, uint64_t *seq, uint64_t *popped)
{
    uint64_t highest = push_and_keep_up(ring, seq, popped, 2ull * WINDOWED_CAPACITY, 64);
    ck_assert_uint_ge(highest, RING_WINDOW);
    ck_assert_uint_lt(highest, 2 * RING_WINDOW);
}

START_TEST(each_wait_for_room_doubles_the_window_the_producer_cycles_through)
{
    void *mem;
    ring_t *ring = windowed_ring(&mem);
    uint64_t seq = 0;
    struct popping_consumer consumer = {.ring = ring};
    fill_and_wait(ring, &seq, &consumer);
    ck_assert_uint_eq(ring_waits(ring), 1);
    assert_cycles_through_two_windows(ring, &seq, &consumer.popped);
    /* After a second wait, four windows: the whole ring. */
    fill_and_wait(ring, &seq, &consumer);
    ck_assert_uint_eq(ring_waits(ring), 2);
    uint64_t highest = push_and_keep_up(ring, &seq, &consumer.popped, 2ull * WINDOWED_CAPACITY, 64);
    ck_assert_uint_eq(highest, WINDOWED_CAPACITY - 1);
    free(mem);
}
END_TEST

START_TEST(a_drop_on_a_full_ring_doubles_the_window_as_a_wait_does)
{
    void *mem;
    ring_t *ring = windowed_ring(&mem);
    uint64_t seq = 0;
    struct popping_consumer consumer = {.ring = ring};
    fill_ring(ring, &seq);
    record_t lost = seq_record(999999);
    ck_assert(!ring_push_or_drop(ring, &lost));
    ck_assert_uint_eq(ring_dropped(ring), 1);
    give_up_after_popping(&consumer);
    /* The DROPPED marker comes first; then the consumer keeps up. */
    record_t r = seq_record(seq++);
    ck_assert(ring_push_or_drop(ring, &r));
    record_t out[2];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 2), 2);
    ck_assert_uint_eq(out[0].kind, RECORD_DROPPED);
    ck_assert(seq_record_ok(&out[1], consumer.popped++));
    assert_cycles_through_two_windows(ring, &seq, &consumer.popped);
    free(mem);
}
END_TEST

/* Slots the consumer must not take for a SKIP, and passes on as data: one
 * whose skip the head does not cover (not published by the producer,
 * which publishes a SKIP with the event after it: a wild write), and a
 * continuation record that happens to carry the SKIP kind byte at a
 * window boundary. Either way the ring goes on. */
START_TEST(a_skip_is_taken_only_where_the_producer_could_have_written_one)
{
    void *mem;
    ring_t *ring = windowed_ring(&mem);
    static record_t out[POP_MAX];
    /* The consumer at the first window boundary, head two records past it. */
    atomic_store(&ring->head, RING_WINDOW);
    atomic_store(&ring->tail, RING_WINDOW);
    record_t *slots = ring_slots(ring);
    slots[RING_WINDOW] = (record_t){.kind = RECORD_SKIP};
    slots[RING_WINDOW + 1] = seq_record(7);
    atomic_store(&ring->head, RING_WINDOW + 2);
    ck_assert_uint_eq(ring_pop_batch(ring, out, POP_MAX), 2);
    ck_assert_uint_eq(out[0].kind, RECORD_SKIP);
    ck_assert(seq_record_ok(&out[1], 7));
    ck_assert_uint_eq(atomic_load(&ring->tail), RING_WINDOW + 2);
    /* An event whose continuation sits on the boundary: delivered whole. */
    atomic_store(&ring->head, RING_WINDOW - 1);
    atomic_store(&ring->tail, RING_WINDOW - 1);
    ring->cached_head = RING_WINDOW - 1;
    record_t head = seq_record(9);
    head.payload_records = 1;
    slots[RING_WINDOW - 1] = head;
    slots[RING_WINDOW] = (record_t){.kind = RECORD_SKIP, .addr = 42};
    atomic_store(&ring->head, RING_WINDOW + 1);
    ck_assert_uint_eq(ring_pop_batch(ring, out, POP_MAX), 2);
    ck_assert_uint_eq(out[1].kind, RECORD_SKIP);
    ck_assert_uint_eq(out[1].addr, 42);
    ck_assert_uint_eq(atomic_load(&ring->tail), RING_WINDOW + 1);
    free(mem);
}
END_TEST

/* Says the consumer is gone on its `after`-th call. */
struct give_up_after {
    unsigned calls; /* calls so far */
    unsigned after; /* call that answers true */
};

static bool give_up_counting(void *arg)
{
    struct give_up_after *g = arg;
    return ++g->calls >= g->after;
}

/* A ring of 4 records, filled by blocking pushes that found room (no
 * wait); its memory in *mem. */
static ring_t *full_ring_of_four(void **mem)
{
    size_t bytes;
    *mem = ring_memory(4, &bytes);
    ring_t *ring = ring_init(*mem, bytes, 4);
    for (uint64_t i = 0; i < 4; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_push_blocking(ring, &r, NULL, NULL));
    }
    ck_assert_uint_eq(ring_waits(ring), 0);
    return ring;
}

START_TEST(unwinds_counted_by_the_producer_start_at_zero_and_reach_the_consumer)
{
    size_t bytes;
    void *mem = ring_memory(4, &bytes);
    memset(mem, 0xa5, bytes); /* a reused slot's old bytes */
    ring_t *ring = ring_init(mem, bytes, 4);
    ck_assert_uint_eq(ring_unwinds(ring), 0);
    for (int i = 0; i < 3; i++)
        ring_count_unwind(ring);
    ck_assert_uint_eq(ring_unwinds(ring_attach(mem, bytes)), 3);
    free(mem);
}
END_TEST

START_TEST(a_blocking_push_gives_up_when_the_consumer_is_gone)
{
    void *mem;
    ring_t *ring = full_ring_of_four(&mem);
    /* Enough calls to go through the spin, yield and sleep phases, the
     * sleeps up to their longest (10, 20, 40, 80, then 160 ms). */
    struct give_up_after g = {0, 12};
    record_t r = seq_record(4);
    ck_assert(!ring_push_blocking(ring, &r, give_up_counting, &g));
    ck_assert_uint_eq(g.calls, 12);
    ck_assert_uint_eq(ring_dropped(ring), 1); /* the record given up on is counted */
    record_t out[4];
    ck_assert_uint_eq(ring_pop_batch(ring, out, 4), 4);
    ck_assert(seq_record_ok(&out[3], 3));
    free(mem);
}
END_TEST

struct blocked_push {
    ring_t *ring;
    bool pushed;
};

static void *push_into_full_ring(void *arg)
{
    struct blocked_push *b = arg;
    record_t r = seq_record(4);
    b->pushed = ring_push_blocking(b->ring, &r, NULL, NULL);
    return NULL;
}

START_TEST(a_push_that_waits_on_a_full_ring_is_counted_with_the_time_it_waited)
{
    size_t bytes;
    void *mem = ring_memory(4, &bytes);
    ring_t *ring = ring_init(mem, bytes, 4);
    for (uint64_t i = 0; i < 4; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_push_blocking(ring, &r, NULL, NULL)); /* room: no wait */
    }
    ck_assert_uint_eq(ring_waits(ring), 0);
    struct blocked_push b = {ring, false};
    pthread_t producer;
    ck_assert_int_eq(pthread_create(&producer, NULL, push_into_full_ring, &b), 0);
    /* The wait is counted as it begins (its clock started before). */
    while (ring_waits(ring) == 0)
        sched_yield();
    uint64_t waiting_ns = prim_now_ns();
    /* Long enough for the producer to spin, yield and fall asleep. */
    struct timespec pause = {0, 30000000};
    nanosleep(&pause, NULL);
    record_t out[4];
    uint64_t popped_ns = prim_now_ns();
    ck_assert_uint_eq(ring_pop_batch(ring, out, 1), 1); /* wakes it */
    ck_assert_int_eq(pthread_join(producer, NULL), 0);
    ck_assert(b.pushed);
    ck_assert_uint_eq(ring_waits(ring), 1);
    ck_assert_uint_ge(ring_wait_ns(ring), popped_ns - waiting_ns);
    ck_assert_uint_eq(ring_pop_batch(ring, out, 4), 4);
    ck_assert(seq_record_ok(&out[3], 4));
    ck_assert_uint_eq(ring_dropped(ring), 0);
    free(mem);
}
END_TEST

/* For the fork test: waiting is pointless once the child has exited. */
struct fork_child {
    pid_t pid;   /* the consumer process */
    bool exited; /* reaped by the predicate */
    int status;  /* its wait status once exited */
};

static bool fork_child_gone(void *arg)
{
    struct fork_child *c = arg;
    if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        c->exited = true;
    return c->exited;
}

/* Child: attaches as the collector will, pops until the ring is drained,
 * and exits 0 only if every sequence number arrived once and in order. */
static void fork_consume(void *mem, size_t bytes)
{
    ring_t *ring = ring_attach(mem, bytes);
    if (ring == NULL)
        _exit(2);
    record_t out[64];
    uint64_t next = 0;
    for (;;) {
        size_t got = ring_pop_batch(ring, out, 64);
        if (got == 0) {
            if (ring_is_drained(ring))
                break;
            continue;
        }
        for (size_t k = 0; k < got; k++, next++)
            if (!seq_record_ok(&out[k], next))
                _exit(3);
    }
    _exit(next == FORK_RECORDS ? 0 : 4);
}

START_TEST(a_forked_child_consumes_a_ring_in_a_shared_mapping)
{
    size_t bytes = ring_bytes_for(FORK_CAPACITY);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(mem, MAP_FAILED);
    ring_t *ring = ring_init(mem, bytes, FORK_CAPACITY);
    ck_assert_ptr_nonnull(ring);
    struct fork_child child = {0};
    child.pid = fork();
    ck_assert_int_ge(child.pid, 0);
    if (child.pid == 0)
        fork_consume(mem, bytes);
    uint64_t pushed = 0;
    for (; pushed < FORK_RECORDS; pushed++) {
        record_t r = seq_record(pushed);
        if (!ring_push_blocking(ring, &r, fork_child_gone, &child))
            break;
    }
    ring_close(ring);
    ck_assert_uint_eq(pushed, FORK_RECORDS);
    if (!child.exited)
        ck_assert_int_eq(waitpid(child.pid, &child.status, 0), child.pid);
    ck_assert(WIFEXITED(child.status));
    ck_assert_int_eq(WEXITSTATUS(child.status), 0);
    ck_assert(ring_is_drained(ring));
    munmap(mem, bytes);
}
END_TEST

START_TEST(a_consumer_that_knows_the_capacity_reads_only_its_slots_whatever_the_header_says)
{
    /* The producer (another process) may overwrite the whole header: the
     * collector reduces every index by its own copy of the capacity, and
     * sees the damage. The memory ends right after the 8 slots, so a read
     * past them is an AddressSanitizer error. */
    size_t bytes;
    void *mem = ring_memory(8, &bytes);
    ring_t *ring = ring_init(mem, bytes, 8);
    for (uint64_t i = 0; i < 5; i++) {
        record_t r = seq_record(i);
        ck_assert(ring_try_push(ring, &r));
    }
    record_t out[16];
    ck_assert_uint_eq(ring_pop_batch_sized(ring, 8, out, 2), 2);
    ring->capacity = 1u << 20;                      /* a bigger power of two */
    atomic_store(&ring->tail, (1ull << 19) + 2);   /* lands far past slot 7 */
    atomic_store(&ring->head, (1ull << 19) + 5);
    ck_assert(!ring_is_intact(ring, 8));
    size_t got = ring_pop_batch_sized(ring, 8, out, 16);
    ck_assert_uint_le(got, 8);
    ring->cached_head = UINT64_MAX;                 /* the consumer's line too */
    atomic_store(&ring->head, atomic_load(&ring->tail) + 1000);
    ck_assert_uint_eq(ring_pop_batch_sized(ring, 8, out, 16), 0);
    ring->capacity = 8;
    ck_assert(!ring_is_intact(ring, 8)); /* head - tail beyond 8 */
    ck_assert_uint_eq(ring_pop_batch_sized(ring, 6, out, 16), 0); /* not a power of two */
    free(mem);
}
END_TEST

/* Says the consumer is gone once `limit_ns` have passed since `start_ns`,
 * counting the calls until then. */
struct give_up_later {
    uint64_t start_ns, limit_ns;
    unsigned calls;
};

static bool give_up_after_time(void *arg)
{
    struct give_up_later *g = arg;
    g->calls++;
    return prim_now_ns() - g->start_ns >= g->limit_ns;
}

START_TEST(a_long_wait_sleeps_longer_and_longer_between_checks)
{
    /* A second on a consumer that never pops: 4 yields, then sleeps of 10,
     * 20, 40, 80 and 160 ms, so about 14 checks. A thousand waiting
     * processes each woken every 10 ms took the CPU from the collector. */
    void *mem;
    ring_t *ring = full_ring_of_four(&mem);
    struct give_up_later g = {prim_now_ns(), 1000000000ull, 0};
    record_t r = seq_record(4);
    ck_assert(!ring_push_blocking(ring, &r, give_up_after_time, &g));
    ck_assert_msg(g.calls >= 5 && g.calls <= 30, "%u checks in a second's wait", g.calls);
    free(mem);
}
END_TEST

Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("single_thread");
    tcase_set_timeout(tc, 60); /* the window tests move a few rings' worth each */
    tcase_add_test(tc, init_rejects_a_capacity_that_is_not_a_power_of_two);
    tcase_add_test(tc, init_rejects_memory_too_small_misaligned_or_null);
    tcase_add_test(tc, attach_accepts_an_initialised_ring_and_rejects_a_smashed_one);
    tcase_add_test(tc, pushed_records_pop_in_order_with_identical_content);
    tcase_add_test(tc, unwinds_counted_by_the_producer_start_at_zero_and_reach_the_consumer);
    tcase_add_test(tc, free_records_name_the_allocation_they_undo_by_its_timestamp);
    tcase_add_test(tc, records_built_as_words_keep_every_field_in_its_place);
    tcase_add_test(tc, a_record_pushed_as_words_pops_intact_and_the_push_declines_when_full);
    tcase_add_test(tc, a_full_ring_refuses_try_push_until_the_consumer_pops);
    tcase_add_test(tc, push_or_drop_counts_exactly_the_dropped_records_and_marks_the_gap);
    tcase_add_test(tc, indices_wrap_around_the_slots_over_many_laps);
    tcase_add_test(tc, a_framed_event_is_all_or_nothing_when_only_the_head_fits);
    tcase_add_test(tc, a_batch_never_ends_inside_a_framed_event);
    tcase_add_test(tc, a_blocking_push_gives_up_when_the_consumer_is_gone);
    tcase_add_test(tc, a_long_wait_sleeps_longer_and_longer_between_checks);
    tcase_add_test(tc, a_consumer_that_knows_the_capacity_reads_only_its_slots_whatever_the_header_says);
    tcase_add_test(tc, a_producer_whose_consumer_keeps_up_writes_only_the_first_window);
    tcase_add_test(tc, each_wait_for_room_doubles_the_window_the_producer_cycles_through);
    tcase_add_test(tc, a_drop_on_a_full_ring_doubles_the_window_as_a_wait_does);
    tcase_add_test(tc, a_skip_is_taken_only_where_the_producer_could_have_written_one);
    suite_add_tcase(s, tc);
    TCase *tc_conc = tcase_create("concurrent");
    tcase_set_timeout(tc_conc, 300);
    tcase_add_test(tc_conc, a_producer_and_a_consumer_thread_move_ten_million_records_in_order);
    tcase_add_test(tc_conc, two_threads_move_every_record_in_order_through_a_ring_that_rewinds);
    tcase_add_test(tc_conc, a_forked_child_consumes_a_ring_in_a_shared_mapping);
    tcase_add_test(tc_conc, a_push_that_waits_on_a_full_ring_is_counted_with_the_time_it_waited);
    suite_add_tcase(s, tc_conc);
    return s;
}

CHECK_SUPPORT_MAIN(ring_suite)
