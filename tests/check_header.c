/* check_header.c - the 64-byte block header (header.h, header.c): stamping a
 * small or large header and validating it; every kind of corruption the
 * validator must tell apart (bad magic, any single-bit change of a field the
 * checksum covers, a one-byte underflow from the user pointer, a header
 * copied to another address, a freed block, a class index out of range and
 * sizes that contradict each other, the last two with the checksum
 * recomputed so only the field checks can catch them); that marking a block
 * freed keeps its checksum valid; that sizes above 4 GiB survive without
 * truncation; the per-class fast stamp and the inline fast test against
 * their general counterparts; and the names and public statuses of the
 * verdicts. Headers live in 64-aligned storage from the test's own
 * aligned_alloc (glibc's, not ours), as they would in an arena. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "header.h"
#include "orthotope.h"
#include "size_class.h"

#define GiB ((uint64_t)1 << 30)
#define MiB ((uint64_t)1 << 20)

/* Two adjacent header slots, 64-aligned, zeroed for every test. */
static header_t *slots;

static void setup_slots(void)
{
    size_class_setup_once(); /* the default table, as a process without ORTHO_CLASSES */
    slots = aligned_alloc(64, 2 * sizeof(header_t));
    ck_assert_ptr_nonnull(slots);
    memset(slots, 0, 2 * sizeof(header_t));
}

static void teardown_slots(void)
{
    free(slots);
    slots = NULL;
}

/* A live small header for a 100-byte request in the 256-byte class. */
static header_t *stamped_small(void)
{
    header_stamp_small(&slots[0], 1, 100, 0);
    return &slots[0];
}

/* A live large header: 20 MiB requested, a page of slack. */
static header_t *stamped_large(void)
{
    header_stamp_large(&slots[0], 20 * MiB, 20 * MiB + 4032, 0);
    return &slots[0];
}

/* Flips each bit of the `width`-byte field at `field` in turn, leaving the
 * checksum alone, and asserts every flip is caught as a bad checksum. */
static void assert_every_bit_flip_breaks_checksum(header_t *h, void *field, size_t width,
                                                  const char *field_name)
{
    unsigned char *bytes = field;
    for (size_t byte = 0; byte < width; byte++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            bytes[byte] ^= (unsigned char)(1u << bit);
            header_verdict_t verdict = header_validate(h);
            bytes[byte] ^= (unsigned char)(1u << bit);
            ck_assert_msg(verdict == HEADER_BAD_CHECKSUM,
                          "%s: flipping bit %u of byte %zu gave %s, expected bad_checksum",
                          field_name, bit, byte, header_verdict_name(verdict));
        }
    }
    ck_assert_int_eq(header_validate(h), HEADER_OK); /* all flips undone */
}

/* The inline fast test, with the class it reports (UINT32_MAX if it did
 * not store one). The one place that knows its signature. */
static bool fast_test(const header_t *h, unsigned *cls)
{
    *cls = UINT32_MAX;
    return header_is_live_small(h, cls);
}

/* ---- stamp and validate -------------------------------------------------- */

START_TEST(a_stamped_small_header_validates)
{
    ck_assert_int_eq(header_validate(stamped_small()), HEADER_OK);
}
END_TEST

START_TEST(a_stamped_small_header_records_the_request_and_the_class_payload)
{
    header_t *h = stamped_small();
    ck_assert_uint_eq(h->magic, HEADER_MAGIC);
    ck_assert_uint_eq(h->kind, HEADER_KIND_SMALL);
    ck_assert_uint_eq(h->class_index, 1);
    ck_assert_uint_eq(h->state, HEADER_STATE_LIVE);
    ck_assert_uint_eq(h->requested_bytes, 100);
    ck_assert_uint_eq(h->usable_bytes, 256);
    ck_assert_uint_eq(h->offset_bytes, 0);
}
END_TEST

START_TEST(a_stamped_large_header_validates)
{
    ck_assert_int_eq(header_validate(stamped_large()), HEADER_OK);
}
END_TEST

START_TEST(a_stamped_large_header_carries_the_large_class_marker)
{
    header_t *h = stamped_large();
    ck_assert_uint_eq(h->kind, HEADER_KIND_LARGE);
    ck_assert_uint_eq(h->class_index, HEADER_CLASS_LARGE);
}
END_TEST

