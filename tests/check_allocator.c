/* check_allocator.c - the allocator instance (allocator.c) through the
 * public instance API: create/destroy, the small path from thread cache to
 * central pool to arena, over-alignment, validation of every free (each
 * status code), arena exhaustion under a small configuration, stats that
 * add up, trim, and the large blocks a cache holds on its own (reuse,
 * cross-cache frees, retirement). Each test builds its own instance, so tests do not
 * share state with the process-global allocator. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "allocator.h"
#include "check_support.h"
#include "orthotope.h"
#include "prim.h"

static ortho_allocator_t *make_allocator(const ortho_config_t *config)
{
    ortho_allocator_t *a = NULL;
    ck_assert_int_eq(ortho_allocator_create(config, &a), ORTHO_OK);
    ck_assert_ptr_nonnull(a);
    return a;
}

/* Most tests run on a default instance with one cache, made and destroyed
 * around each test by this fixture (Check runs it in the test's process). */
static ortho_allocator_t *fixture_allocator;
static ortho_cache_t *fixture_cache;

static void fixture_setup(void)
{
    fixture_allocator = make_allocator(NULL);
    ck_assert_int_eq(ortho_cache_create(fixture_allocator, &fixture_cache), ORTHO_OK);
}

static void fixture_teardown(void)
{
    ortho_cache_destroy(fixture_cache);
    ck_assert_int_eq(ortho_allocator_destroy(fixture_allocator), ORTHO_OK);
}

static ortho_config_t small_arena_config(void)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.arena_region_bytes = (size_t)64 << 20;
    config.arena_max_regions = 1;
    return config;
}

START_TEST(a_fresh_instance_hands_out_64_aligned_writable_blocks)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ck_assert_int_eq(ortho_cache_create(a, &c), ORTHO_OK);
    static const size_t sizes[] = {1, 64, 65, 256, 4096, 6144, 8192, 70000, 1 << 20, 16 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = ortho_cache_alloc(c, sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        memset(p, 0xab, sizes[i]);
        ck_assert_uint_eq(p[sizes[i] - 1], 0xab);
        ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    }
    ortho_cache_destroy(c);
    ck_assert_int_eq(ortho_allocator_destroy(a), ORTHO_OK);
}
END_TEST

START_TEST(a_freed_block_is_the_next_one_handed_out_on_the_same_thread)
{
    ortho_cache_t *c = fixture_cache;
    void *first = ortho_cache_alloc(c, 100);
    ck_assert_int_eq(ortho_cache_free(c, first), ORTHO_OK);
    void *second = ortho_cache_alloc(c, 200); /* same 256-byte class */
    ck_assert_ptr_eq(first, second);
    ortho_cache_free(c, second);
}
END_TEST

START_TEST(usable_size_is_the_class_payload_and_never_below_the_request)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, 65);
    ck_assert_uint_eq(allocator_usable_size(a, p), 256);
    void *q = ortho_cache_alloc(c, 4097);
    ck_assert_uint_eq(allocator_usable_size(a, q), 6144);
    ortho_cache_free(c, p);
    ortho_cache_free(c, q);
    ck_assert_uint_eq(allocator_usable_size(a, p), 0); /* freed: does not validate */
}
END_TEST

START_TEST(over_aligned_requests_honour_every_power_of_two_up_to_2_mib)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    for (size_t align = 8; align <= ((size_t)2 << 20); align <<= 1) {
        unsigned char *p = ortho_cache_alloc_aligned(c, 1000, align);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % align, 0);
        memset(p, 1, 1000);
        ck_assert_uint_ge(allocator_usable_size(a, p), 1000);
        ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    }
}
END_TEST

START_TEST(an_alignment_that_is_not_a_power_of_two_is_refused_with_bad_align)
{
    ortho_cache_t *c = fixture_cache;
    errno = 0;
    ck_assert_ptr_null(ortho_cache_alloc_aligned(c, 64, 96));
    ck_assert_int_eq(ortho_last_status(), ORTHO_E_BAD_ALIGN);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ptr_null(ortho_cache_alloc_aligned(c, 64, 4)); /* below sizeof(void *) */
}
END_TEST

