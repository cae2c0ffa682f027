/* check_ptrset.c - the mmap-backed address set (ptrset.c): insert, contains
 * and remove on single keys; an empty set that has never mapped a table;
 * growth past thousands of keys with every key still found; reinsertion
 * after removal; ptrset_each visiting each key exactly once; a million
 * insert/remove pairs leaving the set correct with its capacity bounded (the
 * deleted markers must be reclaimed, not accumulate); an insert that cannot
 * map a bigger table (prim_fail_next_maps) failing cleanly with the old keys
 * intact; and destroy. Keys are 64-aligned, like the addresses the large
 * registry stores. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "prim.h"
#include "ptrset.h"

static struct ptrset set;

static void setup_set(void)
{
    memset(&set, 0, sizeof set);
}

static void teardown_set(void)
{
    ptrset_destroy(&set);
    prim_fail_next_maps(0);
}

/* The i-th test key: 64-aligned and never 0 or 1 (the reserved markers). */
static uintptr_t key(size_t i)
{
    return (uintptr_t)0x7f0000000000ull + (uintptr_t)i * 64;
}

/* ---- single keys ---------------------------------------------------------- */

START_TEST(an_empty_set_contains_nothing)
{
    ck_assert(!ptrset_contains(&set, key(0)));
    ck_assert_uint_eq(set.count, 0);
}
END_TEST

START_TEST(removing_from_an_empty_set_reports_absence)
{
    ck_assert(!ptrset_remove(&set, key(0)));
}
END_TEST

