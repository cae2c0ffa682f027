/* check_stackmemo.c - tracer/stackmemo.c: the memo that names a stack
 * without unwinding it. Each test builds a pretend stack (an array of
 * words, its own bounds) with return addresses at chosen places, learns a
 * chain, and checks that the same anchor finds it again only while every
 * slot still holds its return address; plus the limits (bounds, scan
 * distance, chain length), the ways of a set and their replacement order,
 * the learning policy (second capture, never a failed scan again), and the
 * real thread-stack bounds of the main thread and of a new one. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check_support.h"
#include "stackmemo.h"

#define STACK_WORDS 8192

static uint64_t stack[STACK_WORDS];
static stackmemo_t memo;
static stackmemo_bounds_t bounds;

static void reset(void)
{
    memset(stack, 0, sizeof stack);
    memset(&memo, 0, sizeof memo);
    bounds.lo = (uintptr_t)&stack[0];
    bounds.hi = (uintptr_t)&stack[STACK_WORDS];
}

static uintptr_t anchor(size_t word)
{
    return (uintptr_t)&stack[word];
}

/* Return-address-like values: distinct, never 0. */
static void *ra(unsigned i)
{
    return (void *)(uintptr_t)(0x401000u + 0x10u * i);
}

/* Puts ras[i] at stack[words[i]] for a chain of n. */
static void place(void **ras, const size_t *words, int n)
{
    for (int i = 0; i < n; i++)
        stack[words[i]] = (uint64_t)(uintptr_t)ras[i];
}

START_TEST(a_learned_chain_is_found_again_at_the_same_anchor)
{
    reset();
    void *ras[] = {ra(1), ra(2), ra(3)};
    size_t words[] = {3, 10, 40};
    place(ras, words, 3);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 3, 0, 77));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 77);
}
END_TEST

START_TEST(a_changed_return_address_in_any_slot_is_a_miss)
{
    void *ras[] = {ra(1), ra(2), ra(3), ra(4)};
    size_t words[] = {2, 5, 9, 100};
    for (int changed = 0; changed < 4; changed++) {
        reset();
        place(ras, words, 4);
        ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 4, 0, 5));
        stack[words[changed]] = (uint64_t)(uintptr_t)ra(9);
        ck_assert_msg(stackmemo_find(&memo, anchor(0)) == 0,
                      "slot %d changed, still a hit", changed);
        stack[words[changed]] = (uint64_t)(uintptr_t)ras[changed];
        ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 5);
    }
}
END_TEST

START_TEST(every_slot_of_chains_of_one_to_eleven_frames_is_checked)
{
    /* The slots are checked four at a time, then one by one: a change in
     * any of them, in a group of four or in the rest, must be a miss. */
    for (int n = 1; n <= 11; n++) {
        void *ras[11];
        size_t words[11];
        for (int i = 0; i < n; i++) {
            ras[i] = ra(1 + (unsigned)i);
            words[i] = 3 + 7 * (size_t)i;
        }
        for (int changed = 0; changed < n; changed++) {
            reset();
            place(ras, words, n);
            ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, n, n - 1, 40));
            ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 40);
            stack[words[changed]] ^= 0x100;
            ck_assert_msg(stackmemo_find(&memo, anchor(0)) == 0,
                          "chain of %d, slot %d changed, still a hit", n, changed);
        }
    }
}
END_TEST

START_TEST(a_changed_key_slot_is_a_miss_whichever_slot_is_the_key)
{
    void *ras[] = {ra(1), ra(2), ra(3)};
    size_t words[] = {2, 7, 30};
    for (int key = 0; key < 3; key++) {
        reset();
        place(ras, words, 3);
        ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 3, key, 6));
        ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 6);
        stack[words[key]] = (uint64_t)(uintptr_t)ra(8);
        ck_assert_msg(stackmemo_find(&memo, anchor(0)) == 0, "key %d changed, still a hit",
                      key);
    }
}
END_TEST

START_TEST(another_anchor_is_a_miss_even_over_the_same_chain)
{
    reset();
    void *ras[] = {ra(1), ra(2)};
    size_t words[] = {20, 30};
    place(ras, words, 2);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 2, 0, 9));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(2)), 0);
}
END_TEST

START_TEST(an_anchor_outside_the_bounds_is_not_learned_so_never_found)
{
    /* A find reads stack words only at an anchor it learned, and learning
     * takes an anchor only inside the thread's bounds. */
    reset();
    void *ras[] = {ra(1)};
    size_t words[] = {4};
    place(ras, words, 1);
    stackmemo_bounds_t elsewhere = {bounds.lo + 64, bounds.hi};
    ck_assert(!stackmemo_learn(&memo, anchor(0), &elsewhere, ras, 1, 0, 3));
    stackmemo_bounds_t none = {0, 0};
    ck_assert(!stackmemo_learn(&memo, anchor(0), &none, ras, 1, 0, 3));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 1, 0, 3));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 3);
}
END_TEST

