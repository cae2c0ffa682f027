/* check_report_whatif.c - unit tests of viewer/report/whatif.c: parsing a
 * class table, replaying a run's size histogram against a table (checked
 * against the database's own usable-minus-requested bytes), and the
 * suggested table (checked against an exhaustive search on small
 * histograms made from a fixed seed, and against the allocator's own
 * table on the fixture runs). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "model.h"
#include "whatif.h"
#include "viewer_fixture.h"

static char err[1024];

/* ---- parsing ----------------------------------------------------------- */

START_TEST(a_table_reads_sizes_with_suffixes_commas_and_comments_in_any_order)
{
    struct whatif_table t;
    ck_assert_msg(whatif_table_parse(&t, "# mine\n4K, 64\n 256 1M # big\n6KiB\n", "t", err,
                                     sizeof err) == 0,
                  "%s", err);
    int64_t want[] = {64, 256, 4096, 6144, 1048576};
    ck_assert_uint_eq(t.count, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(t.payload_bytes[i], want[i]);
    whatif_table_free(&t);
}
END_TEST

static void assert_table_refused(const char *text, const char *needle)
{
    struct whatif_table t;
    ck_assert_int_eq(whatif_table_parse(&t, text, "sizes.txt", err, sizeof err), -1);
    ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" does not say \"%s\"", err, needle);
    ck_assert_msg(strstr(err, "sizes.txt") != NULL, "\"%s\" does not name the file", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_ptr_null(t.payload_bytes);
}

START_TEST(a_table_with_a_word_zero_a_repeat_or_nothing_is_refused)
{
    assert_table_refused("64 256\nbig\n", "sizes.txt:2: \"big\"");
    assert_table_refused("0 64", "\"0\"");
    assert_table_refused("64 -5", "\"-5\"");
    assert_table_refused("64 256 64", "lists the size 64 twice");
    assert_table_refused("# only a comment\n", "no class sizes");
    assert_table_refused("99999999999999999999999", "is not a class size");
}
END_TEST

START_TEST(a_missing_table_file_is_refused_naming_it)
{
    struct whatif_table t;
    ck_assert_int_eq(whatif_table_read(&t, "/nonexistent/classes.txt", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/classes.txt: No such file"));
}
END_TEST

/* ---- replay ------------------------------------------------------------ */

/* Replaying the run's own tables gives, class by class, the waste and
 * allocations the database recorded (in scope: up to 16 MiB; a request
 * a process's table had no class for took LARGE in the run and is the
 * replay's "above" part). */
static void assert_own_table_gives_the_databases_waste(const char *name, size_t classes)
{
    struct model m;
    ck_assert_msg(model_load_path(&m, fixture(name), NULL, err, sizeof err) == 0, "%s", err);
    struct whatif_table own;
    whatif_table_of_model(&own, &m);
    ck_assert_uint_eq(own.count, classes);
    struct whatif_result r;
    whatif_replay_own(&m, 0, &r);
    ck_assert_uint_eq(r.class_count, own.count);
    int64_t waste = 0, allocs = 0;
    for (size_t k = 0; k < r.class_count; k++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT coalesce(sum(usable_bytes - requested_bytes), 0)"
                 " FROM class_totals WHERE payload_size = %lld", (long long)r.classes[k].payload_bytes);
        ck_assert_int_eq(r.classes[k].waste_bytes, sql_int(fixture(name), sql));
        snprintf(sql, sizeof sql, "SELECT coalesce(sum(allocs), 0) FROM class_totals"
                 " WHERE payload_size = %lld", (long long)r.classes[k].payload_bytes);
        ck_assert_int_eq(r.classes[k].allocs, sql_int(fixture(name), sql));
        waste += r.classes[k].waste_bytes;
        allocs += r.classes[k].allocs;
    }
    ck_assert_int_eq(r.waste_bytes - r.above_waste_bytes, waste);
    ck_assert_int_eq(r.allocs - r.above_allocs, allocs);
    ck_assert_int_eq(r.allocs - r.above_allocs,
                     sql_int(fixture(name), "SELECT coalesce(sum(allocs), 0)"
                                            " FROM class_totals WHERE class_name <> 'LARGE'"));
    ck_assert_int_eq(r.large_allocs + r.above_allocs,
                     sql_int(fixture(name), "SELECT coalesce(sum(allocs), 0)"
                                            " FROM class_totals WHERE class_name = 'LARGE'"));
    whatif_result_free(&r);
    whatif_table_free(&own);
    model_free(&m);
}

START_TEST(the_allocators_own_table_wastes_what_the_database_recorded)
{
    assert_own_table_gives_the_databases_waste("facts.db", 12);
    assert_own_table_gives_the_databases_waste("tensor.db", 12);
    assert_own_table_gives_the_databases_waste("general.db", 68);
}
END_TEST

START_TEST(each_process_of_a_mixed_tree_is_replayed_against_its_own_table)
{
    /* mixed.db: the root's table ends at 8K, so hold_long's four 9000-byte
     * blocks took LARGE there: in scope, above its largest class. */
    assert_own_table_gives_the_databases_waste("mixed.db", 68);
    struct model m;
    ck_assert_msg(model_load_path(&m, fixture("mixed.db"), NULL, err, sizeof err) == 0, "%s", err);
    struct whatif_result r;
    whatif_replay_own(&m, 1, &r);
    ck_assert_int_eq(r.above_allocs, 4);
    ck_assert_int_eq(r.above_requested_bytes, 4 * 9000);
    whatif_result_free(&r);
    model_free(&m);
}
END_TEST

START_TEST(a_5k_class_cuts_the_churn_waste_to_120_bytes_a_block)
{
    struct model m;
    ck_assert_msg(model_load_path(&m, fixture("facts.db"), NULL, err, sizeof err) == 0, "%s", err);
    struct whatif_table t;
    ck_assert_int_eq(whatif_table_parse(&t, "64 256 4K 5K 6K 8K 16K 32K 64K 128K 256K 1M 16M", "t",
                                        err, sizeof err),
                     0);
    struct whatif_result r;
    whatif_replay(&m, 1, &t, &r); /* the root process only: churn lives there */
    ck_assert_int_eq(r.classes[3].payload_bytes, 5120);
    ck_assert_int_eq(r.classes[3].allocs, 20000);
    ck_assert_int_eq(r.classes[3].waste_bytes, 20000 * (5120 - 5000));
    whatif_result_free(&r);
    whatif_table_free(&t);
    model_free(&m);
}
END_TEST

START_TEST(a_request_above_the_largest_class_is_charged_the_large_paths_page_rounding)
{
    struct model_size sizes[] = {{.process_id = 1, .requested_size = 5000, .allocs = 2},
                                 {.process_id = 1, .requested_size = 40, .allocs = 1}};
    struct model m = {.size_count = 2, .sizes = sizes};
    int64_t only_64 = 64;
    struct whatif_table t = {.count = 1, .payload_bytes = &only_64};
    struct whatif_result r;
    whatif_replay(&m, 0, &t, &r);
    /* 5000 + 64 header -> 8192 mapped; 8192 - 64 - 5000 = 3128 bytes of waste each. */
    ck_assert_int_eq(r.above_allocs, 2);
    ck_assert_int_eq(r.above_waste_bytes, 2 * 3128);
    ck_assert_int_eq(r.waste_bytes, 2 * 3128 + 24);
    whatif_result_free(&r);
}
END_TEST

/* ---- suggestion -------------------------------------------------------- */

static int64_t waste_of(const int64_t *sizes, const int64_t *allocs, size_t n,
                        const int64_t *table, size_t k)
{
    int64_t waste = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        while (c < k && table[c] < sizes[i])
            c++;
        if (c == k)
            return INT64_MAX; /* does not serve every size */
        waste += allocs[i] * (table[c] - sizes[i]);
    }
    return waste;
}

/* The least waste of any table of at most k classes drawn from `choices`,
 * by trying every subset. */
static int64_t brute_force(const int64_t *sizes, const int64_t *allocs, size_t n,
                           const int64_t *choices, size_t m, size_t k)
{
    int64_t best = INT64_MAX, table[16];
    for (unsigned mask = 1; mask < (1u << m); mask++) {
        if ((size_t)__builtin_popcount(mask) > k)
            continue;
        size_t count = 0;
        for (size_t j = 0; j < m; j++)
            if (mask & (1u << j))
                table[count++] = choices[j];
        int64_t w = waste_of(sizes, allocs, n, table, count);
        if (w < best)
            best = w;
    }
    return best;
}

START_TEST(the_suggestion_equals_an_exhaustive_search_on_small_histograms)
{
    srand(20240611); /* fixed: a failure must be repeatable */
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(rand() % 10), k = 1 + (size_t)(rand() % 5);
        int64_t sizes[10], allocs[10], choices[16];
        int64_t size = 0;
        for (size_t i = 0; i < n; i++) {
            size += 1 + rand() % 300;
            sizes[i] = size;
            allocs[i] = 1 + rand() % 50;
        }
        /* Every multiple of 64 that can matter: the rounded sizes. */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t r = (sizes[i] + 63) / 64 * 64;
            if (m == 0 || choices[m - 1] != r)
                choices[m++] = r;
        }
        struct whatif_table t;
        whatif_suggest_sizes(sizes, allocs, n, k, &t);
        ck_assert_uint_le(t.count, k);
        for (size_t i = 0; i < t.count; i++) {
            ck_assert_int_eq(t.payload_bytes[i] % WHATIF_ALIGN_BYTES, 0);
            if (i > 0)
                ck_assert_int_gt(t.payload_bytes[i], t.payload_bytes[i - 1]);
        }
        int64_t got = waste_of(sizes, allocs, n, t.payload_bytes, t.count);
        int64_t best = brute_force(sizes, allocs, n, choices, m, k);
        ck_assert_msg(got == best, "round %d: n=%zu k=%zu: suggestion wastes %lld, best %lld",
                      round, n, k, (long long)got, (long long)best);
        whatif_table_free(&t);
    }
}
END_TEST

