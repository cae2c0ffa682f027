/* check_large.c - the large path (large.c): a 20 MiB block is 64-aligned,
 * writable end to end and freshly mapped; 4 KiB and 2 MiB alignments are
 * honoured; free validates before touching anything (OK once, DOUBLE_FREE
 * while the freed mapping is retained, FOREIGN for stack, heap, interior and
 * p+64 pointers, CORRUPT for a live block whose header was overwritten,
 * SIZE_MISMATCH for a wrong expected size, each leaving the block live);
 * reuse by fit hands the same address back with fresh=false; the retain
 * budget (count and bytes) unmaps the oldest mappings; large_trim releases
 * every retained mapping; SIZE_MAX and injected mapping failures
 * (prim_fail_next_maps) give NULL; and the counters follow along. Each test
 * builds its own registry (retain 256 MiB / 8 mappings unless it says
 * otherwise) and destroys it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "header.h"
#include "large.h"
#include "prim.h"

#define MiB ((size_t)1 << 20)
#define BLOCK_BYTES (20 * MiB)

static struct large large;

static void setup_default(void)
{
    large_init(&large, 256 * MiB, 8);
}

static void teardown_large(void)
{
    large_destroy(&large);
    prim_fail_next_maps(0);
}

/* A live block of `size` bytes, 64-aligned, asserting success. */
static unsigned char *alloc_block(size_t size)
{
    bool fresh = false;
    unsigned char *p = large_alloc(&large, size, 0, &fresh);
    ck_assert_msg(p != NULL, "large_alloc(%zu) failed", size);
    return p;
}

static ortho_status_t free_block(void *p)
{
    header_verdict_t verdict;
    return large_free(&large, p, 0, &verdict);
}

/* ---- allocation --------------------------------------------------------- */

START_TEST(a_20_mib_block_is_64_aligned)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
}
END_TEST

START_TEST(a_20_mib_block_is_writable_from_first_to_last_byte)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    for (size_t at = 0; at < BLOCK_BYTES; at += 4096)
        p[at] = 0xa5;
    p[BLOCK_BYTES - 1] = 0x5a;
    size_t wrong = 0;
    for (size_t at = 0; at < BLOCK_BYTES; at += 4096)
        wrong += p[at] != 0xa5;
    ck_assert_uint_eq(wrong, 0);
    ck_assert_uint_eq(p[BLOCK_BYTES - 1], 0x5a);
}
END_TEST

START_TEST(a_new_mapping_is_reported_fresh)
{
    bool fresh = false;
    ck_assert_ptr_nonnull(large_alloc(&large, BLOCK_BYTES, 0, &fresh));
    ck_assert(fresh);
}
END_TEST

START_TEST(a_new_block_has_a_valid_large_header_with_the_requested_size)
{
    unsigned char *p = alloc_block(BLOCK_BYTES + 3);
    header_t *h = header_of_user(p);
    ck_assert_int_eq(header_validate(h), HEADER_OK);
    ck_assert_uint_eq(h->kind, HEADER_KIND_LARGE);
    ck_assert_uint_eq(h->requested_bytes, BLOCK_BYTES + 3);
    ck_assert_uint_ge(h->usable_bytes, BLOCK_BYTES + 3);
}
END_TEST

START_TEST(a_new_block_is_registered_as_live)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert(large_owns(&large, p));
    header_verdict_t verdict;
    ck_assert_int_eq(large_check(&large, p, &verdict), ORTHO_OK);
}
END_TEST

START_TEST(a_4096_byte_alignment_is_honoured)
{
    bool fresh;
    unsigned char *p = large_alloc(&large, BLOCK_BYTES, 4096, &fresh);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 4096, 0);
    p[0] = 1;
    p[BLOCK_BYTES - 1] = 1;
    ck_assert_int_eq(header_validate(header_of_user(p)), HEADER_OK);
}
END_TEST

