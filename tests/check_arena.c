/* check_arena.c - the arena (arena.c): reserving a 64 MiB region; carving
 * 64-aligned, committed, writable, zeroed spans that never overlap; lazy
 * commit in ARENA_COMMIT_CHUNK steps; ownership (arena_region_of and the
 * inline first-region test) for carved pointers and -1 for stack, heap,
 * reserved-but-uncommitted and out-of-arena addresses; growth into a second
 * region when the first is full (64 MiB regions, at most 3); exhaustion
 * returning NULL without crashing (max_regions 1, and 3 full regions);
 * reservation failures injected with prim_fail_next_maps failing init and
 * growth cleanly; arena_release counting only whole pages and leaving them
 * reading zero; arena_usage adding up; and destroy. With huge pages asked
 * for, every region starts on a 2 MiB boundary and its mapping carries the
 * kernel's huge-page advice (VmFlags "hg" in /proc/self/smaps), and carving
 * and growth work as before. Each test builds its own arena and destroys
 * it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "check_support.h"
#include "prim.h"

#define MiB ((size_t)1 << 20)
#define REGION_BYTES (64 * MiB)

static struct arena arena; /* static: 8 KiB of region slots */
static bool arena_live;    /* arena_init succeeded: teardown destroys */

static void init_arena_pages(uint32_t max_regions, bool huge_pages)
{
    ck_assert_msg(arena_init(&arena, REGION_BYTES, max_regions, huge_pages),
                  "arena_init refused 64 MiB");
    arena_live = true;
}

static void init_arena(uint32_t max_regions)
{
    init_arena_pages(max_regions, false);
}

static void teardown_arena(void)
{
    if (arena_live)
        arena_destroy(&arena);
    arena_live = false;
    prim_fail_next_maps(0);
}

static struct arena_usage usage(void)
{
    struct arena_usage u;
    arena_usage(&arena, &u);
    return u;
}

/* Carves the whole of the current (empty) region in 16 MiB spans. */
static void fill_region(void)
{
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(arena_carve(&arena, 16 * MiB));
}

/* ---- init ------------------------------------------------------------------ */

START_TEST(a_new_arena_reserves_one_region_and_commits_nothing)
{
    init_arena(3);
    struct arena_usage u = usage();
    ck_assert_uint_eq(u.regions, 1);
    ck_assert_uint_eq(u.reserved_bytes, REGION_BYTES);
    ck_assert_uint_eq(u.committed_bytes, 0);
    ck_assert_uint_eq(u.carved_bytes, 0);
    ck_assert_uint_eq(u.released_bytes, 0);
}
END_TEST

START_TEST(a_region_size_is_rounded_up_to_whole_pages)
{
    ck_assert(arena_init(&arena, REGION_BYTES + 1, 1, false));
    arena_live = true;
    ck_assert_uint_eq(usage().reserved_bytes, REGION_BYTES + prim_page_size());
}
END_TEST

START_TEST(a_region_limit_above_the_hard_cap_is_clamped)
{
    init_arena(100000);
    ck_assert_uint_eq(arena.max_regions, ARENA_REGION_LIMIT);
}
END_TEST

START_TEST(init_fails_cleanly_when_the_reservation_is_refused)
{
    prim_fail_next_maps(1);
    ck_assert(!arena_init(&arena, REGION_BYTES, 3, false));
    ck_assert_uint_eq(usage().regions, 0);
    int on_stack;
    ck_assert_int_eq(arena_region_of(&arena, &on_stack), -1);
}
END_TEST

/* ---- carving --------------------------------------------------------------- */

START_TEST(carved_spans_are_64_aligned)
{
    init_arena(1);
    static const size_t sizes[] = {64, 192, 4160, 64 * 7, 1 * MiB + 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *span = arena_carve(&arena, sizes[i]);
        ck_assert_ptr_nonnull(span);
        ck_assert_msg((uintptr_t)span % 64 == 0, "span of %zu bytes at %p", sizes[i], span);
    }
}
END_TEST