START_TEST(a_zero_size_request_fails_with_zero_size)
{
    ortho_cache_t *c = fixture_cache;
    errno = 0;
    ck_assert_ptr_null(ortho_cache_alloc(c, 0));
    ck_assert_int_eq(ortho_last_status(), ORTHO_E_ZERO_SIZE);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(a_small_arena_runs_out_with_nomem_instead_of_crashing)
{
    ortho_config_t config = small_arena_config();
    ortho_allocator_t *a = make_allocator(&config);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    size_t served = 0;
    void *p;
    errno = 0;
    while ((p = ortho_cache_alloc(c, 1 << 20)) != NULL)
        served++;
    ck_assert_int_eq(ortho_last_status(), ORTHO_E_NOMEM);
    ck_assert_int_eq(errno, ENOMEM);
    /* 64 MiB of blocks of 1 MiB + 64 bytes: at most 63 fit. */
    ck_assert_uint_ge(served, 32);
    ck_assert_uint_le(served, 63);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

START_TEST(the_arena_grows_into_new_regions_when_one_is_full)
{
    ortho_config_t config = small_arena_config();
    config.arena_max_regions = 4;
    ortho_allocator_t *a = make_allocator(&config);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    for (int i = 0; i < 150; i++)
        ck_assert_ptr_nonnull(ortho_cache_alloc(c, 1 << 20));
    ortho_stats_t stats;
    ortho_allocator_stats(a, &stats);
    ck_assert_uint_ge(stats.arena_regions, 3);
    ck_assert_uint_eq(stats.classes[10].live_blocks, 150);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

START_TEST(an_invalid_config_is_refused_with_invalid_config)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.arena_region_bytes = 1 << 20; /* below the 64 MiB minimum */
    ortho_allocator_t *a = (ortho_allocator_t *)&config;
    ck_assert_int_eq(ortho_allocator_create(&config, &a), ORTHO_E_BAD_CONFIG);
    ck_assert_ptr_null(a);
    ortho_config_default(&config);
    config.arena_max_regions = 0;
    ck_assert_int_eq(ortho_allocator_create(&config, &a), ORTHO_E_BAD_CONFIG);
}
END_TEST

START_TEST(an_instance_whose_first_region_cannot_be_reserved_reports_nomem)
{
    ortho_allocator_t *a = NULL;
    prim_fail_next_maps(2); /* the instance struct mapping, then the region */
    ck_assert_int_eq(ortho_allocator_create(NULL, &a), ORTHO_E_NOMEM);
    ck_assert_ptr_null(a);
    prim_fail_next_maps(0);
}
END_TEST

START_TEST(destroying_an_instance_with_a_live_cache_is_refused_with_busy)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    ck_assert_int_eq(ortho_allocator_destroy(a), ORTHO_E_BUSY);
    ortho_cache_destroy(c);
    ck_assert_int_eq(ortho_allocator_destroy(a), ORTHO_OK);
}
END_TEST

/* ---- every free status ---- */

START_TEST(freeing_a_block_twice_reports_double_free_and_changes_nothing)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, 48);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    ortho_stats_t before, after;
    ortho_allocator_stats(a, &before);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_E_DOUBLE_FREE);
    ortho_allocator_stats(a, &after);
    ck_assert_uint_eq(before.classes[0].cached_blocks, after.classes[0].cached_blocks);
    /* The block is handed out once, not twice. */
    void *x = ortho_cache_alloc(c, 48);
    void *y = ortho_cache_alloc(c, 48);
    ck_assert_ptr_ne(x, y);
}
END_TEST

START_TEST(freeing_a_large_block_twice_reports_double_free)
{
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, (size_t)20 << 20);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(freeing_a_stack_address_reports_foreign_pointer)
{
    ortho_cache_t *c = fixture_cache;
    _Alignas(64) char local[128];
    ck_assert_int_eq(ortho_cache_free(c, local + 64), ORTHO_E_FOREIGN);
}
END_TEST

