/* check_size_class.c - the process's size classes and the request -> class
 * lookup (size_class.c). Under the default table: every edge between classes
 * (64/65, 256/257, 4096/4097, 6144/6145, 8192/8193 where the lookup
 * switches from the 64-byte index to the coarse one, 16384/16385, 1 MiB +-
 * 1, 16 MiB +- 1) and the large-path marker for 0 and anything above 16
 * MiB; and the table itself: names, ascending payloads, and block sizes
 * that keep every block 64-aligned. Under three tables (the default, the
 * general one, and a list whose classes above 8 KiB sit closer than the
 * coarse index's buckets and end below 16 MiB): an exhaustive check that the
 * lookups agree with a walk of the table for every request from 1 byte to
 * 16 MiB + 1. */
#include <stddef.h>
#include <stdint.h>

#include "check_support.h"
#include "orthotope.h"
#include "size_class.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Class indexes by name, so a test reads as the DESIGN table does. */
enum {
    CLASS_B64 = 0,
    CLASS_B256,
    CLASS_B4K,
    CLASS_B6K,
    CLASS_B8K,
    CLASS_B16K,
    CLASS_B32K,
    CLASS_B64K,
    CLASS_B128K,
    CLASS_B256K,
    CLASS_B1M,
    CLASS_B16M,
};

/* The definition the indexes accelerate: the first class whose payload holds
 * n bytes. Written here independently of size_class.c. */
static unsigned reference_class_of(size_t n)
{
    for (unsigned cls = 0; cls < size_classes.table.count; cls++) {
        if (size_classes.table.payload_bytes[cls] >= n)
            return cls;
    }
    return SIZE_CLASS_LARGE;
}

static void setup_default_table(void)
{
    struct class_table table;
    class_table_orthotope(&table);
    size_class_setup(&table);
}

/* The size, out of the compiler's sight: with a constant it would fold
 * the lookup's other branch too, where GCC 12 at -O0 (the sanitizer
 * builds) then warns about indexes that branch never sees. */
CHECK_NOIPA static size_t opaque_size(size_t n)
{
    return n;
}

/* Asserts the class of a request and names both sides on failure. */
#define assert_class_of(request, expected)                                                  \
    do {                                                                                    \
        size_t request_ = opaque_size(request);                                             \
        unsigned got_ = size_class_of(request_);                                            \
        ck_assert_msg(got_ == (unsigned)(expected),                                         \
                      "request of %zu bytes: class %u (%s), expected %u (%s)", request_,    \
                      got_, ortho_class_name(got_), (unsigned)(expected),                    \
                      ortho_class_name((unsigned)(expected)));                              \
    } while (0)

/* ---- boundaries ---------------------------------------------------------- */

START_TEST(request_of_1_byte_lands_in_the_64_byte_class)
{
    assert_class_of(1, CLASS_B64);
}
END_TEST

START_TEST(request_of_64_bytes_lands_in_the_64_byte_class)
{
    assert_class_of(64, CLASS_B64);
}
END_TEST

START_TEST(request_of_65_bytes_lands_in_the_256_byte_class)
{
    assert_class_of(65, CLASS_B256);
}
END_TEST

START_TEST(request_of_256_bytes_lands_in_the_256_byte_class)
{
    assert_class_of(256, CLASS_B256);
}
END_TEST

START_TEST(request_of_257_bytes_lands_in_the_4k_class)
{
    assert_class_of(257, CLASS_B4K);
}
END_TEST

START_TEST(request_of_4096_bytes_lands_in_the_4k_class)
{
    assert_class_of(4096, CLASS_B4K);
}
END_TEST

START_TEST(request_of_4097_bytes_lands_in_the_6k_class)
{
    assert_class_of(4097, CLASS_B6K);
}
END_TEST

START_TEST(request_of_6144_bytes_lands_in_the_6k_class)
{
    assert_class_of(6144, CLASS_B6K);
}
END_TEST

START_TEST(request_of_6145_bytes_lands_in_the_8k_class)
{
    assert_class_of(6145, CLASS_B8K);
}
END_TEST

START_TEST(request_of_8192_bytes_lands_in_the_8k_class)
{
    assert_class_of(8192, CLASS_B8K);
}
END_TEST

START_TEST(request_of_8193_bytes_lands_in_the_16k_class)
{
    /* First request answered by the log2 index instead of the fine one. */
    assert_class_of(8193, CLASS_B16K);
}
END_TEST