START_TEST(a_2_mib_alignment_is_honoured)
{
    bool fresh;
    unsigned char *p = large_alloc(&large, BLOCK_BYTES, 2 * MiB, &fresh);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % (2 * MiB), 0);
    p[0] = 1;
    p[BLOCK_BYTES - 1] = 1;
    ck_assert_int_eq(header_validate(header_of_user(p)), HEADER_OK);
}
END_TEST

START_TEST(an_aligned_block_frees_its_whole_mapping)
{
    bool fresh;
    unsigned char *p = large_alloc(&large, BLOCK_BYTES, 2 * MiB, &fresh);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(free_block(p), ORTHO_OK);
    ck_assert_uint_eq(large.live_mapped_bytes, 0);
    ck_assert_uint_eq(large.retained_count, 1);
    ck_assert_uint_ge(large.retained_bytes, BLOCK_BYTES + 2 * MiB);
}
END_TEST

START_TEST(a_request_of_size_max_returns_null)
{
    bool fresh;
    ck_assert_ptr_null(large_alloc(&large, SIZE_MAX, 0, &fresh));
    ck_assert_uint_eq(large.allocs, 0);
}
END_TEST

START_TEST(a_request_that_overflows_only_with_its_alignment_returns_null)
{
    bool fresh;
    ck_assert_ptr_null(large_alloc(&large, SIZE_MAX - 8192, 2 * MiB, &fresh));
}
END_TEST

START_TEST(a_refused_mapping_returns_null)
{
    prim_fail_next_maps(1);
    bool fresh;
    ck_assert_ptr_null(large_alloc(&large, BLOCK_BYTES, 0, &fresh));
    ck_assert_uint_eq(large.allocs, 0);
    ck_assert_uint_eq(large.live_mapped_bytes, 0);
}
END_TEST

START_TEST(allocation_works_again_once_the_os_stops_refusing)
{
    prim_fail_next_maps(1);
    bool fresh;
    ck_assert_ptr_null(large_alloc(&large, BLOCK_BYTES, 0, &fresh));
    unsigned char *p = large_alloc(&large, BLOCK_BYTES, 0, &fresh);
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
}
END_TEST

/* ---- free ---------------------------------------------------------------- */

START_TEST(freeing_a_live_block_succeeds)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    header_verdict_t verdict = HEADER_BAD_MAGIC;
    ck_assert_int_eq(large_free(&large, p, 0, &verdict), ORTHO_OK);
    ck_assert_int_eq(verdict, HEADER_OK);
    ck_assert(!large_owns(&large, p));
}
END_TEST

START_TEST(freeing_with_the_right_expected_size_succeeds)
{
    unsigned char *p = alloc_block(BLOCK_BYTES + 100);
    header_verdict_t verdict;
    ck_assert_int_eq(large_free(&large, p, BLOCK_BYTES + 100, &verdict), ORTHO_OK);
}
END_TEST

START_TEST(a_second_free_of_a_retained_block_is_a_double_free)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert_int_eq(free_block(p), ORTHO_OK);
    header_verdict_t verdict = HEADER_OK;
    ck_assert_int_eq(large_free(&large, p, 0, &verdict), ORTHO_E_DOUBLE_FREE);
    ck_assert_int_eq(verdict, HEADER_DOUBLE_FREE);
    ck_assert_uint_eq(large.frees, 1);
}
END_TEST

START_TEST(a_double_free_leaves_the_retained_mapping_reusable)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    free_block(p);
    ck_assert_uint_eq(large.retained_count, 1);
    bool fresh = true;
    ck_assert_ptr_eq(large_alloc(&large, BLOCK_BYTES, 0, &fresh), p);
}
END_TEST

START_TEST(freeing_a_stack_pointer_is_foreign)
{
    _Alignas(64) unsigned char on_stack[256];
    header_verdict_t verdict;
    ck_assert_int_eq(large_free(&large, on_stack + 64, 0, &verdict), ORTHO_E_FOREIGN);
}
END_TEST