START_TEST(freeing_another_instances_block_reports_foreign_pointer)
{
    ortho_allocator_t *a = make_allocator(NULL), *b = make_allocator(NULL);
    ortho_cache_t *ca, *cb;
    ortho_cache_create(a, &ca);
    ortho_cache_create(b, &cb);
    void *p = ortho_cache_alloc(ca, 64);
    ck_assert_int_eq(ortho_cache_free(cb, p), ORTHO_E_FOREIGN);
    ck_assert_int_eq(ortho_cache_free(ca, p), ORTHO_OK);
    ortho_cache_destroy(ca);
    ortho_cache_destroy(cb);
    ortho_allocator_destroy(a);
    ortho_allocator_destroy(b);
}
END_TEST

START_TEST(freeing_an_unaligned_pointer_inside_a_block_reports_misaligned_pointer)
{
    ortho_cache_t *c = fixture_cache;
    char *p = ortho_cache_alloc(c, 200);
    ck_assert_int_eq(ortho_cache_free(c, p + 8), ORTHO_E_MISALIGNED);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
}
END_TEST

START_TEST(freeing_an_interior_pointer_reports_a_corrupt_header)
{
    ortho_cache_t *c = fixture_cache;
    char *p = ortho_cache_alloc(c, 200);
    memset(p, 0, 200);
    ck_assert_int_eq(ortho_cache_free(c, p + 128), ORTHO_E_CORRUPT);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
}
END_TEST

/* Writes `value` `back` bytes before p, frees, and checks the free is
 * refused as corrupt and the block never comes back. */
static void check_underflow_caught(size_t back, unsigned char value)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    unsigned char *p = ortho_cache_alloc(c, 200);
    p[-(ptrdiff_t)back] ^= value;
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_E_CORRUPT);
    for (int i = 0; i < 1000; i++)
        ck_assert_ptr_ne(ortho_cache_alloc(c, 200), p);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}

START_TEST(a_one_byte_underflow_is_caught_and_the_block_is_not_reused)
{
    check_underflow_caught(1, 0x01);
}
END_TEST

START_TEST(an_underflow_over_the_magic_is_caught)
{
    check_underflow_caught(8, 0x20);
}
END_TEST

START_TEST(an_underflow_into_the_size_fields_is_caught)
{
    check_underflow_caught(20, 0x5a); /* inside usable_bytes */
    check_underflow_caught(30, 0x01); /* inside requested_bytes */
}
END_TEST

START_TEST(a_sized_free_with_the_wrong_size_reports_size_mismatch_and_keeps_the_block)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, 100);
    ck_assert_int_eq(ortho_cache_free_sized(c, p, 101), ORTHO_E_SIZE_MISMATCH);
    ck_assert_uint_eq(allocator_usable_size(a, p), 256); /* still live */
    ck_assert_int_eq(ortho_cache_free_sized(c, p, 100), ORTHO_OK);
    void *big = ortho_cache_alloc(c, (size_t)17 << 20);
    ck_assert_int_eq(ortho_cache_free_sized(c, big, 1), ORTHO_E_SIZE_MISMATCH);
    ck_assert_int_eq(ortho_cache_free_sized(c, big, (size_t)17 << 20), ORTHO_OK);
}
END_TEST

START_TEST(freeing_null_is_ok)
{
    ortho_cache_t *c = fixture_cache;
    ck_assert_int_eq(ortho_cache_free(c, NULL), ORTHO_OK);
    ck_assert_int_eq(ortho_cache_free_sized(c, NULL, 10), ORTHO_OK);
}
END_TEST

/* ---- stats ---- */

START_TEST(stats_count_live_cached_and_pooled_blocks_exactly)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    enum { COUNT = 1000 };
    static void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++)
        blocks[i] = ortho_cache_alloc(c, 100);
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.classes[1].live_blocks, COUNT);
    ck_assert_uint_eq(s.classes[1].live_requested_bytes, COUNT * 100);
    ck_assert_uint_eq(s.classes[1].live_usable_bytes, COUNT * 256);
    ck_assert_uint_eq(s.classes[1].carved_blocks,
                      s.classes[1].live_blocks + s.classes[1].cached_blocks + s.classes[1].pool_blocks);
    for (int i = 0; i < COUNT; i++)
        ortho_cache_free(c, blocks[i]);
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.classes[1].live_blocks, 0);
    ck_assert_uint_eq(s.classes[1].live_requested_bytes, 0);
    /* 1000 frees overflow a 512-block cache: batches went to the pool. */
    ck_assert_uint_gt(s.classes[1].pool_blocks, 0);
    ck_assert_uint_le(s.classes[1].cached_blocks, 512);
    ck_assert_uint_eq(s.classes[1].cached_blocks + s.classes[1].pool_blocks,
                      s.classes[1].carved_blocks);
}
END_TEST

