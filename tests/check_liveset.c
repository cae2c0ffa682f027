/* check_liveset.c - tracer/collector/liveset.c: the live allocations of a
 * process packed into 32-byte slots. What can go wrong is the packing:
 * an entry that comes back with another entry's sizes, sizes cut to 32
 * bits, an aligned block's usable size replaced by its class's payload, a
 * pending free's time lost, or the second slot of a wide entry left behind
 * or taken with the wrong head (two allocations of one address, told apart
 * by their timestamps). Each test puts entries with known fields, takes
 * them back and compares every field; the mixed test does it for 100,000
 * entries of every shape through several growths of the table, checking
 * the slot count (one per fitting entry, two per other) as it goes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "liveset.h"

/* Three classes, as a class table gives them. */
static const uint64_t payloads[3] = {64, 1024, 65536};
#define LARGE_CLASS 3u

static void set_up(struct liveset *s)
{
    liveset_init(s);
    liveset_set_classes(s, payloads, 3);
}

static struct live_entry live(uint64_t addr, uint64_t ts, uint64_t requested, uint64_t usable,
                              unsigned cls)
{
    return (struct live_entry){.addr = addr, .alloc_ts = ts, .requested = requested,
                               .usable = usable, .class_id = (uint8_t)cls,
                               .stack_id = (uint32_t)(ts * 7 + 3), .thread_id = (uint32_t)(ts + 1000)};
}

static void same_entry(const struct live_entry *got, const struct live_entry *want)
{
    ck_assert_uint_eq(got->addr, want->addr);
    ck_assert_uint_eq(got->alloc_ts, want->alloc_ts);
    ck_assert_uint_eq(got->requested, want->requested);
    ck_assert_uint_eq(got->usable, want->usable);
    ck_assert_uint_eq(got->stack_id, want->stack_id);
    ck_assert_uint_eq(got->thread_id, want->thread_id);
    ck_assert_uint_eq(got->class_id, want->class_id);
    ck_assert_uint_eq(got->pending_free, want->pending_free);
    ck_assert_uint_eq(got->free_ts, want->free_ts);
    ck_assert_uint_eq(got->free_thread, want->free_thread);
}

/* Takes want's entry back (a pending free if want is one) and checks
 * every field of what came. */
static void take_back(struct liveset *s, const struct live_entry *want)
{
    struct live_entry got;
    ck_assert(liveset_take(s, want->addr, want->alloc_ts, want->pending_free, &got));
    same_entry(&got, want);
}

START_TEST(a_plain_allocation_takes_one_slot_and_comes_back_whole)
{
    struct liveset s;
    set_up(&s);
    struct live_entry want = live(0x7f0000001040, 5000, 1000, 1024, 1), got;
    ck_assert(liveset_put(&s, &want));
    ck_assert_uint_eq(liveset_slots(&s), 1);
    ck_assert(!liveset_take(&s, want.addr, want.alloc_ts, true, &got)); /* not a pending free */
    take_back(&s, &want);
    ck_assert_uint_eq(liveset_slots(&s), 0);
    ck_assert(!liveset_take(&s, want.addr, want.alloc_ts, false, &got));
    liveset_free(&s);
}
END_TEST

START_TEST(entries_whose_sizes_do_not_follow_from_their_class_take_two_slots_and_come_back_whole)
{
    struct liveset s;
    set_up(&s);
    struct live_entry want[] = {
        live(0x10000, 1, 40u << 20, 41u << 20, LARGE_CLASS),            /* the large class */
        live(0x20000, 2, 10, 1024 - 48, 1),                              /* aligned: payload - offset */
        live(0x30000, 3, (uint64_t)5 << 32, ((uint64_t)5 << 32) + 4096, LARGE_CLASS), /* over 4 GiB */
        live(0x40000, 4, 64, 64, 9),                                     /* a class beyond the table */
    };
    size_t n = sizeof want / sizeof want[0];
    for (size_t i = 0; i < n; i++)
        ck_assert(liveset_put(&s, &want[i]));
    ck_assert_uint_eq(liveset_slots(&s), 2 * n);
    for (size_t i = 0; i < n; i++)
        take_back(&s, &want[i]);
    ck_assert_uint_eq(liveset_slots(&s), 0);
    liveset_free(&s);
}
END_TEST

