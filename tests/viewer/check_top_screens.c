/* check_top_screens.c - unit tests of ortho-top's screens as tables
 * (viewer/top/screens.c) and of the batch text (batch.c), on the fixture
 * facts.db: screen names, sort orders, the filter, which rows the
 * fragmentation screen lists, compact number formatting and sparklines,
 * and that a batch screen prints the numbers SQLite holds. Expected rows
 * and numbers come from the test's own SQLite connection. */
#define _GNU_SOURCE /* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "check_support.h"
#include "screens.h"

static char err[512];
static struct tracedb db;
static struct top_model model;
static struct top_snapshot snap;
static sqlite3 *oracle;

static void open_facts(void)
{
    static char path[1024];
    const char *dir = getenv("ORTHO_FIXTURE_DB_DIR");
    ck_assert_msg(dir != NULL, "ORTHO_FIXTURE_DB_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/facts.db", dir);
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(top_model_open(&model, &db, err, sizeof err) == 0, "%s", err);
    /* The sites as the sites screen asks for them: every process, by live bytes. */
    struct top_site_query q;
    top_screen_site_query(&top_screens[TOP_SCREEN_SITES], -1, true, NULL, 0, &q);
    ck_assert(top_model_set_site_query(&model, &q));
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(top_snapshot_take(&snap, &model, TOP_ALL_PROCESSES,
                                       top_model_data_end_ns(&model)), 0);
    ck_assert_int_eq(sqlite3_open_v2(path, &oracle, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
}

static void close_facts(void)
{
    top_snapshot_free(&snap);
    top_model_free(&model);
    tracedb_close(&db);
    sqlite3_close(oracle);
}

static int64_t oracle_int(const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_msg(sqlite3_prepare_v2(oracle, sql, -1, &s, NULL) == SQLITE_OK, "%s", sql);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static const char *oracle_text(const char *sql)
{
    static char text[256];
    sqlite3_stmt *s = NULL;
    ck_assert_msg(sqlite3_prepare_v2(oracle, sql, -1, &s, NULL) == SQLITE_OK, "%s", sql);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    snprintf(text, sizeof text, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return text;
}

static int column_named(const struct top_screen *screen, const char *title)
{
    for (int c = 0; c < screen->column_count; c++)
        if (strcmp(screen->columns[c].title, title) == 0)
            return c;
    ck_abort_msg("no column %s", title);
    return -1;
}

static void cell(const struct top_screen *screen, size_t row, const char *title, char *buf,
                 size_t cap)
{
    screen->cell(&snap, row, column_named(screen, title), true, buf, cap);
}

START_TEST(screens_are_found_by_name_or_by_a_unique_prefix)
{
    ck_assert_ptr_eq(top_screen_named("classes"), &top_screens[TOP_SCREEN_CLASSES]);
    ck_assert_ptr_eq(top_screen_named("frag"), &top_screens[TOP_SCREEN_FRAG]);
    ck_assert_ptr_eq(top_screen_named("corruption"), &top_screens[TOP_SCREEN_CORRUPTION]);
    ck_assert_ptr_null(top_screen_named("c"));      /* classes or corruption */
    ck_assert_ptr_null(top_screen_named("heap"));
    ck_assert_ptr_null(top_screen_named(""));
}
END_TEST

START_TEST(the_class_screen_lists_every_class_in_class_order_by_default)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_CLASSES];
    size_t order[128];
    ck_assert_int_le(s->rows(&snap), sizeof order / sizeof order[0]);
    size_t n = top_screen_order(s, &snap, s->default_sort, s->default_descending, NULL, order);
    ck_assert_int_eq(n, (size_t)oracle_int("SELECT count(*) FROM classes WHERE process_id = 1"));
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(oracle, "SELECT class_name FROM classes WHERE process_id = 1 ORDER BY class_id",
                                        -1, &q, NULL), SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        char name[16];
        cell(s, order[i], "CLASS", name, sizeof name);
        ck_assert_str_eq(name, (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    close_facts();
}
END_TEST

START_TEST(the_class_screen_shows_the_whole_runs_totals_at_its_end)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_CLASSES];
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(oracle,
                                        "SELECT class_name, sum(allocs), sum(frees) FROM class_totals "
                                        "GROUP BY class_id ORDER BY class_id", -1, &q, NULL),
                     SQLITE_OK);
    size_t rows = s->rows(&snap), seen = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *want = (const char *)sqlite3_column_text(q, 0);
        for (size_t r = 0; r < rows; r++) {
            char name[16], allocs[32], frees[32];
            cell(s, r, "CLASS", name, sizeof name);
            if (strcmp(name, want) != 0)
                continue;
            cell(s, r, "ALLOCS", allocs, sizeof allocs);
            cell(s, r, "FREES", frees, sizeof frees);
            ck_assert_int_eq(atoll(allocs), sqlite3_column_int64(q, 1));
            ck_assert_int_eq(atoll(frees), sqlite3_column_int64(q, 2));
            seen++;
        }
    }
    sqlite3_finalize(q);
    ck_assert_int_eq(seen, rows);
    /* The terminal shows one view at a time: totals or rates, never both. */
    ck_assert(top_column_shown(s, column_named(s, "ALLOCS"), true));
    ck_assert(!top_column_shown(s, column_named(s, "ALLOC/s"), true));
    ck_assert(top_column_shown(s, column_named(s, "ALLOC/s"), false));
    ck_assert(!top_column_shown(s, column_named(s, "FREES"), false));
    ck_assert(top_column_shown(s, column_named(s, "LIVE"), false));
    close_facts();
}
END_TEST