START_TEST(stats_track_the_large_path_live_and_retained)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    size_t n = (size_t)20 << 20;
    void *p = ortho_cache_alloc(c, n);
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.large_live_blocks, 1);
    ck_assert_uint_eq(s.large_live_requested_bytes, n);
    ck_assert_uint_ge(s.large_live_mapped_bytes, n + 64);
    ortho_cache_free(c, p);
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.large_live_blocks, 0);
    ck_assert_uint_eq(s.large_free_blocks, 1);
    ck_assert_uint_ge(s.large_free_bytes, n);
    ck_assert_uint_eq(s.large_allocs, 1);
    ck_assert_uint_eq(s.large_frees, 1);
}
END_TEST

START_TEST(destroying_a_cache_hands_its_blocks_to_the_central_pool)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    void *p = ortho_cache_alloc(c, 64);
    ortho_cache_free(c, p);
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    uint64_t cached = s.classes[0].cached_blocks;
    ck_assert_uint_gt(cached, 0);
    ck_assert_uint_eq(s.threads, 1);
    ortho_cache_destroy(c);
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.classes[0].cached_blocks, 0);
    ck_assert_uint_eq(s.classes[0].pool_blocks, cached);
    ck_assert_uint_eq(s.threads, 0);
    ortho_allocator_destroy(a);
}
END_TEST

START_TEST(a_new_cache_refills_from_the_central_pool_before_carving)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    ortho_cache_free(c, ortho_cache_alloc(c, 64));
    ortho_cache_destroy(c);
    ortho_stats_t before, after;
    ortho_allocator_stats(a, &before);
    ortho_cache_create(a, &c);
    ortho_cache_alloc(c, 64);
    ortho_allocator_stats(a, &after);
    ck_assert_uint_eq(after.classes[0].carved_blocks, before.classes[0].carved_blocks);
    ck_assert_uint_lt(after.classes[0].pool_blocks, before.classes[0].pool_blocks);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

START_TEST(trim_returns_pooled_pages_of_big_classes_and_retained_large_mappings)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    void *mid[4];
    for (int i = 0; i < 4; i++)
        mid[i] = ortho_cache_alloc(c, 1 << 20);
    void *big = ortho_cache_alloc(c, (size_t)20 << 20);
    for (int i = 0; i < 4; i++)
        memset(mid[i], 1, 1 << 20);
    for (int i = 0; i < 4; i++)
        ortho_cache_free(c, mid[i]);
    ortho_cache_free(c, big);
    ortho_cache_destroy(c); /* cached blocks go to the pool, where trim finds them */
    size_t released = ortho_allocator_trim(a);
    ck_assert_uint_ge(released, ((size_t)20 << 20) + 3 * ((size_t)1 << 20));
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.large_free_blocks, 0);
    ck_assert_uint_gt(s.arena_released_bytes, 0);
    ortho_allocator_destroy(a);
}
END_TEST

/* Takes n 64-byte blocks from c (kept live) and returns the carved count. */
static uint64_t carve_after_allocs(ortho_allocator_t *a, ortho_cache_t *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ck_assert_ptr_nonnull(ortho_cache_alloc(c, 64));
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    return s.classes[0].carved_blocks;
}

START_TEST(the_refill_batch_grows_from_a_few_blocks_to_the_configured_count)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.cache_refill_blocks = 7;
    ortho_allocator_t *a = make_allocator(&config);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    /* A first refill carves 4 (a thread that needs a few blocks of a class
     * does not carve a whole batch), then 7, the configured batch, on. */
    ck_assert_uint_eq(carve_after_allocs(a, c, 1), 4);
    ck_assert_uint_eq(carve_after_allocs(a, c, 3), 4);
    ck_assert_uint_eq(carve_after_allocs(a, c, 1), 11);
    ck_assert_uint_eq(carve_after_allocs(a, c, 6), 11);
    ck_assert_uint_eq(carve_after_allocs(a, c, 1), 18);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