START_TEST(a_small_header_placed_into_its_block_loses_the_offset_from_usable_bytes)
{
    /* An over-aligned allocation puts the header 1 KiB into a 4K block. */
    header_t *block = aligned_alloc(64, 4096 + 64);
    ck_assert_ptr_nonnull(block);
    header_t *inner = (header_t *)((char *)block + 1024);
    header_stamp_small(inner, 2, 3000, 1024);
    ck_assert_uint_eq(inner->usable_bytes, 4096 - 1024);
    ck_assert_int_eq(header_validate(inner), HEADER_OK);
    ck_assert_ptr_eq(header_block(inner), block);
    free(block);
}
END_TEST

START_TEST(the_user_pointer_is_64_bytes_after_the_header_and_maps_back)
{
    header_t *h = stamped_small();
    void *user = header_user(h);
    ck_assert_ptr_eq(user, (char *)h + 64);
    ck_assert_ptr_eq(header_of_user(user), h);
}
END_TEST

/* ---- corruption verdicts ------------------------------------------------- */

START_TEST(a_wrong_magic_is_reported_as_bad_magic)
{
    header_t *h = stamped_small();
    h->magic ^= 0x01000000u;
    ck_assert_int_eq(header_validate(h), HEADER_BAD_MAGIC);
}
END_TEST

START_TEST(a_zeroed_header_is_reported_as_bad_magic)
{
    ck_assert_int_eq(header_validate(&slots[0]), HEADER_BAD_MAGIC);
}
END_TEST

START_TEST(any_bit_flip_in_requested_bytes_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->requested_bytes, sizeof h->requested_bytes,
                                          "requested_bytes");
}
END_TEST

START_TEST(any_bit_flip_in_usable_bytes_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->usable_bytes, sizeof h->usable_bytes,
                                          "usable_bytes");
}
END_TEST

START_TEST(any_bit_flip_in_offset_bytes_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->offset_bytes, sizeof h->offset_bytes,
                                          "offset_bytes");
}
END_TEST

START_TEST(any_bit_flip_in_the_class_index_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->class_index, sizeof h->class_index,
                                          "class_index");
}
END_TEST

START_TEST(any_bit_flip_in_the_kind_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->kind, sizeof h->kind, "kind");
}
END_TEST

START_TEST(any_bit_flip_in_the_flags_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->flags, sizeof h->flags, "flags");
}
END_TEST

START_TEST(any_bit_flip_in_the_state_breaks_the_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->state, sizeof h->state, "state");
}
END_TEST

START_TEST(any_bit_flip_in_a_large_request_above_4_gib_breaks_the_checksum)
{
    header_t *h = &slots[0];
    header_stamp_large(h, (size_t)(5 * GiB), (size_t)(5 * GiB + 4032), 0);
    assert_every_bit_flip_breaks_checksum(h, &h->requested_bytes, sizeof h->requested_bytes,
                                          "requested_bytes");
}
END_TEST

START_TEST(a_one_byte_underflow_from_the_user_pointer_is_caught)
{
    /* The last header byte sits right before the user pointer. */
    header_t *h = stamped_small();
    unsigned char *user = header_user(h);
    user[-1] = 0x5a;
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CHECKSUM);
}
END_TEST

START_TEST(an_eight_byte_underflow_from_the_user_pointer_is_reported_as_bad_magic)
{
    header_t *h = stamped_small();
    unsigned char *user = header_user(h);
    memset(user - 8, 0, 8);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_MAGIC);
}
END_TEST

START_TEST(any_bit_flip_in_the_checksum_itself_is_reported_as_bad_checksum)
{
    header_t *h = stamped_small();
    assert_every_bit_flip_breaks_checksum(h, &h->checksum, sizeof h->checksum, "checksum");
}
END_TEST

START_TEST(overwriting_one_byte_of_requested_bytes_is_reported_as_bad_checksum)
{
    header_t *h = stamped_small();
    ((unsigned char *)&h->requested_bytes)[0] = 0xff; /* 100 -> 255, still fits */
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CHECKSUM);
}
END_TEST

START_TEST(a_header_copied_to_another_address_is_reported_as_bad_checksum)
{
    header_t *h = stamped_small();
    memcpy(&slots[1], h, sizeof *h);
    ck_assert_int_eq(header_validate(&slots[1]), HEADER_BAD_CHECKSUM);
}
END_TEST

START_TEST(a_freed_header_is_reported_as_double_free)
{
    header_t *h = stamped_small();
    header_mark_freed(h);
    ck_assert_int_eq(header_validate(h), HEADER_DOUBLE_FREE);
}
END_TEST