START_TEST(sorting_by_live_blocks_descending_puts_the_most_live_class_first)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_CLASSES];
    int live = column_named(s, "LIVE");
    size_t order[128];
    ck_assert_int_le(s->rows(&snap), sizeof order / sizeof order[0]);
    size_t n = top_screen_order(s, &snap, live, true, NULL, order);
    for (size_t i = 1; i < n; i++)
        ck_assert_double_ge(s->key(&snap, order[i - 1], live), s->key(&snap, order[i], live));
    char name[16];
    cell(s, order[0], "CLASS", name, sizeof name);
    ck_assert_str_eq(name, oracle_text("SELECT class_name FROM fragmentation GROUP BY class_id "
                                       "ORDER BY sum(live_blocks) DESC, class_id LIMIT 1"));
    /* Reversed, the same class comes last. */
    n = top_screen_order(s, &snap, live, false, NULL, order);
    char last[16];
    cell(s, order[n - 1], "CLASS", last, sizeof last);
    ck_assert_str_eq(last, name);
    close_facts();
}
END_TEST

START_TEST(the_filter_keeps_the_sites_whose_function_or_file_holds_the_text)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_SITES];
    size_t order[64];
    ck_assert_int_le(snap.site_count, 64);
    size_t n = top_screen_order(s, &snap, s->default_sort, true, "LEAK", order);
    ck_assert_int_eq(n, (size_t)oracle_int(
        "SELECT count(*) FROM (SELECT DISTINCT st.site_function, st.site_file, st.site_line "
        "FROM sites si JOIN stacks st USING (process_id, stack_id) "
        "WHERE st.site_function LIKE '%leak%' OR st.site_file LIKE '%leak%')"));
    ck_assert_int_eq(n, 1);
    char fn[64];
    cell(s, order[0], "FUNCTION", fn, sizeof fn);
    ck_assert_str_eq(fn, "leak_here");
    ck_assert_int_eq(top_screen_order(s, &snap, 0, true, "no-such-site", order), 0);
    close_facts();
}
END_TEST

START_TEST(sites_sort_by_live_bytes_first_by_default)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_SITES];
    size_t order[64];
    size_t n = top_screen_order(s, &snap, s->default_sort, s->default_descending, NULL, order);
    ck_assert_int_eq(n, snap.site_count);
    char live[32], fn[64];
    cell(s, order[0], "LIVE B", live, sizeof live);
    cell(s, order[0], "FUNCTION", fn, sizeof fn);
    ck_assert_int_eq(atoll(live), oracle_int("SELECT max(b) FROM (SELECT sum(live_bytes) AS b "
                                             "FROM top_sites GROUP BY function, file, line)"));
    ck_assert_str_eq(fn, "leak_here");
    close_facts();
}
END_TEST

START_TEST(the_fragmentation_screen_lists_only_classes_that_hold_bytes)
{
    open_facts();
    const struct top_screen *s = &top_screens[TOP_SCREEN_FRAG];
    ck_assert_int_eq(s->rows(&snap),
                     (size_t)oracle_int("SELECT count(*) FROM (SELECT class_id FROM fragmentation "
                                        "GROUP BY class_id HAVING sum(live_blocks + cached_blocks "
                                        "+ pooled_blocks) > 0)"));
    close_facts();
}
END_TEST

START_TEST(compact_numbers_stay_exact_while_they_fit)
{
    char buf[32];
    top_format_count(buf, sizeof buf, 123456, 7);
    ck_assert_str_eq(buf, "123456");
    /* Scaled as little as it takes to fit: 12345678 / 1000 = 12345.678. */
    top_format_count(buf, sizeof buf, 12345678, 7);
    ck_assert_str_eq(buf, "12346k");
    top_format_count(buf, sizeof buf, 12345678, 5);
    ck_assert_str_eq(buf, "12.3M");
    top_format_bytes(buf, sizeof buf, 123456, 6);
    ck_assert_str_eq(buf, "123456");
    top_format_bytes(buf, sizeof buf, 123456, 5);
    ck_assert_str_eq(buf, "121K");      /* 123456 / 1024 = 120.56; "120.6K" is 6 wide */
    top_format_bytes(buf, sizeof buf, 16LL << 30, 5);
    ck_assert_str_eq(buf, "16.0G");     /* 16384M would be 6 wide */
    top_format_rate(buf, sizeof buf, 2.25, 7);
    ck_assert_str_eq(buf, "2.2");       /* small rates keep a decimal (2.25 rounds to even) */
    top_format_rate(buf, sizeof buf, 0.0, 7);
    ck_assert_str_eq(buf, "0");
}
END_TEST