START_TEST(the_default_batch_is_reached_by_doubling_from_four)
{
    ortho_allocator_t *a = make_allocator(NULL);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    /* Each refill happens when the bin is empty: take what it holds plus
     * one. Batches 4, 8, 16, ..., 256 (half the 512-block cap), then 256. */
    uint64_t carved = 0, live = 0;
    for (uint64_t batch = 4; batch <= 512; batch *= 2) {
        uint64_t want = batch > 256 ? 256 : batch;
        uint64_t in_bin = carved - live;
        ck_assert_uint_eq(carve_after_allocs(a, c, (unsigned)(in_bin + 1)), carved + want);
        live += in_bin + 1;
        carved += want;
    }
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

/* With 64 caches sharing a 1 MiB budget, each thread's share is 16 KiB:
 * a cache that freed 1,000 blocks of 128 bytes (64 + header) keeps at most
 * 128 of them and gives the rest to the pool. With one cache the same
 * frees keep up to the configured 512 (more than half after the last
 * drain). */
START_TEST(caches_hold_less_as_more_threads_share_the_cache_budget)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.cache_total_bytes = (size_t)1 << 20;
    for (unsigned caches = 1; caches <= 64; caches += 63) {
        ortho_allocator_t *a = make_allocator(&config);
        ortho_cache_t *c[64];
        for (unsigned i = 0; i < caches; i++)
            ck_assert_int_eq(ortho_cache_create(a, &c[i]), ORTHO_OK);
        void *p[1000];
        for (unsigned i = 0; i < 1000; i++)
            ck_assert_ptr_nonnull(p[i] = ortho_cache_alloc(c[0], 64));
        for (unsigned i = 0; i < 1000; i++)
            ck_assert_int_eq(ortho_cache_free(c[0], p[i]), ORTHO_OK);
        ortho_stats_t s;
        ortho_allocator_stats(a, &s);
        if (caches == 1) {
            ck_assert_uint_gt(s.classes[0].cached_blocks, 256);
            ck_assert_uint_le(s.classes[0].cached_blocks, 512);
        } else
            ck_assert_uint_le(s.classes[0].cached_blocks, 128);
        ck_assert_uint_eq(s.classes[0].cached_blocks + s.classes[0].pool_blocks,
                          s.classes[0].carved_blocks);
        for (unsigned i = 0; i < caches; i++)
            ortho_cache_destroy(c[i]);
        ortho_allocator_destroy(a);
    }
}
END_TEST

START_TEST(frees_of_arbitrary_arena_addresses_are_all_refused_and_harm_nothing)
{
    ortho_allocator_t *a = fixture_allocator;
    ortho_cache_t *c = fixture_cache;
    enum { LIVE = 300, PROBES = 50000 };
    static unsigned char *live[LIVE];
    static size_t sizes[LIVE];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < LIVE; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        sizes[i] = (size_t)(seed >> 33) % 20000 + 1;
        live[i] = ortho_cache_alloc(c, sizes[i]);
        memset(live[i], (int)(i & 0xff), sizes[i]);
    }
    for (int i = 0; i < LIVE; i += 3) { /* some blocks sit freed in lists */
        ortho_cache_free(c, live[i]);
        live[i] = NULL;
    }
    const struct arena_region *region = &a->arena.regions[0];
    for (int probe = 0; probe < PROBES; probe++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uintptr_t offset = (uintptr_t)(seed >> 20) % region->carved_bytes;
        if (probe % 2 == 0)
            offset &= ~(uintptr_t)63; /* half of them 64-aligned, like real blocks */
        unsigned char *p = (unsigned char *)region->base + offset;
        int is_live = 0;
        for (int i = 0; i < LIVE && !is_live; i++)
            is_live = live[i] == p;
        if (is_live)
            continue;
        ck_assert_int_ne(ortho_cache_free(c, p), ORTHO_OK);
    }
    for (int i = 0; i < LIVE; i++) {
        if (live[i] == NULL)
            continue;
        for (size_t b = 0; b < sizes[i]; b += 97)
            ck_assert_uint_eq(live[i][b], (unsigned)(i & 0xff));
        ck_assert_int_eq(ortho_cache_free(c, live[i]), ORTHO_OK);
    }
    ortho_stats_t stats;
    ortho_allocator_stats(a, &stats);
    for (unsigned cls = 0; cls < ortho_class_count(); cls++)
        ck_assert_uint_eq(stats.classes[cls].live_blocks, 0);
}
END_TEST