START_TEST(request_of_16384_bytes_lands_in_the_16k_class)
{
    assert_class_of(16384, CLASS_B16K);
}
END_TEST

START_TEST(request_of_16385_bytes_lands_in_the_32k_class)
{
    assert_class_of(16385, CLASS_B32K);
}
END_TEST

START_TEST(request_of_1_mib_lands_in_the_1m_class)
{
    assert_class_of(1 * MiB, CLASS_B1M);
}
END_TEST

START_TEST(request_of_1_mib_plus_1_lands_in_the_16m_class)
{
    assert_class_of(1 * MiB + 1, CLASS_B16M);
}
END_TEST

START_TEST(request_of_16_mib_lands_in_the_16m_class)
{
    assert_class_of(16 * MiB, CLASS_B16M);
}
END_TEST

START_TEST(request_of_16_mib_plus_1_takes_the_large_path)
{
    assert_class_of(16 * MiB + 1, SIZE_CLASS_LARGE);
}
END_TEST

START_TEST(request_of_size_max_takes_the_large_path)
{
    assert_class_of(SIZE_MAX, SIZE_CLASS_LARGE);
}
END_TEST

START_TEST(request_of_0_bytes_takes_the_large_path_through_the_public_lookup)
{
    ck_assert_uint_eq(ortho_class_of(0), ortho_class_count());
    ck_assert_uint_eq(ortho_class_count(), ORTHO_CLASS_COUNT);
}
END_TEST

START_TEST(the_public_lookup_agrees_with_the_internal_one_at_the_edges)
{
    static const size_t edges[] = {1,     64,    65,    256,     257,     4096,
                                   4097,  6144,  6145,  8192,    8193,    16384,
                                   16385, 1 * MiB, 1 * MiB + 1, 16 * MiB, 16 * MiB + 1};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        unsigned internal = size_class_of(edges[i]);
        unsigned expected = internal == SIZE_CLASS_LARGE ? ortho_class_count() : internal;
        ck_assert_msg(ortho_class_of(edges[i]) == expected, "ortho_class_of(%zu) = %u, size_class_of = %u",
                      edges[i], ortho_class_of(edges[i]), internal);
    }
}
END_TEST

/* ---- exhaustive, under three tables ---------------------------------------- */

/* Walks every request from 1 to 16 MiB + 1 with the reference class
 * advancing as payloads are passed (independent of the library's search),
 * and checks both lookups: size_class_of exactly, size_class_lookup either
 * exactly or with an answer whose bin is never filled (the slow path then
 * asks size_class_of). One assertion at the end: ck_assert per request
 * would dominate the run time; the first mismatch is reported. */
static void assert_lookups_match_the_table(void)
{
    const struct class_table *t = &size_classes.table;
    size_t mismatches = 0, first_bad = 0;
    unsigned first_got = 0, first_want = 0;
    unsigned want = 0;
    for (size_t n = 1; n <= 16 * MiB + 1; n++) {
        while (want < t->count && t->payload_bytes[want] < n)
            want++;
        unsigned expected = want < t->count ? want : SIZE_CLASS_LARGE;
        unsigned exact = size_class_of(n);
        unsigned fast = size_class_lookup(n);
        bool fast_ok = fast == expected || (fast >= t->count && fast <= SIZE_CLASS_LARGE);
        if (exact != expected || !fast_ok) {
            if (mismatches++ == 0) {
                first_bad = n;
                first_got = exact != expected ? exact : fast;
                first_want = expected;
            }
        }
    }
    ck_assert_msg(mismatches == 0,
                  "table %s: %zu requests disagree; first: %zu bytes -> class %u, the table says %u",
                  t->origin, mismatches, first_bad, first_got, first_want);
}

START_TEST(every_request_up_to_16_mib_plus_1_matches_the_default_table)
{
    assert_lookups_match_the_table();
}
END_TEST

START_TEST(every_request_up_to_16_mib_plus_1_matches_the_general_table)
{
    struct class_table general;
    class_table_general(&general);
    size_class_setup(&general);
    assert_lookups_match_the_table();
}
END_TEST