START_TEST(freeing_a_heap_pointer_is_foreign)
{
    unsigned char *heap = aligned_alloc(64, 256);
    ck_assert_ptr_nonnull(heap);
    header_verdict_t verdict;
    ck_assert_int_eq(large_free(&large, heap + 64, 0, &verdict), ORTHO_E_FOREIGN);
    free(heap);
}
END_TEST

START_TEST(freeing_64_bytes_past_a_live_block_start_is_an_interior_pointer)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert_int_eq(free_block(p + 64), ORTHO_E_MISALIGNED);
    ck_assert(large_owns(&large, p));
    ck_assert_int_eq(free_block(p), ORTHO_OK);
}
END_TEST

START_TEST(freeing_64_bytes_past_a_retained_block_start_is_an_interior_pointer)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    ck_assert_int_eq(free_block(p + 64), ORTHO_E_MISALIGNED);
}
END_TEST

START_TEST(freeing_a_misaligned_interior_pointer_is_an_interior_pointer)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert_int_eq(free_block(p + 1), ORTHO_E_MISALIGNED);
    ck_assert(large_owns(&large, p));
}
END_TEST

START_TEST(freeing_a_block_whose_header_was_overwritten_is_corrupt_and_keeps_it_live)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    header_t *h = header_of_user(p);
    h->magic = 0;
    header_verdict_t verdict = HEADER_OK;
    ck_assert_int_eq(large_free(&large, p, 0, &verdict), ORTHO_E_CORRUPT);
    ck_assert_int_eq(verdict, HEADER_BAD_MAGIC);
    ck_assert(large_owns(&large, p));
    ck_assert_uint_eq(large.frees, 0);
    h->magic = HEADER_MAGIC; /* repaired, so teardown sees a sane block */
}
END_TEST

START_TEST(freeing_with_a_wrong_expected_size_is_a_size_mismatch)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    header_verdict_t verdict;
    ck_assert_int_eq(large_free(&large, p, BLOCK_BYTES + 1, &verdict), ORTHO_E_SIZE_MISMATCH);
}
END_TEST

START_TEST(a_size_mismatch_leaves_the_block_live)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    p[0] = 0x42;
    header_verdict_t verdict;
    large_free(&large, p, BLOCK_BYTES - 1, &verdict);
    ck_assert(large_owns(&large, p));
    ck_assert_int_eq(large_check(&large, p, &verdict), ORTHO_OK);
    ck_assert_uint_eq(p[0], 0x42);
    ck_assert_uint_eq(large.frees, 0);
    ck_assert_int_eq(large_free(&large, p, BLOCK_BYTES, &verdict), ORTHO_OK);
}
END_TEST

START_TEST(checking_a_freed_block_reports_a_double_free)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    header_verdict_t verdict;
    ck_assert_int_eq(large_check(&large, p, &verdict), ORTHO_E_DOUBLE_FREE);
}
END_TEST

/* ---- reuse by fit ---------------------------------------------------------- */

START_TEST(freeing_then_allocating_the_same_size_returns_the_same_address)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    bool fresh = true;
    ck_assert_ptr_eq(large_alloc(&large, BLOCK_BYTES, 0, &fresh), p);
}
END_TEST

START_TEST(a_reused_mapping_is_not_reported_fresh)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    bool fresh = true;
    ck_assert_ptr_nonnull(large_alloc(&large, BLOCK_BYTES, 0, &fresh));
    ck_assert(!fresh);
}
END_TEST

START_TEST(a_reused_block_is_live_with_a_valid_header_again)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    bool fresh;
    unsigned char *q = large_alloc(&large, BLOCK_BYTES - 4096, 0, &fresh);
    ck_assert_ptr_eq(q, p);
    ck_assert_int_eq(header_validate(header_of_user(q)), HEADER_OK);
    ck_assert_uint_eq(header_of_user(q)->requested_bytes, BLOCK_BYTES - 4096);
    ck_assert(large_owns(&large, q));
    ck_assert_uint_eq(large.retained_count, 0);
}
END_TEST

