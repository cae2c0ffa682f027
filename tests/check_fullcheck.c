/* check_fullcheck.c - ORTHO_CHECK=full's pieces (fullcheck.c) and the
 * allocator in that mode (an instance with allocator_enable_full_check):
 * the slack scan names the first changed byte and nothing else; new blocks
 * read as the new pattern and freed ones as the free pattern after their
 * canary; the quarantine gives blocks back oldest first once its byte
 * budget is passed, and a block it cannot hold comes straight back; a
 * write into a block waiting in the quarantine, and an overflow into the
 * slack, abort the process (the default policy) when found; shrinking a
 * block in place makes the bytes it gave back slack again, so the free
 * that follows finds no overflow. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allocator.h"
#include "check_support.h"
#include "fullcheck.h"
#include "registry.h"

static struct ortho_allocator *full;
static struct ortho_cache *cache;

/* An instance in full-check mode with a quarantine of `budget` bytes. */
static void setup_full(uint64_t budget)
{
    ortho_config_t config;
    ortho_config_default(&config);
    void *memory = NULL;
    ck_assert_int_eq(posix_memalign(&memory, 64, sizeof *full), 0);
    full = memory;
    ck_assert(allocator_setup(full, &config));
    allocator_enable_full_check(full, budget);
    cache = registry_acquire(full, false);
    ck_assert_ptr_nonnull(cache);
}

static void setup_default_budget(void)
{
    setup_full((uint64_t)1 << 20);
}

static void teardown_full(void)
{
    registry_release(cache);
    allocator_teardown(full);
    free(full);
}