START_TEST(consecutive_spans_are_adjacent_and_do_not_overlap)
{
    init_arena(1);
    char *first = arena_carve(&arena, 4096 + 64);
    char *second = arena_carve(&arena, 256 + 64);
    char *third = arena_carve(&arena, 64);
    ck_assert_ptr_eq(second, first + 4096 + 64);
    ck_assert_ptr_eq(third, second + 256 + 64);
}
END_TEST

START_TEST(carved_memory_is_writable_from_first_to_last_byte)
{
    init_arena(1);
    const size_t bytes = 6 * MiB; /* spans two commit chunks */
    unsigned char *span = arena_carve(&arena, bytes);
    ck_assert_ptr_nonnull(span);
    for (size_t at = 0; at < bytes; at += 4096)
        span[at] = (unsigned char)(at >> 12);
    span[bytes - 1] = 0x5a;
    size_t wrong = 0;
    for (size_t at = 0; at < bytes; at += 4096)
        wrong += span[at] != (unsigned char)(at >> 12);
    ck_assert_uint_eq(wrong, 0);
    ck_assert_uint_eq(span[bytes - 1], 0x5a);
}
END_TEST

START_TEST(fresh_carved_memory_reads_zero)
{
    init_arena(1);
    unsigned char *span = arena_carve(&arena, 64 * 1024);
    ck_assert_ptr_nonnull(span);
    size_t nonzero = 0;
    for (size_t at = 0; at < 64 * 1024; at++)
        nonzero += span[at] != 0;
    ck_assert_uint_eq(nonzero, 0);
}
END_TEST

START_TEST(carving_commits_ahead_in_whole_chunks)
{
    init_arena(1);
    ck_assert_ptr_nonnull(arena_carve(&arena, 64));
    ck_assert_uint_eq(usage().committed_bytes, ARENA_COMMIT_CHUNK);
    ck_assert_ptr_nonnull(arena_carve(&arena, ARENA_COMMIT_CHUNK));
    ck_assert_uint_eq(usage().committed_bytes, 2 * ARENA_COMMIT_CHUNK);
}
END_TEST

START_TEST(a_region_can_be_carved_to_its_last_byte)
{
    init_arena(1);
    char *span = arena_carve(&arena, REGION_BYTES);
    ck_assert_ptr_nonnull(span);
    span[REGION_BYTES - 1] = 1;
    ck_assert_uint_eq(usage().committed_bytes, REGION_BYTES);
}
END_TEST

/* ---- ownership ------------------------------------------------------------- */

START_TEST(the_user_pointer_of_a_carved_block_belongs_to_region_0)
{
    init_arena(1);
    char *span = arena_carve(&arena, 256 + 64);
    ck_assert_int_eq(arena_region_of(&arena, span + 64), 0);
    ck_assert(arena_in_first_region(&arena, span + 64));
}
END_TEST

START_TEST(the_last_committed_byte_belongs_to_region_0)
{
    init_arena(1);
    char *span = arena_carve(&arena, 64);
    char *last = span + usage().committed_bytes - 1;
    ck_assert_int_eq(arena_region_of(&arena, last), 0);
    ck_assert(arena_in_first_region(&arena, last));
}
END_TEST

START_TEST(the_region_base_itself_is_not_owned_because_no_header_fits_before_it)
{
    init_arena(1);
    char *span = arena_carve(&arena, 64);
    ck_assert_ptr_eq(span, arena.regions[0].base);
    ck_assert_int_eq(arena_region_of(&arena, span), -1);
    ck_assert(!arena_in_first_region(&arena, span));
}
END_TEST

START_TEST(a_stack_address_is_not_owned)
{
    init_arena(1);
    ck_assert_ptr_nonnull(arena_carve(&arena, 64));
    char on_stack[128];
    ck_assert_int_eq(arena_region_of(&arena, on_stack + 64), -1);
    ck_assert(!arena_in_first_region(&arena, on_stack + 64));
}
END_TEST

START_TEST(a_heap_address_is_not_owned)
{
    init_arena(1);
    ck_assert_ptr_nonnull(arena_carve(&arena, 64));
    char *heap = malloc(256);
    ck_assert_ptr_nonnull(heap);
    ck_assert_int_eq(arena_region_of(&arena, heap + 64), -1);
    ck_assert(!arena_in_first_region(&arena, heap + 64));
    free(heap);
}
END_TEST