START_TEST(every_request_up_to_16_mib_plus_1_matches_a_table_with_close_classes_ending_at_1m)
{
    /* 100032, 100096 and 100160 sit in one coarse bucket (98305..106496),
     * so the lookup must send that bucket to the exact search; the table
     * ends at 1 MiB, so everything above takes the large path. */
    struct class_table close;
    const char *why = NULL;
    ck_assert_msg(class_table_parse_list("64 128 192 1K 6K 9K 100032 100096 100160 1M", &close, &why),
                  "%s", why);
    size_class_setup(&close);
    ck_assert_uint_eq(size_class_lookup(opaque_size(100000)), SIZE_CLASS_LARGE);
    ck_assert_uint_eq(size_class_of(opaque_size(100000)), 6);
    ck_assert_uint_eq(size_class_of(opaque_size(1 * MiB + 1)), SIZE_CLASS_LARGE);
    assert_lookups_match_the_table();
}
END_TEST

START_TEST(the_library_table_search_agrees_with_the_reference_search)
{
    /* size_class_search is the library's own statement of the definition;
     * check it at every payload and one byte either side. */
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        size_t payload = size_class_payload(cls);
        for (size_t n = payload - 1; n <= payload + 1; n++) {
            if (n == 0)
                continue;
            ck_assert_msg(size_class_search(n) == reference_class_of(n),
                          "size_class_search(%zu) = %u, reference says %u", n,
                          size_class_search(n), reference_class_of(n));
        }
    }
}
END_TEST

START_TEST(every_slot_of_the_fine_index_names_a_class_or_the_large_marker)
{
    for (size_t slot = 0; slot < SIZE_CLASS_FINE_SLOTS; slot++)
        ck_assert_msg(size_classes.fine[slot] < size_class_count() ||
                          size_classes.fine[slot] == SIZE_CLASS_LARGE,
                      "slot %zu holds %u", slot, (unsigned)size_classes.fine[slot]);
}
END_TEST

/* ---- the table ----------------------------------------------------------- */

START_TEST(classes_are_named_b64_through_b16m_in_order)
{
    static const char *const expected[ORTHO_CLASS_COUNT] = {
        "B64", "B256", "B4K", "B6K", "B8K", "B16K", "B32K", "B64K", "B128K", "B256K", "B1M",
        "B16M"};
    for (unsigned cls = 0; cls < ORTHO_CLASS_COUNT; cls++) {
        ck_assert_ptr_nonnull(ortho_class_name(cls));
        ck_assert_str_eq(ortho_class_name(cls), expected[cls]);
        ck_assert_str_eq(size_classes.names[cls], expected[cls]);
    }
}
END_TEST

START_TEST(the_index_after_the_last_class_is_named_large)
{
    ck_assert_pstr_eq(ortho_class_name(ortho_class_count()), "LARGE");
}
END_TEST

START_TEST(indexes_beyond_large_have_no_name)
{
    ck_assert_ptr_null(ortho_class_name(ortho_class_count() + 1));
    ck_assert_ptr_null(ortho_class_name(255));
    ck_assert_ptr_null(ortho_class_name(UINT32_MAX));
}
END_TEST

START_TEST(payloads_match_the_design_table)
{
    static const size_t expected[ORTHO_CLASS_COUNT] = {
        64,       256,       4 * KiB,   6 * KiB, 8 * KiB, 16 * KiB,
        32 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, 1 * MiB, 16 * MiB};
    for (unsigned cls = 0; cls < ORTHO_CLASS_COUNT; cls++) {
        ck_assert_uint_eq(size_class_payload(cls), expected[cls]);
        ck_assert_uint_eq(ortho_class_payload(cls), expected[cls]);
    }
}
END_TEST

START_TEST(payloads_strictly_ascend)
{
    for (unsigned cls = 1; cls < size_class_count(); cls++)
        ck_assert_msg(size_class_payload(cls) > size_class_payload(cls - 1),
                      "class %u (%zu bytes) is not above class %u (%zu bytes)", cls,
                      size_class_payload(cls), cls - 1, size_class_payload(cls - 1));
}
END_TEST

START_TEST(the_largest_payload_is_the_small_limit)
{
    ck_assert_uint_eq(size_class_payload(size_class_count() - 1), ORTHO_SMALL_MAX);
}
END_TEST

START_TEST(payload_of_an_index_beyond_the_classes_is_zero)
{
    ck_assert_uint_eq(ortho_class_payload(ortho_class_count()), 0);
    ck_assert_uint_eq(ortho_class_payload(UINT32_MAX), 0);
}
END_TEST

START_TEST(a_block_is_its_payload_plus_the_64_byte_header)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        ck_assert_uint_eq(size_class_block_bytes(cls), size_class_payload(cls) + 64);
}
END_TEST