START_TEST(fewer_distinct_sizes_than_classes_get_one_class_each)
{
    int64_t sizes[] = {64, 128, 4096}, allocs[] = {5, 1, 2};
    struct whatif_table t;
    whatif_suggest_sizes(sizes, allocs, 3, 12, &t);
    ck_assert_uint_eq(t.count, 3);
    ck_assert_int_eq(waste_of(sizes, allocs, 3, t.payload_bytes, t.count), 0);
    whatif_table_free(&t);
    whatif_suggest_sizes(sizes, allocs, 0, 12, &t);
    ck_assert_uint_eq(t.count, 0);
    whatif_table_free(&t);
}
END_TEST

static void assert_suggestion_never_worse(const char *name)
{
    struct model m;
    ck_assert_msg(model_load_path(&m, fixture(name), NULL, err, sizeof err) == 0, "%s", err);
    struct whatif_table own;
    whatif_table_of_model(&own, &m);
    struct whatif_result mine;
    whatif_replay_own(&m, 0, &mine);
    for (size_t n = 12; n <= 20; n += 4) {
        struct whatif_table t;
        whatif_suggest(&m, n, &t);
        struct whatif_result theirs;
        whatif_replay(&m, 0, &t, &theirs);
        ck_assert_msg(theirs.waste_bytes <= mine.waste_bytes, "%s, %zu classes: %lld > %lld", name,
                      n, (long long)theirs.waste_bytes, (long long)mine.waste_bytes);
        ck_assert_int_eq(theirs.above_allocs, 0);
        ck_assert_int_eq(theirs.allocs, mine.allocs);
        whatif_result_free(&theirs);
        whatif_table_free(&t);
    }
    whatif_result_free(&mine);
    whatif_table_free(&own);
    model_free(&m);
}