START_TEST(a_reserved_but_uncommitted_address_is_not_owned)
{
    init_arena(1);
    char *span = arena_carve(&arena, 64);
    char *beyond = span + usage().committed_bytes; /* first uncommitted byte */
    ck_assert_int_eq(arena_region_of(&arena, beyond), -1);
    ck_assert_int_eq(arena_region_of(&arena, beyond + 64), -1);
    ck_assert_int_eq(arena_region_of(&arena, span + REGION_BYTES - 64), -1);
    ck_assert(!arena_in_first_region(&arena, beyond + 64));
}
END_TEST

START_TEST(null_and_the_top_of_the_address_space_are_not_owned)
{
    init_arena(1);
    ck_assert_ptr_nonnull(arena_carve(&arena, 64));
    ck_assert_int_eq(arena_region_of(&arena, NULL), -1);
    ck_assert_int_eq(arena_region_of(&arena, (void *)UINTPTR_MAX), -1);
    ck_assert(!arena_in_first_region(&arena, NULL));
}
END_TEST

START_TEST(a_fresh_region_owns_nothing_until_a_span_is_carved)
{
    init_arena(1);
    ck_assert_int_eq(arena_region_of(&arena, arena.regions[0].base + 64), -1);
}
END_TEST

/* ---- growth and exhaustion ------------------------------------------------ */

START_TEST(a_full_region_grows_the_arena_into_a_second_one)
{
    init_arena(3);
    fill_region();
    ck_assert_uint_eq(usage().regions, 1);
    char *next = arena_carve(&arena, 64 * 1024);
    ck_assert_ptr_nonnull(next);
    ck_assert_uint_eq(usage().regions, 2);
    ck_assert_ptr_eq(next, arena.regions[1].base);
}
END_TEST

START_TEST(blocks_in_the_second_region_belong_to_region_1)
{
    init_arena(3);
    char *old = arena_carve(&arena, 16 * MiB);
    for (int i = 0; i < 3; i++)
        arena_carve(&arena, 16 * MiB);
    char *next = arena_carve(&arena, 4096);
    ck_assert_ptr_nonnull(next);
    ck_assert_int_eq(arena_region_of(&arena, next + 64), 1);
    ck_assert(!arena_in_first_region(&arena, next + 64));
    ck_assert_int_eq(arena_region_of(&arena, old + 64), 0); /* old blocks stay owned */
}
END_TEST

START_TEST(a_span_that_does_not_fit_the_rest_of_a_region_starts_the_next)
{
    init_arena(3);
    ck_assert_ptr_nonnull(arena_carve(&arena, 48 * MiB));
    char *span = arena_carve(&arena, 32 * MiB);
    ck_assert_ptr_nonnull(span);
    ck_assert_ptr_eq(span, arena.regions[1].base);
    ck_assert_uint_eq(usage().carved_bytes, 80 * MiB);
}
END_TEST

START_TEST(a_span_larger_than_a_region_is_refused)
{
    init_arena(3);
    ck_assert_ptr_null(arena_carve(&arena, REGION_BYTES + 64));
    ck_assert_uint_eq(usage().regions, 1);
    ck_assert_uint_eq(usage().carved_bytes, 0);
}
END_TEST

START_TEST(a_single_region_arena_returns_null_when_full)
{
    init_arena(1);
    fill_region();
    ck_assert_ptr_null(arena_carve(&arena, 64));
    ck_assert_uint_eq(usage().regions, 1);
    ck_assert_uint_eq(usage().carved_bytes, REGION_BYTES);
}
END_TEST

START_TEST(a_full_arena_keeps_returning_null_without_crashing)
{
    init_arena(1);
    fill_region();
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_null(arena_carve(&arena, 64 * (size_t)(i + 1)));
    ck_assert_uint_eq(usage().carved_bytes, REGION_BYTES);
}
END_TEST

START_TEST(the_arena_stops_growing_at_max_regions)
{
    init_arena(3);
    for (int region = 0; region < 3; region++)
        fill_region();
    ck_assert_uint_eq(usage().regions, 3);
    ck_assert_ptr_null(arena_carve(&arena, 64));
    ck_assert_uint_eq(usage().regions, 3);
}
END_TEST