START_TEST(a_pending_free_comes_back_with_its_free_time_and_thread)
{
    struct liveset s;
    set_up(&s);
    struct live_entry want = {.addr = 0x5000, .alloc_ts = 77, .free_ts = 99, .thread_id = 4242,
                              .class_id = 0, .pending_free = 1, .free_thread = 17},
                      got;
    ck_assert(liveset_put(&s, &want));
    ck_assert(!liveset_take(&s, want.addr, want.alloc_ts, false, &got)); /* not live */
    ck_assert_uint_eq(liveset_pending(&s), 1);
    take_back(&s, &want);
    ck_assert_uint_eq(liveset_slots(&s), 0);
    ck_assert_uint_eq(liveset_pending(&s), 0);
    liveset_free(&s);
}
END_TEST

START_TEST(two_allocations_of_one_address_are_told_apart_by_their_timestamps)
{
    struct liveset s;
    set_up(&s);
    struct live_entry a = live(0x9000, 10, 50, 64, 0), b = live(0x9000, 20, 40u << 20, 41u << 20, LARGE_CLASS);
    struct live_entry freed = {.addr = 0x9000, .alloc_ts = 5, .free_ts = 6, .thread_id = 1,
                               .pending_free = 1, .free_thread = 2};
    ck_assert(liveset_put(&s, &b));
    ck_assert(liveset_put(&s, &freed));
    ck_assert(liveset_put(&s, &a));
    take_back(&s, &b);
    take_back(&s, &a);
    take_back(&s, &freed);
    ck_assert_uint_eq(liveset_slots(&s), 0);
    liveset_free(&s);
}
END_TEST

START_TEST(an_odd_or_null_address_is_refused_and_changes_nothing)
{
    struct liveset s;
    set_up(&s);
    struct live_entry wide = live(0x8000, 3, 40u << 20, 41u << 20, LARGE_CLASS);
    ck_assert(liveset_put(&s, &wide));
    /* One past a wide entry's address is where its second slot is keyed. */
    struct live_entry odd = live(0x8001, 3, 10, 64, 0), got;
    ck_assert(!liveset_put(&s, &odd));
    ck_assert(!liveset_take(&s, 0x8001, 3, false, &got));
    struct live_entry null_block = live(0, 3, 10, 64, 0); /* 0 marks an empty slot */
    ck_assert(!liveset_put(&s, &null_block));
    ck_assert_uint_eq(liveset_slots(&s), 2);
    take_back(&s, &wide);
    liveset_free(&s);
}
END_TEST

/* Entry i of the mixed test: every fourth needs two slots, every seventh
 * is a pending free; addresses of neighbouring blocks, so runs collide. */
static struct live_entry mixed(uint64_t i)
{
    uint64_t addr = 0x7f0000000000 + i * 64;
    if (i % 7 == 0)
        return (struct live_entry){.addr = addr, .alloc_ts = i + 1, .free_ts = i + 2,
                                   .thread_id = (uint32_t)i, .pending_free = 1,
                                   .free_thread = (uint32_t)(i % 13)};
    if (i % 4 == 0)
        return live(addr, i + 1, i * 3, i * 3 + 4096, LARGE_CLASS);
    return live(addr, i + 1, i % 60 + 1, 64, 0);
}

struct visit {
    size_t seen;
    uint64_t bytes;
};

static void visit_one(const struct live_entry *e, void *arg)
{
    struct visit *v = arg;
    ck_assert(!e->pending_free);
    uint64_t i = (e->addr - 0x7f0000000000) / 64;
    struct live_entry want = mixed(i);
    same_entry(e, &want);
    v->seen++;
    v->bytes += e->requested;
}