START_TEST(a_freed_large_header_is_reported_as_double_free)
{
    header_t *h = stamped_large();
    header_mark_freed(h);
    ck_assert_int_eq(header_validate(h), HEADER_DOUBLE_FREE);
}
END_TEST

START_TEST(an_unknown_state_with_a_recomputed_checksum_is_reported_as_bad_checksum)
{
    header_t *h = stamped_small();
    h->state = 0x00;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CHECKSUM);
}
END_TEST

START_TEST(a_small_class_index_of_12_with_a_valid_checksum_is_reported_as_bad_class)
{
    header_t *h = stamped_small();
    h->class_index = 12;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CLASS);
}
END_TEST

START_TEST(a_large_header_with_a_small_class_index_is_reported_as_bad_class)
{
    header_t *h = stamped_large();
    h->class_index = 3;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CLASS);
}
END_TEST

START_TEST(an_unknown_kind_with_a_valid_checksum_is_reported_as_bad_class)
{
    header_t *h = stamped_large();
    h->kind = 7;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CLASS);
}
END_TEST

START_TEST(requested_above_usable_with_a_valid_checksum_is_reported_as_bad_size)
{
    header_t *h = stamped_small();
    h->requested_bytes = h->usable_bytes + 1;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

START_TEST(requested_above_usable_in_a_large_header_is_reported_as_bad_size)
{
    header_t *h = stamped_large();
    h->requested_bytes = h->usable_bytes + 64;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

START_TEST(a_zero_request_with_a_valid_checksum_is_reported_as_bad_size)
{
    header_t *h = stamped_small();
    h->requested_bytes = 0;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

START_TEST(usable_bytes_that_disagree_with_the_class_are_reported_as_bad_size)
{
    header_t *h = stamped_small();
    h->usable_bytes = 4096; /* class 1 holds 256 */
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

START_TEST(an_offset_that_is_not_a_multiple_of_64_is_reported_as_bad_size)
{
    header_t *h = stamped_small();
    h->offset_bytes = 32;
    h->usable_bytes = 256 - 32;
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

/* ---- freeing -------------------------------------------------------------- */

START_TEST(marking_a_header_freed_keeps_its_checksum_valid)
{
    header_t *h = stamped_small();
    header_mark_freed(h);
    ck_assert_uint_eq(h->state, HEADER_STATE_FREED);
    ck_assert_uint_eq(h->checksum, header_checksum(h));
}
END_TEST

START_TEST(marking_a_large_header_freed_keeps_its_checksum_valid)
{
    header_t *h = stamped_large();
    header_mark_freed(h);
    ck_assert_uint_eq(h->checksum, header_checksum(h));
}
END_TEST

START_TEST(restamping_a_freed_header_makes_it_live_again)
{
    header_t *h = stamped_small();
    header_mark_freed(h);
    header_stamp_small(h, 1, 200, 0);
    ck_assert_int_eq(header_validate(h), HEADER_OK);
}
END_TEST

/* ---- sizes above 4 GiB ---------------------------------------------------- */

START_TEST(a_large_header_for_5_gib_keeps_every_size_bit)
{
    header_t *h = &slots[0];
    uint64_t requested = 5 * GiB;
    uint64_t usable = 5 * GiB + 4032;
    header_stamp_large(h, (size_t)requested, (size_t)usable, 0);
    ck_assert_uint_eq(h->requested_bytes, requested);
    ck_assert_uint_eq(h->usable_bytes, usable);
    ck_assert_int_eq(header_validate(h), HEADER_OK);
}
END_TEST

START_TEST(a_5_gib_header_with_bit_32_of_the_request_cleared_fails_validation)
{
    /* What a 32-bit truncation would do: 5 GiB -> 1 GiB. */
    header_t *h = &slots[0];
    header_stamp_large(h, (size_t)(5 * GiB), (size_t)(5 * GiB + 4032), 0);
    h->requested_bytes &= 0xffffffffu;
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CHECKSUM);
}
END_TEST

START_TEST(a_5_gib_header_with_bit_32_of_usable_cleared_fails_validation)
{
    header_t *h = &slots[0];
    header_stamp_large(h, (size_t)(5 * GiB), (size_t)(5 * GiB + 4032), 0);
    h->usable_bytes &= 0xffffffffu;
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CHECKSUM);
}
END_TEST

/* ---- the inline fast-path test ------------------------------------------- */

START_TEST(the_fast_test_accepts_a_live_small_header_and_reports_its_class)
{
    unsigned cls;
    ck_assert(fast_test(stamped_small(), &cls));
    ck_assert_uint_eq(cls, 1);
}
END_TEST

START_TEST(the_fast_test_rejects_a_freed_small_header)
{
    header_t *h = stamped_small();
    header_mark_freed(h);
    unsigned cls;
    ck_assert(!fast_test(h, &cls));
}
END_TEST

START_TEST(the_fast_test_rejects_a_large_header)
{
    unsigned cls;
    ck_assert(!fast_test(stamped_large(), &cls));
}
END_TEST

START_TEST(the_fast_test_rejects_a_header_with_a_changed_request)
{
    header_t *h = stamped_small();
    h->requested_bytes = 101;
    unsigned cls;
    ck_assert(!fast_test(h, &cls));
}
END_TEST

START_TEST(the_fast_test_rejects_a_valid_header_placed_into_its_block)
{
    /* Over-aligned blocks (offset != 0) must take the slow path. */
    header_t *block = aligned_alloc(64, 4096 + 64);
    ck_assert_ptr_nonnull(block);
    header_t *inner = (header_t *)((char *)block + 1024);
    header_stamp_small(inner, 2, 100, 1024);
    ck_assert_int_eq(header_validate(inner), HEADER_OK);
    unsigned cls;
    ck_assert(!fast_test(inner, &cls));
    free(block);
}
END_TEST

/* The fast test indexes its templates with the class field's low seven
 * bits: 12..127 must find no template, and 128..255 must not pass for the
 * class their low bits name. Each forged header has a valid checksum. */
START_TEST(the_fast_test_rejects_every_class_index_past_the_last_class)
{
    for (unsigned index = size_class_count(); index <= 0xff; index++) {
        header_t *h = stamped_small();
        h->class_index = (uint8_t)index;
        h->checksum = header_checksum(h);
        unsigned cls;
        ck_assert_msg(!fast_test(h, &cls), "class index %u passed the fast test", index);
    }
}
END_TEST

START_TEST(the_fast_test_rejects_a_header_with_a_flag_set)
{
    header_t *h = stamped_small();
    h->flags = 1;
    h->checksum = header_checksum(h);
    unsigned cls;
    ck_assert(!fast_test(h, &cls));
}
END_TEST

START_TEST(the_fast_stamp_writes_the_same_header_as_the_general_stamp_for_every_class)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        size_t requested = size_class_payload(cls) - 1;
        memset(slots, 0, 2 * sizeof(header_t));
        header_stamp_small(&slots[0], cls, requested, 0);
        header_stamp_small_fast(&slots[1], cls, requested);
        /* Same fields; the checksums differ only because the addresses do. */
        ck_assert_uint_eq(header_tag(&slots[1]), header_tag(&slots[0]));
        ck_assert_uint_eq(slots[1].requested_bytes, slots[0].requested_bytes);
        ck_assert_uint_eq(slots[1].usable_bytes, slots[0].usable_bytes);
        ck_assert_uint_eq(slots[1].offset_bytes, slots[0].offset_bytes);
        ck_assert_msg(slots[1].checksum == header_checksum(&slots[1]),
                      "class %s: fast-stamped checksum %08x, recomputed %08x",
                      size_classes.names[cls], slots[1].checksum,
                      header_checksum(&slots[1]));
    }
}
END_TEST

START_TEST(a_fast_stamped_header_passes_both_the_fast_test_and_full_validation)
{
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        header_stamp_small_fast(&slots[0], cls, 1);
        unsigned reported;
        ck_assert_msg(fast_test(&slots[0], &reported), "class %s", size_classes.names[cls]);
        ck_assert_uint_eq(reported, cls);
        ck_assert_int_eq(header_validate(&slots[0]), HEADER_OK);
    }
}
END_TEST