START_TEST(a_refused_reservation_fails_growth_cleanly)
{
    init_arena(3);
    fill_region();
    prim_fail_next_maps(1);
    ck_assert_ptr_null(arena_carve(&arena, 64));
    struct arena_usage u = usage();
    ck_assert_uint_eq(u.regions, 1);
    ck_assert_uint_eq(u.carved_bytes, REGION_BYTES);
}
END_TEST

START_TEST(growth_succeeds_once_the_os_stops_refusing)
{
    init_arena(3);
    fill_region();
    prim_fail_next_maps(1);
    ck_assert_ptr_null(arena_carve(&arena, 64));
    char *span = arena_carve(&arena, 64);
    ck_assert_ptr_nonnull(span);
    ck_assert_uint_eq(usage().regions, 2);
    span[63] = 1;
}
END_TEST

/* ---- release ---------------------------------------------------------------- */

START_TEST(released_pages_are_counted)
{
    init_arena(1);
    char *span = arena_carve(&arena, 1 * MiB);
    arena_release(&arena, span, 1 * MiB);
    ck_assert_uint_eq(usage().released_bytes, 1 * MiB);
}
END_TEST

START_TEST(released_memory_reads_zero_afterwards)
{
    init_arena(1);
    unsigned char *span = arena_carve(&arena, 1 * MiB);
    memset(span, 0xab, 1 * MiB);
    arena_release(&arena, span, 1 * MiB);
    size_t nonzero = 0;
    for (size_t at = 0; at < 1 * MiB; at++)
        nonzero += span[at] != 0;
    ck_assert_uint_eq(nonzero, 0);
}
END_TEST

START_TEST(released_memory_stays_writable)
{
    init_arena(1);
    unsigned char *span = arena_carve(&arena, 1 * MiB);
    arena_release(&arena, span, 1 * MiB);
    span[4096] = 7;
    ck_assert_uint_eq(span[4096], 7);
    ck_assert_int_eq(arena_region_of(&arena, span + 64), 0);
}
END_TEST

START_TEST(only_whole_pages_inside_the_range_are_released)
{
    init_arena(1);
    size_t page = prim_page_size();
    unsigned char *span = arena_carve(&arena, 4 * page);
    memset(span, 0xab, 4 * page);
    /* [100, 100 + 2 pages) holds exactly one whole page: [page, 2 page). */
    arena_release(&arena, span + 100, 2 * page);
    ck_assert_uint_eq(usage().released_bytes, page);
    ck_assert_uint_eq(span[page - 1], 0xab);
    ck_assert_uint_eq(span[page], 0);
    ck_assert_uint_eq(span[2 * page - 1], 0);
    ck_assert_uint_eq(span[2 * page], 0xab);
    ck_assert_uint_eq(span[100 + 2 * page - 1], 0xab);
}
END_TEST

START_TEST(a_range_inside_one_page_releases_nothing)
{
    init_arena(1);
    unsigned char *span = arena_carve(&arena, 4096);
    memset(span, 0xab, 4096);
    arena_release(&arena, span + 64, 1024);
    ck_assert_uint_eq(usage().released_bytes, 0);
    ck_assert_uint_eq(span[64], 0xab);
}
END_TEST

/* ---- usage and teardown --------------------------------------------------- */

START_TEST(usage_adds_up_over_regions_carves_and_releases)
{
    init_arena(3);
    size_t carved = 0;
    fill_region();
    carved += REGION_BYTES;
    char *span = arena_carve(&arena, 5 * MiB + 64);
    carved += 5 * MiB + 64;
    arena_release(&arena, span, 2 * MiB);
    struct arena_usage u = usage();
    ck_assert_uint_eq(u.regions, 2);
    ck_assert_uint_eq(u.reserved_bytes, 2 * REGION_BYTES);
    ck_assert_uint_eq(u.carved_bytes, carved);
    /* Region 0 fully committed; region 1 up to the chunk after 5 MiB + 64. */
    ck_assert_uint_eq(u.committed_bytes, REGION_BYTES + 2 * ARENA_COMMIT_CHUNK);
    ck_assert_uint_ge(u.committed_bytes, u.carved_bytes);
    ck_assert_uint_eq(u.released_bytes, 2 * MiB);
}
END_TEST