static void *take(size_t n)
{
    void *p = allocator_alloc_slow(full, cache, n, 0, NULL);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void give_back(void *p)
{
    struct free_failure why;
    ck_assert_int_eq(allocator_free_slow(full, cache, p, 0, &why), ORTHO_OK);
}

START_TEST(the_slack_scan_names_the_first_changed_byte_and_only_in_the_slack)
{
    unsigned char block[256];
    memset(block, FULLCHECK_NEW_BYTE, sizeof block);
    ck_assert_int_eq(fullcheck_find_overflow(block, 100, 256), -1);
    block[50] = 0; /* inside the request: the program's own bytes */
    ck_assert_int_eq(fullcheck_find_overflow(block, 100, 256), -1);
    block[255] = 0;
    ck_assert_int_eq(fullcheck_find_overflow(block, 100, 256), 255);
    block[101] = 0;
    ck_assert_int_eq(fullcheck_find_overflow(block, 100, 256), 101);
    block[100] = 0;
    ck_assert_int_eq(fullcheck_find_overflow(block, 100, 256), 100);
}
END_TEST

START_TEST(a_new_block_reads_as_the_new_pattern_in_all_its_usable_bytes)
{
    unsigned char *p = take(100);
    size_t usable = header_of_user(p)->usable_bytes;
    ck_assert_uint_eq(usable, 256);
    for (size_t i = 0; i < usable; i++)
        ck_assert_uint_eq(p[i], FULLCHECK_NEW_BYTE);
    give_back(p);
}
END_TEST

START_TEST(a_freed_block_holds_the_free_pattern_after_its_canary)
{
    unsigned char *p = take(3000);
    memset(p, 0x11, 3000);
    give_back(p);
    header_t *h = header_of_user(p);
    ck_assert(header_is_free_intact(h, h->class_index));
    for (size_t i = sizeof(uint64_t); i < 4096; i++)
        ck_assert_uint_eq(p[i], FULLCHECK_FREE_BYTE);
}
END_TEST

START_TEST(the_quarantine_gives_blocks_back_oldest_first_past_its_budget)
{
    struct fullcheck_quarantine q = {.budget_bytes = 3 * 256};
    struct fullcheck_held out[8];
    header_t fake[8]; /* only their addresses travel through the ring */
    unsigned cls = 1; /* B256 under the default table */
    ck_assert_uint_eq(size_class_payload(cls), 256);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(fullcheck_quarantine_push(&q, &fake[i], cls, out, 8), 0);
    ck_assert_uint_eq(q.bytes, 3 * 256);
    ck_assert_uint_eq(fullcheck_quarantine_push(&q, &fake[3], cls, out, 8), 1);
    ck_assert_ptr_eq(out[0].block, &fake[0]);
    ck_assert_uint_eq(out[0].class_index, cls);
    ck_assert_uint_eq(fullcheck_quarantine_push(&q, &fake[4], cls, out, 8), 1);
    ck_assert_ptr_eq(out[0].block, &fake[1]);
    ck_assert_uint_eq(q.bytes, 3 * 256);
}
END_TEST

START_TEST(a_quarantine_without_a_budget_gives_each_block_straight_back)
{
    struct fullcheck_quarantine q = {.budget_bytes = 0};
    struct fullcheck_held out[2];
    header_t fake;
    ck_assert_uint_eq(fullcheck_quarantine_push(&q, &fake, 0, out, 2), 1);
    ck_assert_ptr_eq(out[0].block, &fake);
    ck_assert_uint_eq(q.count, 0);
}
END_TEST

START_TEST(freed_blocks_are_not_reused_while_they_wait_in_the_quarantine)
{
    /* 1 MiB of quarantine holds 4,000 freed 256-byte blocks: none of
     * them comes back for the next requests of the same size. */
    void *first[100], *next[100];
    for (int i = 0; i < 100; i++)
        first[i] = take(200);
    for (int i = 0; i < 100; i++)
        give_back(first[i]);
    for (int i = 0; i < 100; i++) {
        next[i] = take(200);
        for (int j = 0; j < 100; j++)
            ck_assert_ptr_ne(next[i], first[j]);
    }
    for (int i = 0; i < 100; i++)
        give_back(next[i]);
}
END_TEST

START_TEST(a_write_into_a_quarantined_block_aborts_when_the_block_leaves)
{
    unsigned char *p = take(200);
    give_back(p);
    p[100] = 0x41; /* dangling */
    for (int i = 0; i < 5000; i++) /* pushes p out of the 1 MiB quarantine */
        give_back(take(200));
}
END_TEST

START_TEST(an_overflow_into_the_slack_aborts_at_free)
{
    unsigned char *p = take(100);
    ((volatile unsigned char *)p)[100] = 0;
    give_back(p);
}
END_TEST

START_TEST(shrinking_a_block_in_place_makes_what_it_gave_back_slack_again)
{
    unsigned char *p = take(200);
    memset(p, 0x22, 200);
    ck_assert(allocator_resize_in_place(full, cache, header_of_user(p), 120));
    ck_assert_int_eq(fullcheck_find_overflow(p, 120, 256), -1);
    give_back(p); /* no overflow found: the default policy would abort */
}
END_TEST

Suite *fullcheck_suite(void)
{
    Suite *s = suite_create("fullcheck");
    TCase *pieces = tcase_create("pieces");
    tcase_add_checked_fixture(pieces, setup_default_budget, teardown_full);
    tcase_add_test(pieces, the_slack_scan_names_the_first_changed_byte_and_only_in_the_slack);
    tcase_add_test(pieces, the_quarantine_gives_blocks_back_oldest_first_past_its_budget);
    tcase_add_test(pieces, a_quarantine_without_a_budget_gives_each_block_straight_back);
    suite_add_tcase(s, pieces);

    TCase *mode = tcase_create("mode");
    tcase_add_checked_fixture(mode, setup_default_budget, teardown_full);
    tcase_add_test(mode, a_new_block_reads_as_the_new_pattern_in_all_its_usable_bytes);
    tcase_add_test(mode, a_freed_block_holds_the_free_pattern_after_its_canary);
    tcase_add_test(mode, freed_blocks_are_not_reused_while_they_wait_in_the_quarantine);
    tcase_add_test(mode, shrinking_a_block_in_place_makes_what_it_gave_back_slack_again);
    tcase_add_test_raise_signal(mode, a_write_into_a_quarantined_block_aborts_when_the_block_leaves,
                                SIGABRT);
    tcase_add_test_raise_signal(mode, an_overflow_into_the_slack_aborts_at_free, SIGABRT);
    suite_add_tcase(s, mode);
    return s;
}

CHECK_SUPPORT_MAIN(fullcheck_suite)