/* Learns `count` chains at anchor 0, all in its set: chain k is ra(1)
 * then ra(100 + k), at the given two words, with id 20 + k. */
static void learn_chains(const size_t words[2], unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        void *chain[] = {ra(1), ra(100 + k)};
        place(chain, words, 2);
        ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, chain, 2, 0, 20 + k));
    }
}

START_TEST(a_way_rewritten_while_it_is_the_hot_one_finds_only_its_new_chain)
{
    /* Fill a set, make its first way the hot one, then learn one chain
     * more: it replaces that very way. */
    reset();
    size_t words[] = {2, 8};
    learn_chains(words, STACKMEMO_WAYS);
    void *first[] = {ra(1), ra(100)};
    place(first, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 20);
    void *newer[] = {ra(1), ra(500)};
    place(newer, words, 2);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, newer, 2, 0, 90));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 90);
    place(first, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    void *second[] = {ra(1), ra(101)};
    place(second, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 21);
}
END_TEST

START_TEST(a_return_address_farther_than_the_scan_limit_is_not_learned)
{
    reset();
    void *ras[] = {ra(1), ra(2)};
    size_t words[] = {1, 2 + STACKMEMO_SCAN_WORDS + 1};
    place(ras, words, 2);
    ck_assert(!stackmemo_learn(&memo, anchor(0), &bounds, ras, 2, 0, 4));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    /* Just within the limit it is found. */
    reset();
    size_t near[] = {1, 2 + STACKMEMO_SCAN_WORDS};
    place(ras, near, 2);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 2, 0, 4));
}
END_TEST

START_TEST(a_return_address_above_the_stack_top_is_not_learned)
{
    reset();
    void *ras[] = {ra(1), ra(2)};
    size_t words[] = {1, 50};
    place(ras, words, 2);
    stackmemo_bounds_t short_stack = {bounds.lo, anchor(50)}; /* word 50 is past the top */
    ck_assert(!stackmemo_learn(&memo, anchor(0), &short_stack, ras, 2, 0, 4));
}
END_TEST

START_TEST(an_empty_or_too_long_chain_or_id_0_is_not_learned)
{
    reset();
    void *ras[STACKMEMO_MAX_FRAMES + 1];
    size_t words[STACKMEMO_MAX_FRAMES + 1];
    for (int i = 0; i <= STACKMEMO_MAX_FRAMES; i++) {
        ras[i] = ra((unsigned)i + 1);
        words[i] = (size_t)i * 3 + 1;
    }
    place(ras, words, STACKMEMO_MAX_FRAMES + 1);
    ck_assert(!stackmemo_learn(&memo, anchor(0), &bounds, ras, 0, 0, 4));
    ck_assert(!stackmemo_learn(&memo, anchor(0), &bounds, ras, STACKMEMO_MAX_FRAMES + 1, 0, 4));
    ck_assert(!stackmemo_learn(&memo, anchor(0), &bounds, ras, 3, 0, 0));
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, STACKMEMO_MAX_FRAMES, 0, 4));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 4);
}
END_TEST

START_TEST(a_return_address_seen_twice_is_found_at_its_own_slot_above_the_last)
{
    /* Recursion: the same return address at two depths. The chain's second
     * A must be the copy above B, not the first one again. */
    reset();
    void *ras[] = {ra(1), ra(2), ra(1)};
    size_t words[] = {2, 6, 11};
    place(ras, words, 3);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 3, 0, 8));
    stack[11] = (uint64_t)(uintptr_t)ra(7); /* the outer copy changes */
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
}
END_TEST

START_TEST(two_chains_at_one_anchor_are_both_remembered)
{
    /* Two call sites at the same depth: the same anchor, different return
     * addresses above it. Both hit while their words are in place. */
    reset();
    void *first[] = {ra(1), ra(2)};
    void *second[] = {ra(1), ra(3)};
    size_t words[] = {2, 8};
    place(first, words, 2);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, first, 2, 0, 11));
    place(second, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, second, 2, 0, 12));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 12);
    place(first, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 11);
}
END_TEST

START_TEST(three_call_sites_taking_turns_at_one_anchor_are_each_found)
{
    /* The way that hit last is tried first, the one before it second, the
     * rest after: whichever order the sites come in, each finds its own. */
    reset();
    size_t words[] = {2, 8};
    for (unsigned k = 0; k < 3; k++) {
        void *chain[] = {ra(1), ra(200 + k)};
        place(chain, words, 2);
        ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, chain, 2, 1, 60 + k));
    }
    const unsigned order[] = {0, 1, 0, 1, 2, 2, 0, 2, 1, 1, 0, 0, 2, 1, 2, 0};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        void *chain[] = {ra(1), ra(200 + order[i])};
        place(chain, words, 2);
        ck_assert_msg(stackmemo_find(&memo, anchor(0)) == 60 + order[i],
                      "turn %zu: site %u not found", i, order[i]);
    }
    void *other[] = {ra(1), ra(299)};
    place(other, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
}
END_TEST