START_TEST(an_inserted_key_is_contained)
{
    ck_assert(ptrset_insert(&set, key(7)));
    ck_assert(ptrset_contains(&set, key(7)));
    ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(a_key_that_was_not_inserted_is_not_contained)
{
    ck_assert(ptrset_insert(&set, key(7)));
    ck_assert(!ptrset_contains(&set, key(8)));
}
END_TEST

START_TEST(inserting_a_key_twice_stores_it_once)
{
    ck_assert(ptrset_insert(&set, key(3)));
    ck_assert(ptrset_insert(&set, key(3)));
    ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(a_removed_key_is_no_longer_contained)
{
    ptrset_insert(&set, key(3));
    ck_assert(ptrset_remove(&set, key(3)));
    ck_assert(!ptrset_contains(&set, key(3)));
    ck_assert_uint_eq(set.count, 0);
}
END_TEST

START_TEST(removing_a_key_twice_reports_absence_the_second_time)
{
    ptrset_insert(&set, key(3));
    ck_assert(ptrset_remove(&set, key(3)));
    ck_assert(!ptrset_remove(&set, key(3)));
}
END_TEST

START_TEST(removing_one_key_leaves_the_others)
{
    for (size_t i = 0; i < 100; i++)
        ptrset_insert(&set, key(i));
    ptrset_remove(&set, key(50));
    for (size_t i = 0; i < 100; i++)
        ck_assert_msg(ptrset_contains(&set, key(i)) == (i != 50), "key %zu", i);
    ck_assert_uint_eq(set.count, 99);
}
END_TEST

START_TEST(a_key_can_be_inserted_again_after_removal)
{
    ptrset_insert(&set, key(3));
    ptrset_remove(&set, key(3));
    ck_assert(ptrset_insert(&set, key(3)));
    ck_assert(ptrset_contains(&set, key(3)));
    ck_assert_uint_eq(set.count, 1);
}
END_TEST

START_TEST(reinserting_a_key_behind_a_deleted_slot_does_not_duplicate_it)
{
    /* Fill a run of neighbours, delete an early one, then insert a later
     * one again: it must be found past the deleted marker, not stored in it. */
    for (size_t i = 0; i < 300; i++)
        ptrset_insert(&set, key(i));
    for (size_t i = 0; i < 300; i += 2)
        ptrset_remove(&set, key(i));
    for (size_t i = 1; i < 300; i += 2)
        ck_assert(ptrset_insert(&set, key(i)));
    ck_assert_uint_eq(set.count, 150);
    for (size_t i = 1; i < 300; i += 2) {
        ck_assert(ptrset_remove(&set, key(i)));
        ck_assert_msg(!ptrset_contains(&set, key(i)), "key %zu still present after one remove", i);
    }
    ck_assert_uint_eq(set.count, 0);
}
END_TEST

/* ---- growth ---------------------------------------------------------------- */

START_TEST(every_key_is_found_after_growing_past_thousands)
{
    const size_t keys = 20000;
    for (size_t i = 0; i < keys; i++)
        ck_assert(ptrset_insert(&set, key(i)));
    ck_assert_uint_eq(set.count, keys);
    for (size_t i = 0; i < keys; i++)
        ck_assert_msg(ptrset_contains(&set, key(i)), "key %zu lost after growth", i);
    ck_assert(!ptrset_contains(&set, key(keys)));
}
END_TEST

START_TEST(the_table_stays_at_most_half_full)
{
    for (size_t i = 0; i < 5000; i++) {
        ptrset_insert(&set, key(i));
        ck_assert_msg(set.used * 2 <= set.capacity, "used %zu of %zu after %zu inserts",
                      set.used, set.capacity, i + 1);
    }
}
END_TEST

START_TEST(capacity_is_a_power_of_two)
{
    for (size_t i = 0; i < 3000; i++)
        ptrset_insert(&set, key(i));
    ck_assert_uint_ne(set.capacity, 0);
    ck_assert_uint_eq(set.capacity & (set.capacity - 1), 0);
}
END_TEST

START_TEST(keys_that_differ_only_in_high_bits_are_kept_apart)
{
    for (uintptr_t high = 1; high <= 64; high++)
        ck_assert(ptrset_insert(&set, (high << 40) | 0x1000));
    ck_assert_uint_eq(set.count, 64);
    for (uintptr_t high = 1; high <= 64; high++)
        ck_assert(ptrset_contains(&set, (high << 40) | 0x1000));
}
END_TEST

/* ---- each ------------------------------------------------------------------ */

struct visits {
    unsigned char *seen; /* visits per key index */
    size_t keys;         /* keys inserted */
    size_t calls;        /* callback calls */
    size_t strangers;    /* keys visited that were never inserted */
};

static void record_visit(uintptr_t k, void *ctx)
{
    struct visits *v = ctx;
    v->calls++;
    uintptr_t offset = k - key(0);
    if (k < key(0) || offset % 64 != 0 || offset / 64 >= v->keys) {
        v->strangers++;
        return;
    }
    v->seen[offset / 64]++;
}

START_TEST(each_visits_every_key_exactly_once)
{
    const size_t keys = 3000;
    for (size_t i = 0; i < keys; i++)
        ptrset_insert(&set, key(i));
    struct visits v = {calloc(keys, 1), keys, 0, 0};
    ck_assert_ptr_nonnull(v.seen);
    ptrset_each(&set, record_visit, &v);
    ck_assert_uint_eq(v.calls, keys);
    ck_assert_uint_eq(v.strangers, 0);
    for (size_t i = 0; i < keys; i++)
        ck_assert_msg(v.seen[i] == 1, "key %zu visited %u times", i, (unsigned)v.seen[i]);
    free(v.seen);
}
END_TEST

START_TEST(each_skips_removed_keys)
{
    const size_t keys = 1000;
    for (size_t i = 0; i < keys; i++)
        ptrset_insert(&set, key(i));
    for (size_t i = 0; i < keys; i += 3)
        ptrset_remove(&set, key(i));
    struct visits v = {calloc(keys, 1), keys, 0, 0};
    ck_assert_ptr_nonnull(v.seen);
    ptrset_each(&set, record_visit, &v);
    for (size_t i = 0; i < keys; i++)
        ck_assert_msg(v.seen[i] == (i % 3 != 0), "key %zu visited %u times", i,
                      (unsigned)v.seen[i]);
    ck_assert_uint_eq(v.calls, set.count);
    free(v.seen);
}
END_TEST

START_TEST(each_on_an_empty_set_calls_nothing)
{
    struct visits v = {NULL, 0, 0, 0};
    ptrset_each(&set, record_visit, &v);
    ck_assert_uint_eq(v.calls, 0);
}
END_TEST

/* ---- churn ----------------------------------------------------------------- */

/* These loops count failures and assert once: Check's passing assertions
 * each report to the parent process, too slow for a million rounds. */

START_TEST(a_million_insert_remove_pairs_keep_the_capacity_at_its_minimum)
{
    /* Every key is new, so without reclaiming deleted markers the table
     * would keep growing. */
    size_t failures = 0;
    for (size_t i = 0; i < 1000000; i++) {
        failures += !ptrset_insert(&set, key(i));
        failures += !ptrset_contains(&set, key(i));
        failures += !ptrset_remove(&set, key(i));
    }
    ck_assert_uint_eq(failures, 0);
    ck_assert_uint_eq(set.count, 0);
    ck_assert_uint_le(set.capacity, 512);
    ck_assert(!ptrset_contains(&set, key(999999)));
}
END_TEST

START_TEST(churn_around_a_thousand_live_keys_stays_correct_and_bounded)
{
    /* A sliding window: key i goes in, key i - 1000 comes out. */
    const size_t window = 1000, rounds = 1000000;
    size_t max_capacity = 0, failures = 0;
    for (size_t i = 0; i < rounds; i++) {
        failures += !ptrset_insert(&set, key(i));
        if (i >= window) {
            failures += !ptrset_remove(&set, key(i - window));
            failures += ptrset_contains(&set, key(i - window));
        }
        if (set.capacity > max_capacity)
            max_capacity = set.capacity;
    }
    ck_assert_uint_eq(failures, 0);
    ck_assert_uint_eq(set.count, window);
    size_t lost = 0, stale = 0;
    for (size_t i = rounds - window; i < rounds; i++)
        lost += !ptrset_contains(&set, key(i));
    for (size_t i = 0; i < rounds - window; i++)
        stale += ptrset_contains(&set, key(i));
    ck_assert_msg(lost == 0, "%zu live keys lost", lost);
    ck_assert_msg(stale == 0, "%zu removed keys still present", stale);
    ck_assert_msg(max_capacity <= 4096, "capacity grew to %zu for %zu live keys", max_capacity,
                  window);
}
END_TEST

/* ---- failure and teardown ---------------------------------------------------- */

START_TEST(a_first_insert_fails_cleanly_when_no_table_can_be_mapped)
{
    prim_fail_next_maps(1);
    ck_assert(!ptrset_insert(&set, key(1)));
    ck_assert_uint_eq(set.count, 0);
    ck_assert(!ptrset_contains(&set, key(1)));
}
END_TEST

START_TEST(a_growing_insert_fails_cleanly_and_keeps_the_old_keys)
{
    /* Insert until the next new key needs a bigger table. */
    size_t i = 0;
    ck_assert(ptrset_insert(&set, key(i)));
    while ((set.used + 1) * 2 <= set.capacity)
        ck_assert(ptrset_insert(&set, key(++i)));
    size_t count = set.count, capacity = set.capacity;
    ck_assert_uint_eq(count, i + 1);
    prim_fail_next_maps(1);
    ck_assert(!ptrset_insert(&set, key(i + 1)));
    ck_assert_uint_eq(set.count, count);
    ck_assert_uint_eq(set.capacity, capacity);
    for (size_t k = 0; k <= i; k++)
        ck_assert_msg(ptrset_contains(&set, key(k)), "key %zu lost", k);
    ck_assert(!ptrset_contains(&set, key(i + 1)));
    /* With the fault gone the same insert succeeds. */
    ck_assert(ptrset_insert(&set, key(i + 1)));
    ck_assert(ptrset_contains(&set, key(i + 1)));
}
END_TEST

START_TEST(destroy_empties_the_set_and_it_can_be_used_again)
{
    for (size_t i = 0; i < 1000; i++)
        ptrset_insert(&set, key(i));
    ptrset_destroy(&set);
    ck_assert_uint_eq(set.count, 0);
    ck_assert_uint_eq(set.capacity, 0);
    ck_assert_ptr_null(set.slots);
    ck_assert(!ptrset_contains(&set, key(0)));
    ck_assert(ptrset_insert(&set, key(0)));
    ck_assert(ptrset_contains(&set, key(0)));
}
END_TEST

Suite *ptrset_suite(void)
{
    Suite *s = suite_create("ptrset");

    TCase *single = tcase_create("single_keys");
    tcase_add_checked_fixture(single, setup_set, teardown_set);
    tcase_add_test(single, an_empty_set_contains_nothing);
    tcase_add_test(single, removing_from_an_empty_set_reports_absence);
    tcase_add_test(single, an_inserted_key_is_contained);
    tcase_add_test(single, a_key_that_was_not_inserted_is_not_contained);
    tcase_add_test(single, inserting_a_key_twice_stores_it_once);
    tcase_add_test(single, a_removed_key_is_no_longer_contained);
    tcase_add_test(single, removing_a_key_twice_reports_absence_the_second_time);
    tcase_add_test(single, removing_one_key_leaves_the_others);
    tcase_add_test(single, a_key_can_be_inserted_again_after_removal);
    tcase_add_test(single, reinserting_a_key_behind_a_deleted_slot_does_not_duplicate_it);
    suite_add_tcase(s, single);

    TCase *growth = tcase_create("growth");
    tcase_add_checked_fixture(growth, setup_set, teardown_set);
    tcase_add_test(growth, every_key_is_found_after_growing_past_thousands);
    tcase_add_test(growth, the_table_stays_at_most_half_full);
    tcase_add_test(growth, capacity_is_a_power_of_two);
    tcase_add_test(growth, keys_that_differ_only_in_high_bits_are_kept_apart);
    suite_add_tcase(s, growth);

    TCase *each = tcase_create("each");
    tcase_add_checked_fixture(each, setup_set, teardown_set);
    tcase_add_test(each, each_visits_every_key_exactly_once);
    tcase_add_test(each, each_skips_removed_keys);
    tcase_add_test(each, each_on_an_empty_set_calls_nothing);
    suite_add_tcase(s, each);

    TCase *churn = tcase_create("churn");
    tcase_add_checked_fixture(churn, setup_set, teardown_set);
    tcase_add_test(churn, a_million_insert_remove_pairs_keep_the_capacity_at_its_minimum);
    tcase_add_test(churn, churn_around_a_thousand_live_keys_stays_correct_and_bounded);
    suite_add_tcase(s, churn);

    TCase *failure = tcase_create("failure");
    tcase_add_checked_fixture(failure, setup_set, teardown_set);
    tcase_add_test(failure, a_first_insert_fails_cleanly_when_no_table_can_be_mapped);
    tcase_add_test(failure, a_growing_insert_fails_cleanly_and_keeps_the_old_keys);
    tcase_add_test(failure, destroy_empties_the_set_and_it_can_be_used_again);
    suite_add_tcase(s, failure);
    return s;
}

CHECK_SUPPORT_MAIN(ptrset_suite)