/* ---- another class table --------------------------------------------------- */

/* Under the general table (68 classes) every class stamps and validates,
 * both ways, with its own payload; a class index past the last is refused
 * by both tests even with a valid checksum; and a header whose usable size
 * is another class's payload is a bad size. */
START_TEST(headers_of_every_class_of_the_general_table_stamp_and_validate)
{
    struct class_table general;
    class_table_general(&general);
    size_class_setup(&general);
    ck_assert_uint_eq(size_class_count(), 68);
    for (unsigned cls = 0; cls < size_class_count(); cls++) {
        header_stamp_small_fast(&slots[0], cls, size_class_payload(cls));
        unsigned reported;
        ck_assert_msg(fast_test(&slots[0], &reported), "class %s", size_classes.names[cls]);
        ck_assert_uint_eq(reported, cls);
        ck_assert_int_eq(header_validate(&slots[0]), HEADER_OK);
        ck_assert_uint_eq(slots[0].usable_bytes, general.payload_bytes[cls]);
    }
    header_t *h = &slots[0];
    header_stamp_small(h, 67, 100, 0);
    h->class_index = 68;
    h->checksum = header_checksum(h);
    unsigned cls;
    ck_assert(!fast_test(h, &cls));
    ck_assert_int_eq(header_validate(h), HEADER_BAD_CLASS);
    header_stamp_small(h, 5, 100, 0);
    h->usable_bytes = general.payload_bytes[6];
    h->checksum = header_checksum(h);
    ck_assert_int_eq(header_validate(h), HEADER_BAD_SIZE);
}
END_TEST