/* ---- a cache's own large blocks (large_local) -------------------------------- */

#define LARGE_TEST_BYTES ((size_t)20 << 20)

/* A second cache on the fixture's instance, as another thread would have. */
static ortho_cache_t *second_cache(void)
{
    ortho_cache_t *c;
    ck_assert_int_eq(ortho_cache_create(fixture_allocator, &c), ORTHO_OK);
    return c;
}

static ortho_stats_t instance_stats(void)
{
    ortho_stats_t s;
    ortho_allocator_stats(fixture_allocator, &s);
    return s;
}

START_TEST(a_large_block_freed_through_its_cache_comes_back_at_the_same_address)
{
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    void *q = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_ptr_eq(q, p);
    memset(q, 0x5a, LARGE_TEST_BYTES); /* the whole block is mapped and writable */
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_allocs, 2);
    ck_assert_uint_eq(s.large_frees, 1);
    ck_assert_uint_eq(s.large_live_blocks, 1);
    ck_assert_uint_eq(s.large_free_blocks, 0);
}
END_TEST

START_TEST(a_cache_keeps_one_freed_large_mapping_and_the_shared_list_takes_the_older_one)
{
    ortho_cache_t *c = fixture_cache;
    void *p = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    void *q = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    ck_assert_int_eq(ortho_cache_free(c, q), ORTHO_OK);
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_free_blocks, 2);
    ck_assert_uint_eq(s.large_live_blocks, 0);
    /* Both mappings are reused: q's from the cache, p's from the shared list. */
    void *x = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    void *y = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_ptr_eq(x, q);
    ck_assert_ptr_eq(y, p);
    ck_assert_uint_eq(instance_stats().large_free_blocks, 0);
}
END_TEST

START_TEST(a_third_live_large_block_of_one_cache_frees_through_the_shared_registry)
{
    ortho_cache_t *c = fixture_cache;
    void *blocks[3];
    for (int i = 0; i < 3; i++)
        blocks[i] = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_uint_eq(instance_stats().large_live_blocks, 3);
    for (int i = 2; i >= 0; i--)
        ck_assert_int_eq(ortho_cache_free(c, blocks[i]), ORTHO_OK);
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_live_blocks, 0);
    ck_assert_uint_eq(s.large_frees, 3);
}
END_TEST

START_TEST(another_cache_can_free_a_large_block_held_in_a_caches_own_slots)
{
    ortho_cache_t *other = second_cache();
    void *p = ortho_cache_alloc(fixture_cache, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(other, p), ORTHO_OK);
    ck_assert_int_eq(ortho_cache_free(other, p), ORTHO_E_DOUBLE_FREE);
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_live_blocks, 0);
    ck_assert_uint_eq(s.large_free_blocks, 1);
    ck_assert_uint_eq(s.large_live_requested_bytes, 0);
    ortho_cache_destroy(other);
}
END_TEST

START_TEST(a_sized_cross_cache_free_with_the_wrong_size_keeps_the_large_block_live)
{
    ortho_cache_t *other = second_cache();
    void *p = ortho_cache_alloc(fixture_cache, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free_sized(other, p, LARGE_TEST_BYTES - 1), ORTHO_E_SIZE_MISMATCH);
    ck_assert_uint_eq(instance_stats().large_live_blocks, 1);
    ck_assert_int_eq(ortho_cache_free_sized(other, p, LARGE_TEST_BYTES), ORTHO_OK);
    ortho_cache_destroy(other);
}
END_TEST