START_TEST(twelve_or_more_suggested_classes_never_waste_more_than_the_allocators_table)
{
    assert_suggestion_never_worse("facts.db");
    assert_suggestion_never_worse("tensor.db");
    assert_suggestion_never_worse("mixed.db");
}
END_TEST

static Suite *report_whatif_suite(void)
{
    Suite *s = suite_create("report_whatif");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, a_table_reads_sizes_with_suffixes_commas_and_comments_in_any_order);
    tcase_add_test(tc, a_table_with_a_word_zero_a_repeat_or_nothing_is_refused);
    tcase_add_test(tc, a_missing_table_file_is_refused_naming_it);
    suite_add_tcase(s, tc);
    tc = tcase_create("replay");
    tcase_add_test(tc, the_allocators_own_table_wastes_what_the_database_recorded);
    tcase_add_test(tc, each_process_of_a_mixed_tree_is_replayed_against_its_own_table);
    tcase_add_test(tc, a_5k_class_cuts_the_churn_waste_to_120_bytes_a_block);
    tcase_add_test(tc, a_request_above_the_largest_class_is_charged_the_large_paths_page_rounding);
    suite_add_tcase(s, tc);
    tc = tcase_create("suggest");
    tcase_add_test(tc, the_suggestion_equals_an_exhaustive_search_on_small_histograms);
    tcase_add_test(tc, fewer_distinct_sizes_than_classes_get_one_class_each);
    tcase_add_test(tc, twelve_or_more_suggested_classes_never_waste_more_than_the_allocators_table);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(report_whatif_suite)