/* ---- names and statuses --------------------------------------------------- */

START_TEST(verdict_names_match_the_corruption_kinds)
{
    ck_assert_str_eq(header_verdict_name(HEADER_OK), "ok");
    ck_assert_str_eq(header_verdict_name(HEADER_BAD_MAGIC), "bad_magic");
    ck_assert_str_eq(header_verdict_name(HEADER_BAD_CHECKSUM), "bad_checksum");
    ck_assert_str_eq(header_verdict_name(HEADER_BAD_SIZE), "bad_size");
    ck_assert_str_eq(header_verdict_name(HEADER_BAD_CLASS), "bad_class");
    ck_assert_str_eq(header_verdict_name(HEADER_DOUBLE_FREE), "double_free");
}
END_TEST

START_TEST(an_unknown_verdict_is_named_unknown)
{
    ck_assert_str_eq(header_verdict_name((header_verdict_t)99), "unknown");
}
END_TEST

START_TEST(an_ok_verdict_maps_to_ortho_ok)
{
    ck_assert_int_eq(header_verdict_status(HEADER_OK), ORTHO_OK);
}
END_TEST

START_TEST(a_double_free_verdict_maps_to_the_double_free_status)
{
    ck_assert_int_eq(header_verdict_status(HEADER_DOUBLE_FREE), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(every_damage_verdict_maps_to_the_corrupt_status)
{
    ck_assert_int_eq(header_verdict_status(HEADER_BAD_MAGIC), ORTHO_E_CORRUPT);
    ck_assert_int_eq(header_verdict_status(HEADER_BAD_CHECKSUM), ORTHO_E_CORRUPT);
    ck_assert_int_eq(header_verdict_status(HEADER_BAD_SIZE), ORTHO_E_CORRUPT);
    ck_assert_int_eq(header_verdict_status(HEADER_BAD_CLASS), ORTHO_E_CORRUPT);
}
END_TEST

Suite *header_suite(void)
{
    Suite *s = suite_create("header");

    TCase *stamp = tcase_create("stamp");
    tcase_add_checked_fixture(stamp, setup_slots, teardown_slots);
    tcase_add_test(stamp, a_stamped_small_header_validates);
    tcase_add_test(stamp, a_stamped_small_header_records_the_request_and_the_class_payload);
    tcase_add_test(stamp, a_stamped_large_header_validates);
    tcase_add_test(stamp, a_stamped_large_header_carries_the_large_class_marker);
    tcase_add_test(stamp, a_small_header_placed_into_its_block_loses_the_offset_from_usable_bytes);
    tcase_add_test(stamp, the_user_pointer_is_64_bytes_after_the_header_and_maps_back);
    suite_add_tcase(s, stamp);

    TCase *corrupt = tcase_create("corruption");
    tcase_add_checked_fixture(corrupt, setup_slots, teardown_slots);
    tcase_add_test(corrupt, a_wrong_magic_is_reported_as_bad_magic);
    tcase_add_test(corrupt, a_zeroed_header_is_reported_as_bad_magic);
    tcase_add_test(corrupt, any_bit_flip_in_requested_bytes_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_usable_bytes_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_offset_bytes_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_the_class_index_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_the_kind_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_the_flags_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_the_state_breaks_the_checksum);
    tcase_add_test(corrupt, any_bit_flip_in_a_large_request_above_4_gib_breaks_the_checksum);
    tcase_add_test(corrupt, a_one_byte_underflow_from_the_user_pointer_is_caught);
    tcase_add_test(corrupt, an_eight_byte_underflow_from_the_user_pointer_is_reported_as_bad_magic);
    tcase_add_test(corrupt, any_bit_flip_in_the_checksum_itself_is_reported_as_bad_checksum);
    tcase_add_test(corrupt, overwriting_one_byte_of_requested_bytes_is_reported_as_bad_checksum);
    tcase_add_test(corrupt, a_header_copied_to_another_address_is_reported_as_bad_checksum);
    tcase_add_test(corrupt, a_freed_header_is_reported_as_double_free);
    tcase_add_test(corrupt, a_freed_large_header_is_reported_as_double_free);
    tcase_add_test(corrupt, an_unknown_state_with_a_recomputed_checksum_is_reported_as_bad_checksum);
    tcase_add_test(corrupt, a_small_class_index_of_12_with_a_valid_checksum_is_reported_as_bad_class);
    tcase_add_test(corrupt, a_large_header_with_a_small_class_index_is_reported_as_bad_class);
    tcase_add_test(corrupt, an_unknown_kind_with_a_valid_checksum_is_reported_as_bad_class);
    tcase_add_test(corrupt, requested_above_usable_with_a_valid_checksum_is_reported_as_bad_size);
    tcase_add_test(corrupt, requested_above_usable_in_a_large_header_is_reported_as_bad_size);
    tcase_add_test(corrupt, a_zero_request_with_a_valid_checksum_is_reported_as_bad_size);
    tcase_add_test(corrupt, usable_bytes_that_disagree_with_the_class_are_reported_as_bad_size);
    tcase_add_test(corrupt, an_offset_that_is_not_a_multiple_of_64_is_reported_as_bad_size);
    suite_add_tcase(s, corrupt);

    TCase *freeing = tcase_create("freeing");
    tcase_add_checked_fixture(freeing, setup_slots, teardown_slots);
    tcase_add_test(freeing, marking_a_header_freed_keeps_its_checksum_valid);
    tcase_add_test(freeing, marking_a_large_header_freed_keeps_its_checksum_valid);
    tcase_add_test(freeing, restamping_a_freed_header_makes_it_live_again);
    suite_add_tcase(s, freeing);

    TCase *wide = tcase_create("above_4_gib");
    tcase_add_checked_fixture(wide, setup_slots, teardown_slots);
    tcase_add_test(wide, a_large_header_for_5_gib_keeps_every_size_bit);
    tcase_add_test(wide, a_5_gib_header_with_bit_32_of_the_request_cleared_fails_validation);
    tcase_add_test(wide, a_5_gib_header_with_bit_32_of_usable_cleared_fails_validation);
    suite_add_tcase(s, wide);

    TCase *fast = tcase_create("fast_test");
    tcase_add_checked_fixture(fast, setup_slots, teardown_slots);
    tcase_add_test(fast, the_fast_test_accepts_a_live_small_header_and_reports_its_class);
    tcase_add_test(fast, the_fast_test_rejects_a_freed_small_header);
    tcase_add_test(fast, the_fast_test_rejects_a_large_header);
    tcase_add_test(fast, the_fast_test_rejects_every_class_index_past_the_last_class);
    tcase_add_test(fast, the_fast_test_rejects_a_header_with_a_changed_request);
    tcase_add_test(fast, the_fast_test_rejects_a_valid_header_placed_into_its_block);
    tcase_add_test(fast, the_fast_test_rejects_a_header_with_a_flag_set);
    tcase_add_test(fast, the_fast_stamp_writes_the_same_header_as_the_general_stamp_for_every_class);
    tcase_add_test(fast, a_fast_stamped_header_passes_both_the_fast_test_and_full_validation);
    suite_add_tcase(s, fast);

    TCase *other = tcase_create("other_table");
    tcase_add_checked_fixture(other, setup_slots, teardown_slots);
    tcase_add_test(other, headers_of_every_class_of_the_general_table_stamp_and_validate);
    suite_add_tcase(s, other);

    TCase *names = tcase_create("names");
    tcase_add_test(names, verdict_names_match_the_corruption_kinds);
    tcase_add_test(names, an_unknown_verdict_is_named_unknown);
    tcase_add_test(names, an_ok_verdict_maps_to_ortho_ok);
    tcase_add_test(names, a_double_free_verdict_maps_to_the_double_free_status);
    tcase_add_test(names, every_damage_verdict_maps_to_the_corrupt_status);
    suite_add_tcase(s, names);
    return s;
}

CHECK_SUPPORT_MAIN(header_suite)