START_TEST(a_hundred_thousand_entries_of_every_shape_survive_growth_each_and_dropping_the_pending)
{
    enum { N = 100000 };
    struct liveset s;
    set_up(&s);
    size_t slots = 0, live_count = 0, pending = 0;
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < N; i++) {
        struct live_entry e = mixed(i);
        ck_assert(liveset_put(&s, &e));
        bool wide = e.pending_free || e.class_id == LARGE_CLASS;
        slots += wide ? 2 : 1;
        if (e.pending_free) {
            pending++;
        } else {
            live_count++;
            bytes += e.requested;
        }
    }
    ck_assert_uint_eq(liveset_slots(&s), slots);
    struct visit v = {0, 0};
    liveset_each(&s, visit_one, &v);
    ck_assert_uint_eq(v.seen, live_count);
    ck_assert_uint_eq(v.bytes, bytes);
    /* Take every third live entry back, then drop the pending frees: the
     * rest must be exactly what is left. */
    for (uint64_t i = 0; i < N; i += 3) {
        struct live_entry want = mixed(i);
        if (want.pending_free)
            continue;
        take_back(&s, &want);
        live_count--;
        bytes -= want.requested;
    }
    ck_assert_uint_eq(liveset_pending(&s), pending);
    ck_assert_uint_eq(liveset_drop_pending(&s), pending);
    ck_assert_uint_eq(liveset_pending(&s), 0);
    v = (struct visit){0, 0};
    liveset_each(&s, visit_one, &v);
    ck_assert_uint_eq(v.seen, live_count);
    ck_assert_uint_eq(v.bytes, bytes);
    ck_assert_uint_eq(liveset_drop_pending(&s), 0);
    liveset_free(&s);
}
END_TEST

START_TEST(each_and_dropping_the_pending_see_the_entries_a_growth_has_not_moved_yet)
{
    struct liveset s;
    set_up(&s);
    size_t live_count = 0, pending = 0;
    uint64_t bytes = 0, i = 0;
    /* Until a growth is under way with the table past its first sizes. */
    while (s.tab.old == NULL || s.tab.cap < 16384) {
        struct live_entry e = mixed(i++);
        ck_assert(liveset_put(&s, &e));
        if (e.pending_free) {
            pending++;
        } else {
            live_count++;
            bytes += e.requested;
        }
    }
    ck_assert_ptr_nonnull(s.tab.old);
    struct visit v = {0, 0};
    liveset_each(&s, visit_one, &v);
    ck_assert_uint_eq(v.seen, live_count);
    ck_assert_uint_eq(v.bytes, bytes);
    ck_assert_uint_eq(liveset_drop_pending(&s), pending);
    v = (struct visit){0, 0};
    liveset_each(&s, visit_one, &v);
    ck_assert_uint_eq(v.seen, live_count);
    liveset_free(&s);
}
END_TEST

Suite *liveset_suite(void)
{
    Suite *s = suite_create("liveset");
    TCase *tc = tcase_create("packing");
    tcase_add_test(tc, a_plain_allocation_takes_one_slot_and_comes_back_whole);
    tcase_add_test(tc, entries_whose_sizes_do_not_follow_from_their_class_take_two_slots_and_come_back_whole);
    tcase_add_test(tc, a_pending_free_comes_back_with_its_free_time_and_thread);
    tcase_add_test(tc, two_allocations_of_one_address_are_told_apart_by_their_timestamps);
    tcase_add_test(tc, an_odd_or_null_address_is_refused_and_changes_nothing);
    tcase_add_test(tc, a_hundred_thousand_entries_of_every_shape_survive_growth_each_and_dropping_the_pending);
    tcase_add_test(tc, each_and_dropping_the_pending_see_the_entries_a_growth_has_not_moved_yet);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(liveset_suite)