START_TEST(a_retained_mapping_much_larger_than_the_request_is_not_reused)
{
    unsigned char *p = alloc_block(4 * BLOCK_BYTES);
    free_block(p);
    bool fresh = false;
    unsigned char *q = large_alloc(&large, BLOCK_BYTES, 0, &fresh);
    ck_assert_ptr_nonnull(q);
    ck_assert(fresh);
    ck_assert_uint_eq(large.retained_count, 1);
}
END_TEST

START_TEST(a_retained_mapping_smaller_than_the_request_is_not_reused)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    bool fresh = false;
    ck_assert_ptr_nonnull(large_alloc(&large, BLOCK_BYTES + 1 * MiB, 0, &fresh));
    ck_assert(fresh);
}
END_TEST

START_TEST(the_best_fitting_retained_mapping_is_reused)
{
    unsigned char *big = alloc_block(BLOCK_BYTES + 4 * MiB);
    unsigned char *exact = alloc_block(BLOCK_BYTES);
    free_block(big);
    free_block(exact);
    bool fresh;
    ck_assert_ptr_eq(large_alloc(&large, BLOCK_BYTES, 0, &fresh), exact);
}
END_TEST

/* ---- retain budget and trim ----------------------------------------------- */

START_TEST(freeing_beyond_the_retain_count_unmaps_the_oldest)
{
    large_destroy(&large);
    large_init(&large, 256 * MiB, 2);
    unsigned char *blocks[4];
    for (int i = 0; i < 4; i++)
        blocks[i] = alloc_block(BLOCK_BYTES);
    size_t map_bytes = (size_t)large.live_mapped_bytes / 4;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(free_block(blocks[i]), ORTHO_OK);
    ck_assert_uint_eq(large.retained_count, 2);
    ck_assert_uint_eq(large.unmapped_bytes, 2 * map_bytes);
    /* The two oldest are unmapped (a second free is still recognised, from
     * the remembered pointers), the two newest are retained. */
    ck_assert_int_eq(free_block(blocks[0]), ORTHO_E_DOUBLE_FREE);
    ck_assert_int_eq(free_block(blocks[1]), ORTHO_E_DOUBLE_FREE);
    ck_assert_int_eq(free_block(blocks[2]), ORTHO_E_DOUBLE_FREE);
    ck_assert_int_eq(free_block(blocks[3]), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(freeing_beyond_the_retain_bytes_unmaps_the_oldest)
{
    large_destroy(&large);
    large_init(&large, 2 * BLOCK_BYTES + 1 * MiB, 8);
    unsigned char *blocks[3];
    for (int i = 0; i < 3; i++)
        blocks[i] = alloc_block(BLOCK_BYTES);
    for (int i = 0; i < 3; i++)
        free_block(blocks[i]);
    ck_assert_uint_eq(large.retained_count, 2);
    ck_assert_uint_le(large.retained_bytes, 2 * BLOCK_BYTES + 1 * MiB);
    ck_assert_uint_gt(large.unmapped_bytes, 0);
}
END_TEST

START_TEST(a_mapping_larger_than_the_whole_byte_budget_is_unmapped_at_once)
{
    large_destroy(&large);
    large_init(&large, 16 * MiB, 8);
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    ck_assert_uint_eq(large.retained_count, 0);
    ck_assert_uint_ge(large.unmapped_bytes, BLOCK_BYTES);
    ck_assert_int_eq(free_block(p), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(a_new_block_mapped_where_an_unmapped_one_was_is_freed_normally)
{
    large_destroy(&large);
    large_init(&large, 0, 0); /* unmap every free */
    unsigned char *p = alloc_block(BLOCK_BYTES);
    ck_assert_int_eq(free_block(p), ORTHO_OK);
    unsigned char *q = alloc_block(BLOCK_BYTES); /* the kernel often reuses the range */
    ck_assert_int_eq(free_block(q), ORTHO_OK);
    ck_assert_int_eq(free_block(q), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(a_retain_count_of_zero_unmaps_every_free)
{
    large_destroy(&large);
    large_init(&large, 256 * MiB, 0);
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    ck_assert_uint_eq(large.retained_count, 0);
    ck_assert_uint_eq(large.retained_bytes, 0);
}
END_TEST

START_TEST(trim_releases_every_retained_mapping)
{
    unsigned char *blocks[3];
    for (int i = 0; i < 3; i++)
        blocks[i] = alloc_block(BLOCK_BYTES);
    for (int i = 0; i < 3; i++)
        free_block(blocks[i]);
    uint64_t retained = large.retained_bytes;
    ck_assert_uint_gt(retained, 0);
    ck_assert_uint_eq(large_trim(&large), retained);
    ck_assert_uint_eq(large.retained_count, 0);
    ck_assert_uint_eq(large.retained_bytes, 0);
    ck_assert_uint_eq(large.unmapped_bytes, retained);
}
END_TEST

START_TEST(trim_leaves_live_blocks_alone)
{
    unsigned char *live = alloc_block(BLOCK_BYTES);
    unsigned char *dead = alloc_block(BLOCK_BYTES);
    free_block(dead);
    large_trim(&large);
    live[BLOCK_BYTES - 1] = 1;
    ck_assert(large_owns(&large, live));
    ck_assert_int_eq(free_block(live), ORTHO_OK);
}
END_TEST

START_TEST(trim_with_nothing_retained_releases_nothing)
{
    ck_assert_uint_eq(large_trim(&large), 0);
}
END_TEST

START_TEST(after_trim_the_same_size_gets_a_fresh_mapping)
{
    unsigned char *p = alloc_block(BLOCK_BYTES);
    free_block(p);
    large_trim(&large);
    bool fresh = false;
    ck_assert_ptr_nonnull(large_alloc(&large, BLOCK_BYTES, 0, &fresh));
    ck_assert(fresh);
}
END_TEST

/* ---- counters -------------------------------------------------------------- */

START_TEST(counters_follow_allocations_and_frees)
{
    unsigned char *a = alloc_block(BLOCK_BYTES);
    unsigned char *b = alloc_block(BLOCK_BYTES + 7);
    ck_assert_uint_eq(large.allocs, 2);
    ck_assert_uint_eq(large.live_requested_bytes, 2 * BLOCK_BYTES + 7);
    ck_assert_uint_ge(large.live_mapped_bytes, 2 * BLOCK_BYTES + 7);
    free_block(a);
    ck_assert_uint_eq(large.frees, 1);
    ck_assert_uint_eq(large.live_requested_bytes, BLOCK_BYTES + 7);
    free_block(b);
    ck_assert_uint_eq(large.live_requested_bytes, 0);
    ck_assert_uint_eq(large.live_mapped_bytes, 0);
}
END_TEST

START_TEST(a_block_above_4_gib_keeps_its_size_in_header_and_counters)
{
    /* Address space only: the pages are never touched. */
    const size_t size = ((size_t)5 << 30) + 3;
    bool fresh;
    unsigned char *p = large_alloc(&large, size, 0, &fresh);
    if (p == NULL)
        ck_abort_msg("could not map 5 GiB of address space (ulimit -v?)");
    ck_assert_uint_eq(header_of_user(p)->requested_bytes, size);
    ck_assert_uint_eq(large.live_requested_bytes, size);
    header_verdict_t verdict;
    ck_assert_int_eq(large_free(&large, p, size, &verdict), ORTHO_OK);
}
END_TEST

Suite *large_suite(void)
{
    Suite *s = suite_create("large");

    TCase *alloc = tcase_create("alloc");
    tcase_add_checked_fixture(alloc, setup_default, teardown_large);
    tcase_add_test(alloc, a_20_mib_block_is_64_aligned);
    tcase_add_test(alloc, a_20_mib_block_is_writable_from_first_to_last_byte);
    tcase_add_test(alloc, a_new_mapping_is_reported_fresh);
    tcase_add_test(alloc, a_new_block_has_a_valid_large_header_with_the_requested_size);
    tcase_add_test(alloc, a_new_block_is_registered_as_live);
    tcase_add_test(alloc, a_4096_byte_alignment_is_honoured);
    tcase_add_test(alloc, a_2_mib_alignment_is_honoured);
    tcase_add_test(alloc, an_aligned_block_frees_its_whole_mapping);
    tcase_add_test(alloc, a_request_of_size_max_returns_null);
    tcase_add_test(alloc, a_request_that_overflows_only_with_its_alignment_returns_null);
    tcase_add_test(alloc, a_refused_mapping_returns_null);
    tcase_add_test(alloc, allocation_works_again_once_the_os_stops_refusing);
    suite_add_tcase(s, alloc);

    TCase *release = tcase_create("free");
    tcase_add_checked_fixture(release, setup_default, teardown_large);
    tcase_add_test(release, freeing_a_live_block_succeeds);
    tcase_add_test(release, freeing_with_the_right_expected_size_succeeds);
    tcase_add_test(release, a_second_free_of_a_retained_block_is_a_double_free);
    tcase_add_test(release, a_double_free_leaves_the_retained_mapping_reusable);
    tcase_add_test(release, freeing_a_stack_pointer_is_foreign);
    tcase_add_test(release, freeing_a_heap_pointer_is_foreign);
    tcase_add_test(release, freeing_64_bytes_past_a_live_block_start_is_an_interior_pointer);
    tcase_add_test(release, freeing_64_bytes_past_a_retained_block_start_is_an_interior_pointer);
    tcase_add_test(release, freeing_a_misaligned_interior_pointer_is_an_interior_pointer);
    tcase_add_test(release, freeing_a_block_whose_header_was_overwritten_is_corrupt_and_keeps_it_live);
    tcase_add_test(release, freeing_with_a_wrong_expected_size_is_a_size_mismatch);
    tcase_add_test(release, a_size_mismatch_leaves_the_block_live);
    tcase_add_test(release, checking_a_freed_block_reports_a_double_free);
    suite_add_tcase(s, release);

    TCase *reuse = tcase_create("reuse");
    tcase_add_checked_fixture(reuse, setup_default, teardown_large);
    tcase_add_test(reuse, freeing_then_allocating_the_same_size_returns_the_same_address);
    tcase_add_test(reuse, a_reused_mapping_is_not_reported_fresh);
    tcase_add_test(reuse, a_reused_block_is_live_with_a_valid_header_again);
    tcase_add_test(reuse, a_retained_mapping_much_larger_than_the_request_is_not_reused);
    tcase_add_test(reuse, a_retained_mapping_smaller_than_the_request_is_not_reused);
    tcase_add_test(reuse, the_best_fitting_retained_mapping_is_reused);
    suite_add_tcase(s, reuse);

    TCase *budget = tcase_create("retain_and_trim");
    tcase_add_checked_fixture(budget, setup_default, teardown_large);
    tcase_add_test(budget, freeing_beyond_the_retain_count_unmaps_the_oldest);
    tcase_add_test(budget, freeing_beyond_the_retain_bytes_unmaps_the_oldest);
    tcase_add_test(budget, a_mapping_larger_than_the_whole_byte_budget_is_unmapped_at_once);
    tcase_add_test(budget, a_new_block_mapped_where_an_unmapped_one_was_is_freed_normally);
    tcase_add_test(budget, a_retain_count_of_zero_unmaps_every_free);
    tcase_add_test(budget, trim_releases_every_retained_mapping);
    tcase_add_test(budget, trim_leaves_live_blocks_alone);
    tcase_add_test(budget, trim_with_nothing_retained_releases_nothing);
    tcase_add_test(budget, after_trim_the_same_size_gets_a_fresh_mapping);
    suite_add_tcase(s, budget);

    TCase *counters = tcase_create("counters");
    tcase_add_checked_fixture(counters, setup_default, teardown_large);
    tcase_add_test(counters, counters_follow_allocations_and_frees);
    tcase_add_test(counters, a_block_above_4_gib_keeps_its_size_in_header_and_counters);
    suite_add_tcase(s, counters);
    return s;
}

CHECK_SUPPORT_MAIN(large_suite)
