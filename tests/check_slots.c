/* check_slots.c - the geometry of a traced image's segments (slots.c):
 * how many slots each segment has and how large its rings are, given the
 * configured ring, and that every segment the process makes is one the
 * collector's geometry check accepts with exactly those numbers. The claim
 * protocol itself runs in the integration tests (trace_db.sh: threads
 * alive together, reused slots, a file size limit), where a real collector
 * registers and releases the segments. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_support.h"
#include "slots.h"

/* Records of the default ring (ORTHO_TRACE_RING_SIZE=4M). */
#define DEFAULT_CAPACITY (4u * 1024 * 1024 / RECORD_BYTES)

START_TEST(the_first_segment_gives_four_threads_the_configured_ring)
{
    ck_assert_uint_eq(slots_segment_slots(0), 4);
    ck_assert_uint_eq(slots_ring_capacity(0, DEFAULT_CAPACITY, false), DEFAULT_CAPACITY);
    ck_assert_uint_eq(slots_ring_capacity(0, 512, false), 512);
}
END_TEST

START_TEST(the_second_segment_gives_the_next_256_threads_an_eighth_of_it)
{
    ck_assert_uint_eq(slots_segment_slots(1), 256);
    /* 4 MiB / 8: the 512 KiB every thread had before the lead slots. */
    ck_assert_uint_eq(slots_ring_capacity(1, DEFAULT_CAPACITY, false) * RECORD_BYTES, 512u * 1024);
}
END_TEST

START_TEST(later_segments_double_their_slots_and_get_a_128th_of_the_ring)
{
    ck_assert_uint_eq(slots_segment_slots(2), 512);
    ck_assert_uint_eq(slots_segment_slots(3), 1024);
    ck_assert_uint_eq(slots_segment_slots(SEGMENT_MAX_SEGMENTS - 1), SEGMENT_MAX_SLOTS);
    /* 4 MiB / 128: 32 KiB, as later threads had before. */
    ck_assert_uint_eq(slots_ring_capacity(2, DEFAULT_CAPACITY, false) * RECORD_BYTES, 32u * 1024);
    ck_assert_uint_eq(slots_ring_capacity(7, DEFAULT_CAPACITY, false),
                      slots_ring_capacity(2, DEFAULT_CAPACITY, false));
    /* 256 MiB, the largest ring allowed: a 128th is 2 MiB. */
    uint32_t largest = 256u * 1024 * 1024 / RECORD_BYTES;
    ck_assert_uint_eq(slots_ring_capacity(2, largest, false), largest / 128);
}
END_TEST

START_TEST(no_later_ring_is_under_32k_or_over_the_first)
{
    /* A 16 KiB ring: the floor would be above it, so the later rings are
     * the configured one. */
    ck_assert_uint_eq(slots_ring_capacity(1, 512, false), 512);
    ck_assert_uint_eq(slots_ring_capacity(2, 512, false), 512);
    /* 128 KiB: an eighth and a 128th are both under the floor. */
    ck_assert_uint_eq(slots_ring_capacity(1, 4096, false), SLOTS_MORE_MIN_CAPACITY);
    ck_assert_uint_eq(slots_ring_capacity(2, 4096, false), SLOTS_MORE_MIN_CAPACITY);
    ck_assert_uint_eq(SLOTS_MORE_MIN_CAPACITY * RECORD_BYTES, 32u * 1024);
}
END_TEST

START_TEST(an_image_that_joined_a_tree_gives_its_first_threads_an_eighth_of_the_ring)
{
    /* A forked or exec'd child: 512 KiB for its first 4 threads, as for
     * its next 256; later threads as in any image. */
    ck_assert_uint_eq(slots_ring_capacity(0, DEFAULT_CAPACITY, true) * RECORD_BYTES, 512u * 1024);
    ck_assert_uint_eq(slots_ring_capacity(1, DEFAULT_CAPACITY, true) * RECORD_BYTES, 512u * 1024);
    ck_assert_uint_eq(slots_ring_capacity(2, DEFAULT_CAPACITY, true),
                      slots_ring_capacity(2, DEFAULT_CAPACITY, false));
    ck_assert_uint_lt(slots_segment_bytes(0, DEFAULT_CAPACITY, true),
                      slots_segment_bytes(0, DEFAULT_CAPACITY, false) / 7);
    /* A small configured ring is never cut under the 32K floor, nor raised
     * over what was configured. */
    ck_assert_uint_eq(slots_ring_capacity(0, 4096, true), SLOTS_MORE_MIN_CAPACITY);
    ck_assert_uint_eq(slots_ring_capacity(0, 512, true), 512);
}
END_TEST

/* Makes segment `index` for a configured ring of `capacity` records (of an
 * image that joined a tree or not), checks it as the collector does, and
 * unmaps it. */
static void check_made_segment(uint32_t index, uint32_t capacity, bool joined)
{
    segment_t proto;
    memset(&proto, 0, sizeof proto);
    proto.pid = (uint32_t)getpid();
    size_t bytes = 0;
    int fd = -1;
    segment_t *seg = slots_make_segment(&proto, index, capacity, joined, &bytes, &fd);
    ck_assert_msg(seg != NULL, "segment %u of a %u-record ring was not made", index, capacity);
    segment_geometry_t geo;
    ck_assert_msg(segment_geometry_from(seg, bytes, &geo), "segment %u fails the geometry check", index);
    ck_assert_uint_eq(geo.index, index);
    ck_assert_uint_eq(geo.slot_count, slots_segment_slots(index));
    ck_assert_uint_eq(geo.ring_capacity, slots_ring_capacity(index, capacity, joined));
    ck_assert_uint_eq(bytes, slots_segment_bytes(index, capacity, joined));
    /* The last slot's ring ends inside the mapping. */
    segment_slot_t *last = segment_slot_at(seg, &geo, geo.slot_count - 1);
    char *ring_end = (char *)segment_ring_at(last, &geo) + ring_bytes_for(geo.ring_capacity);
    ck_assert((uintptr_t)ring_end <= (uintptr_t)seg + bytes);
    munmap(seg, bytes);
    close(fd);
}

START_TEST(every_segment_made_passes_the_collectors_geometry_check)
{
    for (uint32_t index = 0; index < 4; index++) {
        check_made_segment(index, DEFAULT_CAPACITY, false);
        check_made_segment(index, 512, false);
        check_made_segment(index, DEFAULT_CAPACITY, true);
        check_made_segment(index, 512, true);
    }
}
END_TEST

Suite *slots_suite(void)
{
    Suite *s = suite_create("slots");
    TCase *tc = tcase_create("geometry");
    tcase_add_test(tc, the_first_segment_gives_four_threads_the_configured_ring);
    tcase_add_test(tc, an_image_that_joined_a_tree_gives_its_first_threads_an_eighth_of_the_ring);
    tcase_add_test(tc, the_second_segment_gives_the_next_256_threads_an_eighth_of_it);
    tcase_add_test(tc, later_segments_double_their_slots_and_get_a_128th_of_the_ring);
    tcase_add_test(tc, no_later_ring_is_under_32k_or_over_the_first);
    tcase_add_test(tc, every_segment_made_passes_the_collectors_geometry_check);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(slots_suite)