START_TEST(a_sparkline_marks_the_maximum_highest_and_zero_blank)
{
    double values[5] = {0.0, 1.0, 50.0, 100.0, 0.001};
    char buf[8];
    top_format_spark(buf, sizeof buf, values, 5);
    const char *ramp = TOP_SPARK_RAMP;
    ck_assert_int_eq(strlen(buf), 5);
    ck_assert_int_eq(buf[0], ramp[0]);
    ck_assert_int_eq(buf[3], ramp[strlen(ramp) - 1]);
    ck_assert_int_ne(buf[4], ramp[0]); /* tiny but not nothing */
    ck_assert_int_lt(strchr(ramp, buf[1]) - ramp, strchr(ramp, buf[2]) - ramp);
}
END_TEST

START_TEST(a_batch_class_screen_prints_the_numbers_sqlite_holds)
{
    open_facts();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct top_batch_options opt = {&top_screens[TOP_SCREEN_CLASSES], -1, false, NULL, "facts.db", ""};
    ck_assert_int_eq(top_batch_print(out, &model, &snap, &opt), 0);
    fclose(out);
    ck_assert_msg(strstr(text, "process: all 3 processes") != NULL, "%s", text);
    /* The B256 row: CLASS ALLOC/s FREE/s ALLOCS FREES LIVE REQ USABLE ... */
    const char *row = strstr(text, "\nB256 ");
    ck_assert_msg(row != NULL, "%s", text);
    char name[16];
    double allocs_s, frees_s;
    long long allocs, frees, live, req, usable;
    ck_assert_int_eq(sscanf(row + 1, "%15s %lf %lf %lld %lld %lld %lld %lld", name, &allocs_s,
                            &frees_s, &allocs, &frees, &live, &req, &usable), 8);
    ck_assert_int_eq(allocs, oracle_int("SELECT sum(allocs) FROM class_totals WHERE class_name = 'B256'"));
    ck_assert_int_eq(frees, oracle_int("SELECT sum(frees) FROM class_totals WHERE class_name = 'B256'"));
    ck_assert_int_eq(live, oracle_int("SELECT sum(live_blocks) FROM fragmentation WHERE class_name = 'B256'"));
    ck_assert_int_eq(req, oracle_int("SELECT sum(live_requested_bytes) FROM fragmentation "
                                     "WHERE class_name = 'B256'"));
    ck_assert_int_eq(usable, oracle_int("SELECT sum(live_usable_bytes) FROM fragmentation "
                                        "WHERE class_name = 'B256'"));
    free(text);
    close_facts();
}
END_TEST

START_TEST(a_batch_corruption_screen_prints_each_event_with_both_stacks)
{
    open_facts();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct top_batch_options opt = {&top_screens[TOP_SCREEN_CORRUPTION], -1, false, NULL, "facts.db", ""};
    ck_assert_int_eq(top_batch_print(out, &model, &snap, &opt), 0);
    fclose(out);
    ck_assert_msg(strstr(text, "double_free") != NULL, "%s", text);
    const char *detected = strstr(text, "detected at");
    const char *allocated = strstr(text, "allocated at");
    ck_assert_msg(detected != NULL && allocated != NULL && detected < allocated, "%s", text);
    /* Innermost first: free_twice at #0, main at #1, in both stacks. */
    ck_assert_msg(strstr(detected, "#0  free_twice") != NULL, "%s", text);
    ck_assert_msg(strstr(detected, "#1  main") != NULL, "%s", text);
    ck_assert_msg(strstr(allocated, "#0  free_twice") != NULL, "%s", text);
    free(text);
    close_facts();
}
END_TEST

static Suite *top_screens_suite(void)
{
    Suite *s = suite_create("top_screens");
    TCase *tc = tcase_create("screens");
    tcase_add_test(tc, screens_are_found_by_name_or_by_a_unique_prefix);
    tcase_add_test(tc, the_class_screen_lists_every_class_in_class_order_by_default);
    tcase_add_test(tc, the_class_screen_shows_the_whole_runs_totals_at_its_end);
    tcase_add_test(tc, sorting_by_live_blocks_descending_puts_the_most_live_class_first);
    tcase_add_test(tc, the_filter_keeps_the_sites_whose_function_or_file_holds_the_text);
    tcase_add_test(tc, sites_sort_by_live_bytes_first_by_default);
    tcase_add_test(tc, the_fragmentation_screen_lists_only_classes_that_hold_bytes);
    tcase_add_test(tc, compact_numbers_stay_exact_while_they_fit);
    tcase_add_test(tc, a_sparkline_marks_the_maximum_highest_and_zero_blank);
    tcase_add_test(tc, a_batch_class_screen_prints_the_numbers_sqlite_holds);
    tcase_add_test(tc, a_batch_corruption_screen_prints_each_event_with_both_stacks);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(top_screens_suite)