START_TEST(destroy_forgets_every_region)
{
    init_arena(3);
    fill_region();
    char *span = arena_carve(&arena, 4096);
    arena_destroy(&arena);
    arena_live = false;
    ck_assert_uint_eq(usage().regions, 0);
    ck_assert_int_eq(arena_region_of(&arena, span + 64), -1);
}
END_TEST

/* ---- huge pages ---------------------------------------------------------- */

/* Whether the mapping that holds p carries flag (a two-letter VmFlags
 * word of /proc/self/smaps). Fails the test if p is in no mapping. */
static bool mapping_has_flag(const void *p, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    bool inside = false, found = false, seen = false;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            seen |= inside;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            size_t len = strlen(flag);
            for (char *at = line + 8; (at = strstr(at, flag)) != NULL; at += len)
                if (at[-1] == ' ' && (at[len] == ' ' || at[len] == '\n'))
                    found = true;
        }
    }
    fclose(f);
    ck_assert_msg(seen, "%p is in no mapping of /proc/self/smaps", p);
    return found;
}

/* Whether this kernel has transparent huge pages at all: without them
 * madvise(MADV_HUGEPAGE) is refused and no mapping can carry "hg". */
static bool kernel_has_huge_pages(void)
{
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

START_TEST(an_arena_asked_for_huge_pages_starts_its_regions_on_a_2m_boundary)
{
    init_arena_pages(2, true);
    ck_assert_uint_eq((uintptr_t)arena.regions[0].base % PRIM_HUGE_PAGE, 0);
    ck_assert_uint_eq(usage().reserved_bytes, REGION_BYTES);
    fill_region();
    ck_assert_ptr_nonnull(arena_carve(&arena, 64 * 1024));
    ck_assert_uint_eq(usage().regions, 2);
    ck_assert_uint_eq((uintptr_t)arena.regions[1].base % PRIM_HUGE_PAGE, 0);
}
END_TEST

START_TEST(an_arena_asked_for_huge_pages_marks_its_mapping_for_them)
{
    init_arena_pages(1, true);
    char *span = arena_carve(&arena, 1 * MiB);
    ck_assert_ptr_nonnull(span);
    /* Both the committed part and the part still reserved carry it: the
     * advice was given to the whole reservation, before any commit split it. */
    ck_assert(mapping_has_flag(span, "hg") == kernel_has_huge_pages());
    ck_assert(mapping_has_flag(arena.regions[0].base + REGION_BYTES - 4096, "hg") ==
              kernel_has_huge_pages());
}
END_TEST

START_TEST(an_arena_not_asked_for_huge_pages_leaves_its_mapping_without_the_advice)
{
    init_arena(1);
    char *span = arena_carve(&arena, 1 * MiB);
    ck_assert_ptr_nonnull(span);
    ck_assert(!mapping_has_flag(span, "hg"));
}
END_TEST

START_TEST(huge_page_regions_hold_writable_zeroed_memory_owned_by_their_region)
{
    init_arena_pages(1, true);
    char *span = arena_carve(&arena, 3 * MiB);
    ck_assert_ptr_nonnull(span);
    for (size_t at = 0; at < 3 * MiB; at += 4096)
        ck_assert_int_eq(span[at], 0);
    memset(span, 0x5a, 3 * MiB);
    ck_assert_int_eq(span[3 * MiB - 1], 0x5a);
    ck_assert_int_eq(arena_region_of(&arena, span + 64), 0);
}
END_TEST

START_TEST(a_huge_page_arena_fails_cleanly_when_the_reservation_is_refused)
{
    prim_fail_next_maps(1);
    ck_assert(!arena_init(&arena, REGION_BYTES, 3, true));
    ck_assert_uint_eq(usage().regions, 0);
}
END_TEST

Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");

    TCase *init = tcase_create("init");
    tcase_add_checked_fixture(init, NULL, teardown_arena);
    tcase_add_test(init, a_new_arena_reserves_one_region_and_commits_nothing);
    tcase_add_test(init, a_region_size_is_rounded_up_to_whole_pages);
    tcase_add_test(init, a_region_limit_above_the_hard_cap_is_clamped);
    tcase_add_test(init, init_fails_cleanly_when_the_reservation_is_refused);
    suite_add_tcase(s, init);

    TCase *carve = tcase_create("carving");
    tcase_add_checked_fixture(carve, NULL, teardown_arena);
    tcase_add_test(carve, carved_spans_are_64_aligned);
    tcase_add_test(carve, consecutive_spans_are_adjacent_and_do_not_overlap);
    tcase_add_test(carve, carved_memory_is_writable_from_first_to_last_byte);
    tcase_add_test(carve, fresh_carved_memory_reads_zero);
    tcase_add_test(carve, carving_commits_ahead_in_whole_chunks);
    tcase_add_test(carve, a_region_can_be_carved_to_its_last_byte);
    suite_add_tcase(s, carve);

    TCase *owner = tcase_create("ownership");
    tcase_add_checked_fixture(owner, NULL, teardown_arena);
    tcase_add_test(owner, the_user_pointer_of_a_carved_block_belongs_to_region_0);
    tcase_add_test(owner, the_last_committed_byte_belongs_to_region_0);
    tcase_add_test(owner, the_region_base_itself_is_not_owned_because_no_header_fits_before_it);
    tcase_add_test(owner, a_stack_address_is_not_owned);
    tcase_add_test(owner, a_heap_address_is_not_owned);
    tcase_add_test(owner, a_reserved_but_uncommitted_address_is_not_owned);
    tcase_add_test(owner, null_and_the_top_of_the_address_space_are_not_owned);
    tcase_add_test(owner, a_fresh_region_owns_nothing_until_a_span_is_carved);
    suite_add_tcase(s, owner);

    TCase *growth = tcase_create("growth");
    tcase_add_checked_fixture(growth, NULL, teardown_arena);
    tcase_add_test(growth, a_full_region_grows_the_arena_into_a_second_one);
    tcase_add_test(growth, blocks_in_the_second_region_belong_to_region_1);
    tcase_add_test(growth, a_span_that_does_not_fit_the_rest_of_a_region_starts_the_next);
    tcase_add_test(growth, a_span_larger_than_a_region_is_refused);
    tcase_add_test(growth, a_single_region_arena_returns_null_when_full);
    tcase_add_test(growth, a_full_arena_keeps_returning_null_without_crashing);
    tcase_add_test(growth, the_arena_stops_growing_at_max_regions);
    tcase_add_test(growth, a_refused_reservation_fails_growth_cleanly);
    tcase_add_test(growth, growth_succeeds_once_the_os_stops_refusing);
    suite_add_tcase(s, growth);

    TCase *release = tcase_create("release");
    tcase_add_checked_fixture(release, NULL, teardown_arena);
    tcase_add_test(release, released_pages_are_counted);
    tcase_add_test(release, released_memory_reads_zero_afterwards);
    tcase_add_test(release, released_memory_stays_writable);
    tcase_add_test(release, only_whole_pages_inside_the_range_are_released);
    tcase_add_test(release, a_range_inside_one_page_releases_nothing);
    suite_add_tcase(s, release);

    TCase *huge = tcase_create("huge pages");
    tcase_add_checked_fixture(huge, NULL, teardown_arena);
    tcase_add_test(huge, an_arena_asked_for_huge_pages_starts_its_regions_on_a_2m_boundary);
    tcase_add_test(huge, an_arena_asked_for_huge_pages_marks_its_mapping_for_them);
    tcase_add_test(huge, an_arena_not_asked_for_huge_pages_leaves_its_mapping_without_the_advice);
    tcase_add_test(huge, huge_page_regions_hold_writable_zeroed_memory_owned_by_their_region);
    tcase_add_test(huge, a_huge_page_arena_fails_cleanly_when_the_reservation_is_refused);
    suite_add_tcase(s, huge);

    TCase *totals = tcase_create("usage");
    tcase_add_checked_fixture(totals, NULL, teardown_arena);
    tcase_add_test(totals, usage_adds_up_over_regions_carves_and_releases);
    tcase_add_test(totals, destroy_forgets_every_region);
    suite_add_tcase(s, totals);
    return s;
}

CHECK_SUPPORT_MAIN(arena_suite)