START_TEST(every_block_size_is_a_multiple_of_64_so_blocks_stay_aligned)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++)
        ck_assert_msg(size_class_block_bytes(cls) % 64 == 0, "class %s: block of %zu bytes",
                      size_classes.names[cls], size_class_block_bytes(cls));
}
END_TEST

START_TEST(every_payload_is_the_largest_request_its_class_serves)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        size_t payload = size_class_payload(cls);
        ck_assert_uint_eq(size_class_of(payload), cls);
        ck_assert_uint_ne(size_class_of(payload + 1), cls);
    }
}
END_TEST

Suite *size_class_suite(void)
{
    Suite *s = suite_create("size_class");

    TCase *edges = tcase_create("boundaries");
    tcase_add_checked_fixture(edges, setup_default_table, NULL);
    tcase_add_test(edges, request_of_1_byte_lands_in_the_64_byte_class);
    tcase_add_test(edges, request_of_64_bytes_lands_in_the_64_byte_class);
    tcase_add_test(edges, request_of_65_bytes_lands_in_the_256_byte_class);
    tcase_add_test(edges, request_of_256_bytes_lands_in_the_256_byte_class);
    tcase_add_test(edges, request_of_257_bytes_lands_in_the_4k_class);
    tcase_add_test(edges, request_of_4096_bytes_lands_in_the_4k_class);
    tcase_add_test(edges, request_of_4097_bytes_lands_in_the_6k_class);
    tcase_add_test(edges, request_of_6144_bytes_lands_in_the_6k_class);
    tcase_add_test(edges, request_of_6145_bytes_lands_in_the_8k_class);
    tcase_add_test(edges, request_of_8192_bytes_lands_in_the_8k_class);
    tcase_add_test(edges, request_of_8193_bytes_lands_in_the_16k_class);
    tcase_add_test(edges, request_of_16384_bytes_lands_in_the_16k_class);
    tcase_add_test(edges, request_of_16385_bytes_lands_in_the_32k_class);
    tcase_add_test(edges, request_of_1_mib_lands_in_the_1m_class);
    tcase_add_test(edges, request_of_1_mib_plus_1_lands_in_the_16m_class);
    tcase_add_test(edges, request_of_16_mib_lands_in_the_16m_class);
    tcase_add_test(edges, request_of_16_mib_plus_1_takes_the_large_path);
    tcase_add_test(edges, request_of_size_max_takes_the_large_path);
    tcase_add_test(edges, request_of_0_bytes_takes_the_large_path_through_the_public_lookup);
    tcase_add_test(edges, the_public_lookup_agrees_with_the_internal_one_at_the_edges);
    suite_add_tcase(s, edges);

    TCase *exhaustive = tcase_create("exhaustive");
    tcase_add_checked_fixture(exhaustive, setup_default_table, NULL);
    tcase_set_timeout(exhaustive, 120); /* 16 M requests a table, slower under sanitizers */
    tcase_add_test(exhaustive, every_request_up_to_16_mib_plus_1_matches_the_default_table);
    tcase_add_test(exhaustive, every_request_up_to_16_mib_plus_1_matches_the_general_table);
    tcase_add_test(exhaustive, every_request_up_to_16_mib_plus_1_matches_a_table_with_close_classes_ending_at_1m);
    tcase_add_test(exhaustive, the_library_table_search_agrees_with_the_reference_search);
    tcase_add_test(exhaustive, every_slot_of_the_fine_index_names_a_class_or_the_large_marker);
    suite_add_tcase(s, exhaustive);

    TCase *table = tcase_create("table");
    tcase_add_checked_fixture(table, setup_default_table, NULL);
    tcase_add_test(table, classes_are_named_b64_through_b16m_in_order);
    tcase_add_test(table, the_index_after_the_last_class_is_named_large);
    tcase_add_test(table, indexes_beyond_large_have_no_name);
    tcase_add_test(table, payloads_match_the_design_table);
    tcase_add_test(table, payloads_strictly_ascend);
    tcase_add_test(table, the_largest_payload_is_the_small_limit);
    tcase_add_test(table, payload_of_an_index_beyond_the_classes_is_zero);
    tcase_add_test(table, a_block_is_its_payload_plus_the_64_byte_header);
    tcase_add_test(table, every_block_size_is_a_multiple_of_64_so_blocks_stay_aligned);
    tcase_add_test(table, every_payload_is_the_largest_request_its_class_serves);
    suite_add_tcase(s, table);
    return s;
}

CHECK_SUPPORT_MAIN(size_class_suite)