START_TEST(a_pointer_inside_a_caches_own_large_block_reports_misaligned_pointer)
{
    ortho_cache_t *other = second_cache();
    unsigned char *p = ortho_cache_alloc(fixture_cache, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(fixture_cache, p + 4096), ORTHO_E_MISALIGNED);
    ck_assert_int_eq(ortho_cache_free(other, p + 64), ORTHO_E_MISALIGNED);
    ck_assert_int_eq(ortho_cache_free(fixture_cache, p), ORTHO_OK);
    /* Now in the cache's stash: inside it is still not a block start. */
    ck_assert_int_eq(ortho_cache_free(other, p + 64), ORTHO_E_MISALIGNED);
    ortho_cache_destroy(other);
}
END_TEST

START_TEST(the_usable_size_of_a_caches_own_large_block_is_known_to_the_instance)
{
    struct ortho_allocator *a = (struct ortho_allocator *)fixture_allocator;
    void *p = ortho_cache_alloc(fixture_cache, LARGE_TEST_BYTES);
    ck_assert_uint_ge(allocator_usable_size(a, p), LARGE_TEST_BYTES);
    ck_assert(allocator_owns_live(a, p));
    ortho_cache_free(fixture_cache, p);
    ck_assert(!allocator_owns_live(a, p));
}
END_TEST

START_TEST(a_destroyed_caches_live_large_blocks_can_still_be_freed)
{
    ortho_cache_t *other = second_cache();
    void *p = ortho_cache_alloc(other, LARGE_TEST_BYTES);
    void *q = ortho_cache_alloc(other, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(other, q), ORTHO_OK); /* q's mapping in other's stash */
    ortho_cache_destroy(other);
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_live_blocks, 1);
    ck_assert_uint_eq(s.large_free_blocks, 1);
    ck_assert_uint_eq(s.large_allocs, 2);
    ck_assert_int_eq(ortho_cache_free(fixture_cache, p), ORTHO_OK);
    ck_assert_int_eq(ortho_cache_free(fixture_cache, q), ORTHO_E_DOUBLE_FREE);
    ck_assert_uint_eq(instance_stats().large_live_blocks, 0);
}
END_TEST

START_TEST(trim_releases_the_large_mapping_a_live_cache_keeps)
{
    void *p = ortho_cache_alloc(fixture_cache, LARGE_TEST_BYTES);
    ortho_cache_free(fixture_cache, p);
    ck_assert_uint_eq(instance_stats().large_free_blocks, 1);
    ck_assert_uint_ge(ortho_allocator_trim(fixture_allocator), LARGE_TEST_BYTES);
    ortho_stats_t s = instance_stats();
    ck_assert_uint_eq(s.large_free_blocks, 0);
    ck_assert_uint_ge(s.large_unmapped_bytes, LARGE_TEST_BYTES);
    /* A second free of the unmapped block is still named a double free. */
    ck_assert_int_eq(ortho_cache_free(fixture_cache, p), ORTHO_E_DOUBLE_FREE);
}
END_TEST

START_TEST(a_retain_count_of_zero_keeps_no_large_mapping_in_a_cache_either)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.large_retain_count = 0;
    ortho_allocator_t *a = make_allocator(&config);
    ortho_cache_t *c;
    ortho_cache_create(a, &c);
    void *p = ortho_cache_alloc(c, LARGE_TEST_BYTES);
    ck_assert_int_eq(ortho_cache_free(c, p), ORTHO_OK);
    ortho_stats_t s;
    ortho_allocator_stats(a, &s);
    ck_assert_uint_eq(s.large_free_blocks, 0);
    ck_assert_uint_ge(s.large_unmapped_bytes, LARGE_TEST_BYTES);
    ortho_cache_destroy(c);
    ortho_allocator_destroy(a);
}
END_TEST