START_TEST(an_anchor_that_is_not_word_aligned_is_neither_learned_nor_found)
{
    reset();
    void *ras[] = {ra(1)};
    size_t words[] = {4};
    place(ras, words, 1);
    ck_assert(!stackmemo_learn(&memo, anchor(0) + 4, &bounds, ras, 1, 0, 3));
    ck_assert(stackmemo_learn(&memo, anchor(0), &bounds, ras, 1, 0, 3));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0) + 4), 0);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 3);
}
END_TEST

START_TEST(a_full_set_replaces_its_oldest_way_first)
{
    reset();
    size_t words[] = {2, 8};
    learn_chains(words, STACKMEMO_WAYS + 1);
    /* The first chain (id 20) was replaced; the second (21) is still there. */
    void *oldest[] = {ra(1), ra(100)};
    place(oldest, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    void *kept[] = {ra(1), ra(101)};
    place(kept, words, 2);
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 21);
}
END_TEST

START_TEST(a_stack_is_offered_for_learning_on_its_second_capture)
{
    reset();
    void *ras[] = {ra(1), ra(2)};
    size_t words[] = {3, 9};
    place(ras, words, 2);
    ck_assert(!stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 31));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    ck_assert(stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 31));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 31);
}
END_TEST

START_TEST(a_stack_whose_scan_failed_is_not_scanned_again)
{
    reset();
    void *ras[] = {ra(1), ra(2)};
    size_t far[] = {3, 3 + STACKMEMO_SCAN_WORDS + 2};
    place(ras, far, 2);
    ck_assert(!stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 32)); /* first sight */
    ck_assert(!stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 32)); /* scan fails */
    /* Even with the chain now within reach, id 32 is not tried again. */
    memset(stack, 0, sizeof stack);
    size_t near[] = {3, 9};
    place(ras, near, 2);
    ck_assert(!stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 32));
    ck_assert_uint_eq(stackmemo_find(&memo, anchor(0)), 0);
    /* Another id is learned as usual. */
    ck_assert(!stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 33));
    ck_assert(stackmemo_offer(&memo, anchor(0), &bounds, ras, 2, 0, 33));
}
END_TEST

/* Whether the calling thread's bounds hold one of its locals. */
static void *bounds_hold_a_local(void *arg)
{
    (void)arg;
    int local = 0;
    stackmemo_bounds_t b;
    bool ok = stackmemo_thread_bounds(&b);
    uintptr_t at = (uintptr_t)&local;
    return (void *)(uintptr_t)(ok && b.lo <= at && at < b.hi);
}

START_TEST(the_bounds_of_the_main_thread_and_of_a_new_thread_hold_their_locals)
{
    ck_assert(bounds_hold_a_local(NULL) != NULL);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, bounds_hold_a_local, NULL), 0);
    void *result = NULL;
    pthread_join(thread, &result);
    ck_assert(result != NULL);
}
END_TEST

Suite *stackmemo_suite(void)
{
    Suite *s = suite_create("stackmemo");
    TCase *tc = tcase_create("memo");
    tcase_add_test(tc, a_learned_chain_is_found_again_at_the_same_anchor);
    tcase_add_test(tc, a_changed_return_address_in_any_slot_is_a_miss);
    tcase_add_test(tc, every_slot_of_chains_of_one_to_eleven_frames_is_checked);
    tcase_add_test(tc, a_changed_key_slot_is_a_miss_whichever_slot_is_the_key);
    tcase_add_test(tc, another_anchor_is_a_miss_even_over_the_same_chain);
    tcase_add_test(tc, an_anchor_outside_the_bounds_is_not_learned_so_never_found);
    tcase_add_test(tc, a_way_rewritten_while_it_is_the_hot_one_finds_only_its_new_chain);
    tcase_add_test(tc, a_return_address_farther_than_the_scan_limit_is_not_learned);
    tcase_add_test(tc, a_return_address_above_the_stack_top_is_not_learned);
    tcase_add_test(tc, an_empty_or_too_long_chain_or_id_0_is_not_learned);
    tcase_add_test(tc, a_return_address_seen_twice_is_found_at_its_own_slot_above_the_last);
    tcase_add_test(tc, two_chains_at_one_anchor_are_both_remembered);
    tcase_add_test(tc, three_call_sites_taking_turns_at_one_anchor_are_each_found);
    tcase_add_test(tc, an_anchor_that_is_not_word_aligned_is_neither_learned_nor_found);
    tcase_add_test(tc, a_full_set_replaces_its_oldest_way_first);
    tcase_add_test(tc, a_stack_is_offered_for_learning_on_its_second_capture);
    tcase_add_test(tc, a_stack_whose_scan_failed_is_not_scanned_again);
    tcase_add_test(tc, the_bounds_of_the_main_thread_and_of_a_new_thread_hold_their_locals);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(stackmemo_suite)