Suite *allocator_suite(void)
{
    Suite *s = suite_create("allocator");
    TCase *paths = tcase_create("paths");
    tcase_add_checked_fixture(paths, fixture_setup, fixture_teardown);
    tcase_add_test(paths, a_fresh_instance_hands_out_64_aligned_writable_blocks);
    tcase_add_test(paths, a_freed_block_is_the_next_one_handed_out_on_the_same_thread);
    tcase_add_test(paths, usable_size_is_the_class_payload_and_never_below_the_request);
    tcase_add_test(paths, over_aligned_requests_honour_every_power_of_two_up_to_2_mib);
    tcase_add_test(paths, an_alignment_that_is_not_a_power_of_two_is_refused_with_bad_align);
    tcase_add_test(paths, a_zero_size_request_fails_with_zero_size);
    tcase_add_test(paths, a_small_arena_runs_out_with_nomem_instead_of_crashing);
    tcase_add_test(paths, the_arena_grows_into_new_regions_when_one_is_full);
    tcase_add_test(paths, an_invalid_config_is_refused_with_invalid_config);
    tcase_add_test(paths, an_instance_whose_first_region_cannot_be_reserved_reports_nomem);
    tcase_add_test(paths, destroying_an_instance_with_a_live_cache_is_refused_with_busy);
    suite_add_tcase(s, paths);
    TCase *frees = tcase_create("free validation");
    tcase_add_checked_fixture(frees, fixture_setup, fixture_teardown);
    tcase_add_test(frees, freeing_a_block_twice_reports_double_free_and_changes_nothing);
    tcase_add_test(frees, freeing_a_large_block_twice_reports_double_free);
    tcase_add_test(frees, freeing_a_stack_address_reports_foreign_pointer);
    tcase_add_test(frees, freeing_another_instances_block_reports_foreign_pointer);
    tcase_add_test(frees, freeing_an_unaligned_pointer_inside_a_block_reports_misaligned_pointer);
    tcase_add_test(frees, freeing_an_interior_pointer_reports_a_corrupt_header);
    tcase_add_test(frees, a_one_byte_underflow_is_caught_and_the_block_is_not_reused);
    tcase_add_test(frees, an_underflow_over_the_magic_is_caught);
    tcase_add_test(frees, an_underflow_into_the_size_fields_is_caught);
    tcase_add_test(frees, a_sized_free_with_the_wrong_size_reports_size_mismatch_and_keeps_the_block);
    tcase_add_test(frees, freeing_null_is_ok);
    tcase_add_test(frees, frees_of_arbitrary_arena_addresses_are_all_refused_and_harm_nothing);
    suite_add_tcase(s, frees);
    TCase *stats = tcase_create("stats and pool");
    tcase_add_checked_fixture(stats, fixture_setup, fixture_teardown);
    tcase_add_test(stats, stats_count_live_cached_and_pooled_blocks_exactly);
    tcase_add_test(stats, stats_track_the_large_path_live_and_retained);
    tcase_add_test(stats, destroying_a_cache_hands_its_blocks_to_the_central_pool);
    tcase_add_test(stats, a_new_cache_refills_from_the_central_pool_before_carving);
    tcase_add_test(stats, the_refill_batch_grows_from_a_few_blocks_to_the_configured_count);
    tcase_add_test(stats, the_default_batch_is_reached_by_doubling_from_four);
    tcase_add_test(stats, caches_hold_less_as_more_threads_share_the_cache_budget);
    tcase_add_test(stats, trim_returns_pooled_pages_of_big_classes_and_retained_large_mappings);
    suite_add_tcase(s, stats);
    TCase *large = tcase_create("a cache's own large blocks");
    tcase_add_checked_fixture(large, fixture_setup, fixture_teardown);
    tcase_add_test(large, a_large_block_freed_through_its_cache_comes_back_at_the_same_address);
    tcase_add_test(large, a_cache_keeps_one_freed_large_mapping_and_the_shared_list_takes_the_older_one);
    tcase_add_test(large, a_third_live_large_block_of_one_cache_frees_through_the_shared_registry);
    tcase_add_test(large, another_cache_can_free_a_large_block_held_in_a_caches_own_slots);
    tcase_add_test(large, a_sized_cross_cache_free_with_the_wrong_size_keeps_the_large_block_live);
    tcase_add_test(large, a_pointer_inside_a_caches_own_large_block_reports_misaligned_pointer);
    tcase_add_test(large, the_usable_size_of_a_caches_own_large_block_is_known_to_the_instance);
    tcase_add_test(large, a_destroyed_caches_live_large_blocks_can_still_be_freed);
    tcase_add_test(large, trim_releases_the_large_mapping_a_live_cache_keeps);
    tcase_add_test(large, a_retain_count_of_zero_keeps_no_large_mapping_in_a_cache_either);
    suite_add_tcase(s, large);
    return s;
}

CHECK_SUPPORT_MAIN(allocator_suite)
