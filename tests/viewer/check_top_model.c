/* check_top_model.c - unit tests of ortho-top's model (viewer/top: model.c,
 * snapshot.c) against trace databases of real traced runs (the fixtures of
 * tests/integration/make_fixtures.sh). Every expected number comes either
 * from SQLite itself - a query on the same file through a connection of
 * the test's own - or from the facts query_workload.c is written to produce
 * (7 leaked B256 blocks of 200 bytes, 20000 B6K blocks, a double free in
 * free_twice, 50 blocks freed by "qw-freer"); none is copied from the
 * program's output. The class-row tests run over three class tables: the
 * default (facts.db), ORTHO_CLASSES=general (general.db, 68 classes) and
 * a tree mixing the list 64,128,256,1K,8K with general (mixed.db), and
 * match rows to the database by class name, never by a built-in id. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "model.h"
#include "snapshot.h"
#include "viewer_fixture.h"

static char err[512];
static struct tracedb db;
static struct top_model model;
static sqlite3 *oracle; /* the test's own connection: the source of expected values */

static void open_fixture(const char *name)
{
    const char *path = fixture(name);
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(top_model_open(&model, &db, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(sqlite3_open_v2(path, &oracle, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(oracle, 5000);
}

static void close_fixture(void)
{
    top_model_free(&model);
    tracedb_close(&db);
    sqlite3_close(oracle);
    oracle = NULL;
}

/* sql prepared on the oracle with ?1 = a and ?2 = name if given, else b
 * (parameters the statement lacks are not bound), stepped to its first
 * row, which it must have. */
static sqlite3_stmt *oracle_row(const char *sql, int64_t a, int64_t b, const char *name)
{
    sqlite3_stmt *s = NULL;
    ck_assert_msg(sqlite3_prepare_v2(oracle, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(oracle));
    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_int64(s, 1, a);
    if (sqlite3_bind_parameter_count(s) >= 2) {
        if (name != NULL)
            sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(s, 2, b);
    }
    ck_assert_msg(sqlite3_step(s) == SQLITE_ROW, "%s returned no row", sql);
    return s;
}

/* The first column of that row as the oracle sees it. */
static int64_t oracle_row_int(sqlite3_stmt *s)
{
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static double oracle_row_double(sqlite3_stmt *s)
{
    double v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* With up to two integer parameters (?1, ?2). */
static int64_t oracle_int2(const char *sql, int64_t a, int64_t b)
{
    return oracle_row_int(oracle_row(sql, a, b, NULL));
}

static int64_t oracle_int(const char *sql)
{
    return oracle_int2(sql, 0, 0);
}

static double oracle_double2(const char *sql, int64_t a, int64_t b)
{
    return oracle_row_double(oracle_row(sql, a, b, NULL));
}

/* With ?1 an integer and ?2 a text (a process and a class name). */
static int64_t oracle_int_named(const char *sql, int64_t a, const char *name)
{
    return oracle_row_int(oracle_row(sql, a, 0, name));
}

static double oracle_double_named(const char *sql, int64_t a, const char *name)
{
    return oracle_row_double(oracle_row(sql, a, 0, name));
}

/* The class-row tests' databases (loop tests: _i indexes this). */
static const char *const class_tables[] = {"facts.db", "general.db", "mixed.db"};
#define CLASS_TABLES ((int)(sizeof class_tables / sizeof class_tables[0]))

/* The snapshot row of the class called name. */
static const struct top_class_row *class_row(const struct top_snapshot *snap, const char *name)
{
    for (size_t k = 0; k < snap->class_count; k++)
        if (strcmp(snap->classes[k].name, name) == 0)
            return &snap->classes[k];
    ck_abort_msg("no class %s", name);
    return NULL;
}

static struct top_snapshot take(int selection, int64_t at_ns)
{
    struct top_snapshot snap;
    ck_assert_int_eq(top_snapshot_take(&snap, &model, selection, at_ns), 0);
    return snap;
}

static struct top_snapshot take_end(int selection)
{
    return take(selection, top_model_data_end_ns(&model));
}

/* Asks the model for the sites of one process (0: all of them) in an
 * order, as the sites screen does, and reads them. */
static void want_sites(int64_t process_id, enum top_site_order order, bool descending,
                       const char *filter)
{
    struct top_site_query q = {.wanted = true, .process_id = process_id, .order = order,
                               .descending = descending};
    snprintf(q.filter, sizeof q.filter, "%s", filter ? filter : "");
    top_model_set_site_query(&model, &q);
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
}

/* ---- opening ------------------------------------------------------------ */

START_TEST(a_finished_run_opens_with_its_three_processes_and_is_not_live)
{
    open_fixture("facts.db");
    ck_assert_int_eq(model.proc_count, (size_t)oracle_int("SELECT count(*) FROM processes"));
    ck_assert_int_eq(model.proc_count, 3);
    ck_assert(!top_model_is_live(&model));
    ck_assert_int_eq(top_model_begin_ns(&model), oracle_int("SELECT min(start_ns) FROM processes"));
    ck_assert_int_ge(top_model_data_end_ns(&model), oracle_int("SELECT max(end_ns) FROM processes"));
    ck_assert_int_eq(model.class_count, 13);
    ck_assert_str_eq(model.classes[0].name, "B64");
    ck_assert_str_eq(model.classes[model.class_count - 1].name, "LARGE");
    close_fixture();
}
END_TEST

START_TEST(the_model_lists_every_class_of_every_process_by_payload_and_large_last)
{
    open_fixture(class_tables[_i]);
    /* The classes of all processes together, one per name. */
    ck_assert_int_eq(model.class_count, oracle_int("SELECT count(DISTINCT class_name) FROM classes"));
    for (size_t c = 0; c + 1 < model.class_count; c++) {
        ck_assert(!model.classes[c].large);
        if (c + 2 < model.class_count)
            ck_assert_int_lt(model.classes[c].payload_bytes, model.classes[c + 1].payload_bytes);
        ck_assert_int_eq(model.classes[c].payload_bytes,
                         oracle_int_named("SELECT max(payload_size) FROM classes "
                                          "WHERE ?1 = ?1 AND class_name = ?2", 0,
                                          model.classes[c].name));
    }
    ck_assert(model.classes[model.class_count - 1].large);
    ck_assert_str_eq(model.classes[model.class_count - 1].name, "LARGE");
    /* Each process has its own table, LARGE after its last class. */
    for (size_t i = 0; i < model.proc_count; i++) {
        const struct top_process *p = &model.procs[i];
        ck_assert_int_eq(p->class_count, oracle_int2("SELECT count(*) FROM classes "
                                                     "WHERE process_id = ?1", p->process_id, 0));
        ck_assert(p->classes[p->class_count - 1].large);
    }
    close_fixture();
}
END_TEST

START_TEST(the_general_table_has_its_sixty_eight_classes_and_large)
{
    open_fixture("general.db");
    ck_assert_int_eq(model.class_count, 69);
    ck_assert_str_eq(model.classes[0].name, "B64");
    /* Four per doubling above 256 bytes: 320 and 1280 are classes. */
    int found = 0;
    for (size_t c = 0; c < model.class_count; c++)
        found += strcmp(model.classes[c].name, "B320") == 0 ||
                 strcmp(model.classes[c].name, "B1280") == 0;
    ck_assert_int_eq(found, 2);
    close_fixture();
}
END_TEST

START_TEST(an_empty_run_is_refused_with_one_line_that_says_so)
{
    /* A database with orthotope's schema and no process: the collector
     * creates exactly this before the first process registers. */
    char dir[] = "/tmp/check_top_model.XXXXXX", path[256], sql_path[1024], cmd[2400];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/empty.db", dir);
    snprintf(sql_path, sizeof sql_path, "%s/schema/schema.sql", getenv("ORTHO_SOURCE_DIR"));
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' < '%s'", path, sql_path);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    err[0] = '\0';
    ck_assert_int_eq(top_model_open(&model, &db, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no traced process") != NULL, "%s", err);
    ck_assert_msg(strstr(err, path) != NULL, "the line names the file: %s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    tracedb_close(&db);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- the class rows -------------------------------------------------- */

START_TEST(each_process_at_the_end_matches_the_fragmentation_view)
{
    open_fixture(class_tables[_i]);
    for (size_t i = 0; i < model.proc_count; i++) {
        struct top_snapshot snap = take_end((int)i);
        int64_t pid = model.procs[i].process_id;
        /* One row per class of its own table, none of the others'. */
        ck_assert_int_eq(snap.class_count, oracle_int2("SELECT count(*) FROM classes "
                                                       "WHERE process_id = ?1", pid, 0));
        for (size_t c = 0; c < snap.class_count; c++) {
            const struct top_class_row *r = &snap.classes[c];
            const char *where = "FROM fragmentation WHERE process_id = ?1 AND class_name = ?2";
            char sql[256];
#define EXPECT_COLUMN(column, field)                                                            \
    snprintf(sql, sizeof sql, "SELECT coalesce((SELECT %s %s), 0)", column, where);             \
    ck_assert_msg(r->field == oracle_int_named(sql, pid, r->name), "process %lld %s: %s",       \
                  (long long)pid, r->name, column)
            EXPECT_COLUMN("live_blocks", live_blocks);
            EXPECT_COLUMN("live_requested_bytes", live_requested_bytes);
            EXPECT_COLUMN("live_usable_bytes", live_usable_bytes);
            EXPECT_COLUMN("cached_blocks", cached_blocks);
            EXPECT_COLUMN("pooled_blocks", pooled_blocks);
#undef EXPECT_COLUMN
            snprintf(sql, sizeof sql, "SELECT coalesce((SELECT waste_pct %s), 0)", where);
            ck_assert_double_eq_tol(r->waste_pct, oracle_double_named(sql, pid, r->name), 0.005);
        }
        top_snapshot_free(&snap);
    }
    close_fixture();
}
END_TEST

START_TEST(all_processes_show_the_sum_of_their_rows)
{
    open_fixture(class_tables[_i]);
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_msg(strstr(snap.process_label, "all 3 processes") != NULL, "%s", snap.process_label);
    ck_assert_int_eq(snap.class_count, oracle_int("SELECT count(DISTINCT class_name) FROM classes"));
    for (size_t c = 0; c < snap.class_count; c++) {
        const struct top_class_row *r = &snap.classes[c];
#define SUM_OF(column, view) oracle_int_named("SELECT coalesce(sum(" column "), 0) FROM " view \
                                              " WHERE ?1 = ?1 AND class_name = ?2", 0, r->name)
        ck_assert_int_eq(r->live_blocks, SUM_OF("live_blocks", "fragmentation"));
        ck_assert_int_eq(r->cached_blocks, SUM_OF("cached_blocks", "fragmentation"));
        ck_assert_int_eq(r->allocs, SUM_OF("allocs", "class_totals"));
        ck_assert_int_eq(r->frees, SUM_OF("frees", "class_totals"));
#undef SUM_OF
    }
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(the_known_facts_of_query_workload_show_in_the_class_rows)
{
    open_fixture("facts.db");
    int root = top_model_find_process(&model, oracle_int("SELECT process_id FROM processes "
                                                         "WHERE via = 'root'"));
    ck_assert_int_ge(root, 0);
    struct top_snapshot snap = take_end(root);
    const struct top_class_row *b256 = class_row(&snap, "B256");
    ck_assert_int_eq(b256->live_blocks, 7);            /* leak_here: 7 blocks ... */
    ck_assert_int_eq(b256->live_requested_bytes, 1400); /* ... of 200 bytes */
    ck_assert_int_eq(b256->live_usable_bytes, 7 * 256);
    const struct top_class_row *b6k = class_row(&snap, "B6K");
    ck_assert_int_eq(b6k->allocs, 20000); /* churn */
    ck_assert_int_eq(b6k->frees, 20000);
    ck_assert_int_eq(b6k->live_blocks, 0);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(the_facts_land_in_the_classes_of_each_processs_own_table)
{
    /* mixed.db: the root ran 64,128,256,1K,8K, the exec'd child general. */
    open_fixture("mixed.db");
    int root = top_model_find_process(&model, oracle_int("SELECT process_id FROM processes "
                                                         "WHERE via = 'root'"));
    int child = top_model_find_process(&model, oracle_int("SELECT process_id FROM processes "
                                                          "WHERE via = 'exec'"));
    ck_assert_int_ge(root, 0);
    ck_assert_int_ge(child, 0);
    ck_assert_int_eq(model.procs[root].class_count, 6);
    ck_assert_int_eq(model.procs[child].class_count, 69);
    struct top_snapshot snap = take_end(root);
    ck_assert_int_eq(snap.class_count, 6);
    ck_assert_int_eq(class_row(&snap, "B256")->live_blocks, 7);   /* leak_here */
    ck_assert_int_eq(class_row(&snap, "B8K")->allocs, 20000 + 50); /* churn, hand_over */
    ck_assert_int_eq(class_row(&snap, "LARGE")->allocs, 4);        /* hold_long: 9000 > 8K */
    top_snapshot_free(&snap);
    snap = take_end(child);
    ck_assert_int_eq(snap.class_count, 69);
    /* child_work's 70000 bytes: general's class above 64K is B80K. */
    ck_assert_int_eq(class_row(&snap, "B80K")->allocs, 3);
    top_snapshot_free(&snap);
    snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_int_eq(class_row(&snap, "B80K")->allocs, 3);
    ck_assert_int_eq(class_row(&snap, "B8K")->allocs, 20000 + 50);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(a_full_trace_shows_as_many_live_blocks_as_its_unfreed_allocation_rows)
{
    /* ORTHO_TRACE=full stores every allocation: an account of live blocks
     * independent of the counters the series carries. */
    open_fixture("facts_full.db");
    for (size_t i = 0; i < model.proc_count; i++) {
        struct top_snapshot snap = take_end((int)i);
        for (size_t c = 0; c < snap.class_count; c++)
            ck_assert_int_eq(snap.classes[c].live_blocks,
                             oracle_int_named("SELECT count(*) FROM allocations a JOIN classes k "
                                              "USING (process_id, class_id) WHERE process_id = ?1 "
                                              "AND class_name = ?2 AND free_ns IS NULL",
                                              model.procs[i].process_id, snap.classes[c].name));
        top_snapshot_free(&snap);
    }
    close_fixture();
}
END_TEST

/* ---- time: carrying forward, rates, the cursor ------------------------ */

START_TEST(a_series_value_carries_forward_until_the_next_row)
{
    open_fixture(class_tables[_i]);
    int checked = 0;
    for (size_t i = 0; i < model.proc_count; i++) {
        for (size_t c = 0; c < model.procs[i].class_count; c++) {
            const struct top_series *s = &model.procs[i].series[c];
            ck_assert_int_eq(s->count, oracle_int2("SELECT count(*) FROM class_timeline WHERE "
                                                   "process_id = ?1 AND class_id = ?2",
                                                   model.procs[i].process_id, (int64_t)c));
            if (s->count == 0)
                continue;
            int64_t first = s->samples[0].ts_ns;
            ck_assert_int_eq(top_series_at(s, TOP_F_ALLOCS, first - 1), 0);
            for (size_t k = 0; k < s->count; k++) {
                int64_t ts = s->samples[k].ts_ns;
                /* At a row's time and just before the next row, the value
                 * is that row's. */
                int64_t at_row = top_series_at(s, TOP_F_ALLOCS, ts);
                int64_t before_next = top_series_at(s, TOP_F_ALLOCS,
                                                    k + 1 < s->count ? s->samples[k + 1].ts_ns - 1
                                                                     : ts + 1000000000LL);
                ck_assert_int_eq(at_row, s->samples[k].v[TOP_F_ALLOCS]);
                ck_assert_int_eq(before_next, s->samples[k].v[TOP_F_ALLOCS]);
                checked++;
            }
        }
    }
    ck_assert_int_gt(checked, 0);
    close_fixture();
}
END_TEST

/* The oracle's value of a cumulative class_series column of the class
 * called name, summed over all processes at time t: each process's newest
 * row at or before t. */
static int64_t oracle_cumulative(const char *column, const char *name, int64_t t)
{
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(%s), 0) FROM class_series s JOIN classes k "
             "USING (process_id, class_id) WHERE k.class_name = ?2 AND "
             "ts_ns = (SELECT max(ts_ns) FROM class_series x WHERE x.process_id = s.process_id "
             "AND x.class_id = s.class_id AND x.ts_ns <= ?1)", column);
    return oracle_int_named(sql, t, name);
}

START_TEST(rates_are_the_counter_deltas_over_the_last_second_of_data)
{
    open_fixture(class_tables[_i]);
    int64_t begin = oracle_int("SELECT min(start_ns) FROM processes");
    /* Every time a row was written, and the end. */
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(oracle, "SELECT DISTINCT ts_ns FROM class_series "
                                                "UNION SELECT max(end_ns) FROM processes",
                                        -1, &s, NULL), SQLITE_OK);
    int checked = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(s, 0);
        int64_t from = t - TOP_RATE_WINDOW_NS < begin ? begin : t - TOP_RATE_WINDOW_NS;
        struct top_snapshot snap = take(TOP_ALL_PROCESSES, t);
        ck_assert_int_eq(snap.at_ns, t);
        ck_assert_int_eq(snap.rate_window_ns, t - from);
        for (size_t c = 0; c < snap.class_count; c++) {
            const char *name = snap.classes[c].name;
            double expect = (double)(oracle_cumulative("allocs", name, t) -
                                     oracle_cumulative("allocs", name, from)) * 1e9 / (double)(t - from);
            ck_assert_double_eq_tol(snap.classes[c].allocs_per_s, expect, 1e-6 * (1 + expect));
            double drains = (double)(oracle_cumulative("cache_drains", name, t) -
                                     oracle_cumulative("cache_drains", name, from)) * 1e9 / (double)(t - from);
            ck_assert_double_eq_tol(snap.classes[c].drains_per_s, drains, 1e-6 * (1 + drains));
            checked++;
        }
        top_snapshot_free(&snap);
    }
    sqlite3_finalize(s);
    ck_assert_int_gt(checked, (int)model.class_count);
    close_fixture();
}
END_TEST

START_TEST(the_churn_shows_in_the_b6k_sparkline_and_nowhere_before_the_run)
{
    open_fixture("facts.db");
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    const struct top_class_row *b6k = class_row(&snap, "B6K");
    /* The whole run is shorter than one 5 s bucket: all 20000 allocations
     * fall in the newest, the older ones lie before the start. */
    int64_t run_ns = snap.at_ns - snap.begin_ns;
    ck_assert_int_lt(run_ns, TOP_SPARK_WINDOW_NS / TOP_SPARK_BUCKETS);
    ck_assert_double_gt(b6k->spark[TOP_SPARK_BUCKETS - 1], 0.0);
    for (int b = 0; b < TOP_SPARK_BUCKETS - 1; b++)
        ck_assert_double_eq(b6k->spark[b], 0.0);
    double bucket_s = (double)(TOP_SPARK_WINDOW_NS / TOP_SPARK_BUCKETS) / 1e9;
    ck_assert_double_eq_tol(b6k->spark[TOP_SPARK_BUCKETS - 1] * bucket_s,
                            (double)oracle_int("SELECT sum(allocs) FROM class_totals "
                                               "WHERE class_name = 'B6K'"), 1e-6);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(a_time_before_the_start_shows_the_start_with_nothing_live)
{
    open_fixture("facts.db");
    struct top_snapshot snap = take(TOP_ALL_PROCESSES, 1);
    ck_assert_int_eq(snap.at_ns, oracle_int("SELECT min(start_ns) FROM processes"));
    ck_assert_int_gt(snap.class_count, 0);
    for (size_t c = 0; c < snap.class_count; c++) {
        ck_assert_int_eq(snap.classes[c].live_blocks, 0);
        ck_assert_double_eq(snap.classes[c].allocs_per_s, 0.0);
    }
    ck_assert_int_eq(snap.event_count, 0);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(a_finished_run_cannot_be_shown_past_its_end)
{
    open_fixture("facts.db");
    int64_t end = top_model_data_end_ns(&model);
    struct top_snapshot snap = take(TOP_ALL_PROCESSES, end + 5000000000LL);
    ck_assert_int_eq(snap.at_ns, end);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(the_peak_is_when_the_most_usable_bytes_were_live)
{
    open_fixture(class_tables[_i]);
    /* The oracle's peak: over every row time, the carried-forward total. */
    int64_t best = oracle_int(
        "WITH t AS (SELECT DISTINCT ts_ns FROM class_series) "
        "SELECT max((SELECT coalesce(sum(live_usable_bytes), 0) FROM class_series s "
        "  WHERE s.ts_ns = (SELECT max(ts_ns) FROM class_series x WHERE x.process_id = s.process_id "
        "  AND x.class_id = s.class_id AND x.ts_ns <= t.ts_ns))) FROM t");
    ck_assert_int_gt(best, 0);
    int64_t peak = top_snapshot_peak_ns(&model, TOP_ALL_PROCESSES);
    struct top_snapshot snap = take(TOP_ALL_PROCESSES, peak);
    int64_t total = 0;
    for (size_t c = 0; c < snap.class_count; c++)
        total += snap.classes[c].live_usable_bytes;
    ck_assert_int_eq(total, best);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

/* ---- fragmentation ------------------------------------------------------ */

START_TEST(fragmentation_parts_add_up_from_the_class_rows)
{
    open_fixture(class_tables[_i]);
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    int64_t requested = 0, waste = 0, cached = 0, pooled = 0;
    for (size_t c = 0; c < snap.class_count; c++) {
        const struct top_frag *f = &snap.frag[c];
        if (snap.classes[c].large)
            continue;
        ck_assert_int_eq(f->requested, snap.classes[c].live_requested_bytes);
        ck_assert_int_eq(f->waste, snap.classes[c].live_usable_bytes - snap.classes[c].live_requested_bytes);
        requested += f->requested;
        waste += f->waste;
        cached += f->cached;
        pooled += f->pooled;
    }
    ck_assert_int_eq(snap.frag_total.requested, requested);
    ck_assert_int_eq(snap.frag_total.waste, waste);
    /* Cache and pool slack in bytes is what the fragmentation view prices. */
    ck_assert_int_eq(cached, oracle_int("SELECT sum(cached_bytes) FROM fragmentation "
                                        "WHERE class_name <> 'LARGE'"));
    ck_assert_int_eq(pooled, oracle_int("SELECT sum(pooled_bytes) FROM fragmentation "
                                        "WHERE class_name <> 'LARGE'"));
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(large_free_bytes_are_mapped_minus_unmapped_minus_live_at_the_end_only)
{
    open_fixture("tensor.db");
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    int64_t expect = oracle_int("SELECT large_mapped_bytes - large_unmapped_bytes - live_usable_bytes "
                                "FROM class_stats JOIN classes USING (process_id, class_id) "
                                "WHERE class_name = 'LARGE'");
    ck_assert_int_gt(expect, 0); /* the pipeline keeps its 20 MiB mapping for reuse */
    size_t large = snap.class_count - 1;
    ck_assert(snap.classes[large].large);
    ck_assert_int_eq(snap.frag[large].large_free, expect);
    ck_assert_int_eq(snap.frag_total.large_free, expect);
    top_snapshot_free(&snap);
    /* Earlier than the newest data the database does not know it. */
    snap = take(TOP_ALL_PROCESSES, top_model_begin_ns(&model) + 1);
    ck_assert_int_eq(snap.frag[snap.class_count - 1].large_free, -1);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

/* ---- sites, threads, corruption --------------------------------------- */

START_TEST(no_site_is_read_until_a_screen_asks_for_sites)
{
    open_fixture("facts.db");
    ck_assert_int_eq(model.site_count, 0);
    want_sites(0, TOP_SITES_BY_LIVE_BYTES, true, NULL);
    ck_assert_int_gt(model.site_count, 0);
    struct top_site_query none = {0};
    ck_assert(top_model_set_site_query(&model, &none));
    ck_assert(!top_model_set_site_query(&model, &none)); /* the same query again */
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(model.site_count, 0);
    close_fixture();
}
END_TEST

START_TEST(sites_are_summed_per_function_file_and_line)
{
    open_fixture("facts.db");
    /* One process at a time: the top_sites view's rows of that process. */
    for (size_t i = 0; i < model.proc_count; i++) {
        int64_t pid = model.procs[i].process_id;
        want_sites(pid, TOP_SITES_BY_LIVE_BYTES, true, NULL);
        ck_assert_int_eq(model.site_count,
                         (size_t)oracle_int2("SELECT count(*) FROM (SELECT 1 FROM sites si LEFT JOIN"
                                             " stacks st USING (process_id, stack_id) WHERE"
                                             " si.process_id = ?1 GROUP BY st.site_function,"
                                             " st.site_file, st.site_line)", pid, 0));
        for (size_t k = 0; k < model.site_count; k++)
            ck_assert_int_eq(model.sites[k].process_id, pid);
    }
    /* Every process: one row per site over the tree. */
    want_sites(0, TOP_SITES_BY_LIVE_BYTES, true, NULL);
    ck_assert_int_eq(model.site_count,
                     (size_t)oracle_int("SELECT count(*) FROM (SELECT 1 FROM sites si LEFT JOIN "
                                        "stacks st USING (process_id, stack_id) GROUP BY "
                                        "st.site_function, st.site_file, st.site_line)"));
    ck_assert_int_eq(model.site_total, (int64_t)model.site_count);
    for (size_t k = 1; k < model.site_count; k++)
        ck_assert_int_ge(model.sites[k - 1].live_bytes, model.sites[k].live_bytes);
    int leak_rows = 0;
    for (size_t i = 0; i < model.site_count; i++) {
        const struct top_site *s = &model.sites[i];
        if (strcmp(s->function, "leak_here") == 0) {
            leak_rows++;
            ck_assert_int_eq(s->live_blocks, 7);
            ck_assert_int_eq(s->live_bytes, 1400);
            ck_assert_msg(strstr(s->file, "query_workload.c") != NULL, "%s", s->file);
        }
        if (strcmp(s->function, "churn") == 0) {
            ck_assert_int_eq(s->allocs, 20000);
            ck_assert_int_eq(s->alloc_bytes, 20000 * 5000);
        }
    }
    ck_assert_int_eq(leak_rows, 1);
    close_fixture();
}
END_TEST

START_TEST(the_database_filters_and_ranks_the_sites)
{
    open_fixture("facts.db");
    want_sites(0, TOP_SITES_BY_ALLOCS, true, "CHURN");
    ck_assert_int_eq(model.site_count, 1);
    ck_assert_str_eq(model.sites[0].function, "churn");
    want_sites(0, TOP_SITES_BY_ALLOCS, true, "query_workload.c:");
    ck_assert_int_eq(model.site_count,
                     (size_t)oracle_int("SELECT count(*) FROM top_sites WHERE file LIKE "
                                        "'%query_workload.c'"));
    for (size_t k = 1; k < model.site_count; k++)
        ck_assert_int_ge(model.sites[k - 1].allocs, model.sites[k].allocs);
    want_sites(0, TOP_SITES_BY_FUNCTION, false, NULL);
    for (size_t k = 1; k < model.site_count; k++)
        ck_assert_int_le(strcmp(model.sites[k - 1].function, model.sites[k].function), 0);
    close_fixture();
}
END_TEST

START_TEST(without_stacks_every_allocation_lands_in_the_no_stack_site)
{
    open_fixture("nostacks.db");
    want_sites(0, TOP_SITES_BY_LIVE_BYTES, true, NULL);
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_int_eq(snap.site_count, 1); /* one row over the whole tree */
    ck_assert_str_eq(snap.sites[0].function, "(no stack)");
    ck_assert_int_eq(snap.sites[0].allocs, oracle_int("SELECT sum(allocs) FROM sites"));
    ck_assert_int_eq(snap.sites[0].allocs, oracle_int("SELECT sum(allocs) FROM class_totals"));
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(a_finished_sites_rate_is_its_allocations_over_its_process_lifetime)
{
    open_fixture("facts.db");
    want_sites(1, TOP_SITES_BY_RATE, true, NULL);
    ck_assert_int_gt(model.site_count, 0);
    for (size_t i = 0; i < model.site_count; i++) {
        const struct top_site *s = &model.sites[i];
        double life_s = oracle_double2("SELECT (end_ns - start_ns) / 1e9 FROM processes "
                                       "WHERE process_id = ?1", s->process_id, 0);
        ck_assert_double_eq_tol(s->allocs_per_s, (double)s->allocs / life_s, 1e-6 * (1 + s->allocs_per_s));
    }
    close_fixture();
}
END_TEST

START_TEST(the_freer_thread_shows_its_fifty_cross_thread_frees)
{
    open_fixture("facts.db");
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_int_eq(snap.thread_count, (size_t)oracle_int("SELECT count(*) FROM threads"));
    int found = 0;
    for (size_t i = 0; i < snap.thread_count; i++) {
        const struct top_thread *t = snap.threads[i];
        if (strcmp(t->name, "qw-freer") == 0) {
            found++;
            ck_assert_int_eq(t->frees, 50);
            ck_assert_int_eq(t->cross_thread_frees, 50);
            ck_assert_int_eq(t->allocs, 0);
        }
    }
    ck_assert_int_eq(found, 1);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

START_TEST(the_double_free_is_listed_with_its_stack_innermost_first)
{
    open_fixture("facts.db");
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_int_eq(snap.event_count, (size_t)oracle_int("SELECT count(*) FROM corruption"));
    ck_assert_int_eq(snap.event_count, 1);
    const struct top_event *e = snap.events[0];
    ck_assert_str_eq(e->kind, "double_free");
    ck_assert_str_eq(e->function, "free_twice");
    ck_assert_str_eq(e->class_name, "B64");
    ck_assert_int_eq(e->header_bytes, 64);
    struct top_frame frames[64];
    int n = top_model_stack(&model, e->process_id, e->stack_id, frames, 64);
    ck_assert_int_eq(n, oracle_int2("SELECT count(*) FROM frames WHERE process_id = ?1 AND "
                                    "stack_id = ?2", e->process_id, e->stack_id));
    ck_assert_int_ge(n, 2);
    ck_assert_str_eq(frames[0].function, "free_twice");
    ck_assert_str_eq(frames[1].function, "main");
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(frames[i].level, i);
    top_snapshot_free(&snap);
    /* Before the event happened, the screen does not list it. */
    snap = take(TOP_ALL_PROCESSES, e->ts_ns - 1);
    ck_assert_int_eq(snap.event_count, 0);
    top_snapshot_free(&snap);
    close_fixture();
}
END_TEST

/* ---- refresh -------------------------------------------------------------- */

static char scratch[64];

static const char *copy_fixture(const char *name)
{
    static char path[256];
    snprintf(scratch, sizeof scratch, "/tmp/check_top_model.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    char cmd[2048];
    /* .backup copies the WAL's content too; the copy then has its own.
     * .timeout: another test's reader of the same fixture may be closing
     * it (the last connection's checkpoint locks it a moment), which once
     * failed this copy with "database is locked" under ctest -j2. */
    snprintf(cmd, sizeof cmd, "sqlite3 -cmd '.timeout 5000' '%s' \".backup '%s'\"", fixture(name),
             path);
    ck_assert_int_eq(system(cmd), 0);
    return path;
}

static void remove_copy(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(a_refresh_appends_newer_rows_and_replaces_the_newest)
{
    /* What the collector does at a commit of a running process, done with
     * its own SQL on a copy of a real trace: a class_series row stamped
     * with the newest event time, class_stats updated, and last_ts_ns
     * moved on. The timeline ends with class_stats' row at last_ts_ns, so
     * a commit also shows the series row it had hidden there. */
    const char *path = copy_fixture("facts.db");
    sqlite3 *w;
    ck_assert_int_eq(sqlite3_open(path, &w), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(w, "UPDATE processes SET end_ns = NULL, end_reason = NULL,"
                                     " last_ts_ns = (SELECT max(ts_ns) FROM class_series"
                                     " WHERE process_id = 1) + 1000 WHERE process_id = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(top_model_open(&model, &db, err, sizeof err) == 0, "%s", err);
    ck_assert(top_model_is_live(&model));
    int p = top_model_find_process(&model, 1);
    int c = 5; /* B16K: rows in the root process */
    struct top_series *s = &model.procs[p].series[c];
    size_t before = s->count;
    ck_assert_int_ge(before, 2);
    int64_t last_ts = s->samples[before - 1].ts_ns; /* class_stats' row, at last_ts_ns */
    int64_t old_allocs = s->samples[before - 1].v[TOP_F_ALLOCS];
    int64_t old_live = s->samples[before - 1].v[TOP_F_LIVE_BLOCKS];
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO class_series SELECT process_id, class_id, %lld, allocs + 1, frees,"
             " live_blocks, live_requested_bytes, live_usable_bytes, cached_blocks, pooled_blocks,"
             " cache_refills, cache_drains, carved_blocks FROM class_stats"
             " WHERE process_id = 1 AND class_id = %d;"
             "UPDATE class_stats SET allocs = allocs + 10, live_blocks = live_blocks + 3"
             " WHERE process_id = 1 AND class_id = %d;"
             "UPDATE processes SET last_ts_ns = %lld WHERE process_id = 1;",
             (long long)last_ts, c, c, (long long)(last_ts + 250000000));
    ck_assert_msg(sqlite3_exec(w, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(w));
    sqlite3_close(w);
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
    s = &model.procs[p].series[c];
    ck_assert_int_eq(s->count, before + 1);
    ck_assert_int_eq(s->samples[before - 1].ts_ns, last_ts);
    ck_assert_int_eq(s->samples[before - 1].v[TOP_F_ALLOCS], old_allocs + 1); /* replaced */
    ck_assert_int_eq(s->samples[before].ts_ns, last_ts + 250000000);
    ck_assert_int_eq(s->samples[before].v[TOP_F_ALLOCS], old_allocs + 10);
    ck_assert_int_eq(s->samples[before].v[TOP_F_LIVE_BLOCKS], old_live + 3);
    ck_assert_int_ge(top_model_data_end_ns(&model), last_ts + 250000000);
    /* Nothing new: a second refresh changes nothing. */
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(model.procs[p].series[c].count, before + 1);
    top_model_free(&model);
    tracedb_close(&db);
    remove_copy();
}
END_TEST

START_TEST(a_refresh_of_a_locked_database_fails_and_keeps_the_model)
{
    const char *path = copy_fixture("facts.db");
    sqlite3 *w;
    ck_assert_int_eq(sqlite3_open(path, &w), SQLITE_OK);
    /* In rollback-journal mode an exclusive writer shuts readers out. */
    ck_assert_int_eq(sqlite3_exec(w, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(top_model_open(&model, &db, err, sizeof err) == 0, "%s", err);
    sqlite3_busy_timeout(db.conn, 50); /* the 5 s of tracedb would only slow the test */
    size_t sites = model.site_count, procs = model.proc_count;
    ck_assert_int_eq(sqlite3_exec(w, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    err[0] = '\0';
    ck_assert_int_eq(top_model_refresh(&model, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "locked") != NULL, "%s", err);
    ck_assert_int_eq(model.site_count, sites);
    ck_assert_int_eq(model.proc_count, procs);
    struct top_snapshot snap = take_end(TOP_ALL_PROCESSES);
    ck_assert_int_eq(snap.classes[1].live_blocks, 7);
    top_snapshot_free(&snap);
    sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(w);
    ck_assert_msg(top_model_refresh(&model, err, sizeof err) == 0, "%s", err);
    top_model_free(&model);
    tracedb_close(&db);
    remove_copy();
}
END_TEST

static Suite *top_model_suite(void)
{
    Suite *s = suite_create("top_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, a_finished_run_opens_with_its_three_processes_and_is_not_live);
    tcase_add_test(tc, an_empty_run_is_refused_with_one_line_that_says_so);
    tcase_add_loop_test(tc, the_model_lists_every_class_of_every_process_by_payload_and_large_last,
                        0, CLASS_TABLES);
    tcase_add_test(tc, the_general_table_has_its_sixty_eight_classes_and_large);
    tcase_add_test(tc, the_facts_land_in_the_classes_of_each_processs_own_table);
    tcase_add_loop_test(tc, each_process_at_the_end_matches_the_fragmentation_view, 0, CLASS_TABLES);
    tcase_add_loop_test(tc, all_processes_show_the_sum_of_their_rows, 0, CLASS_TABLES);
    tcase_add_test(tc, the_known_facts_of_query_workload_show_in_the_class_rows);
    tcase_add_test(tc, a_full_trace_shows_as_many_live_blocks_as_its_unfreed_allocation_rows);
    tcase_add_loop_test(tc, a_series_value_carries_forward_until_the_next_row, 0, CLASS_TABLES);
    tcase_add_loop_test(tc, rates_are_the_counter_deltas_over_the_last_second_of_data, 0, CLASS_TABLES);
    tcase_add_test(tc, the_churn_shows_in_the_b6k_sparkline_and_nowhere_before_the_run);
    tcase_add_test(tc, a_time_before_the_start_shows_the_start_with_nothing_live);
    tcase_add_test(tc, a_finished_run_cannot_be_shown_past_its_end);
    tcase_add_loop_test(tc, the_peak_is_when_the_most_usable_bytes_were_live, 0, CLASS_TABLES);
    tcase_add_loop_test(tc, fragmentation_parts_add_up_from_the_class_rows, 0, CLASS_TABLES);
    tcase_add_test(tc, large_free_bytes_are_mapped_minus_unmapped_minus_live_at_the_end_only);
    tcase_add_test(tc, no_site_is_read_until_a_screen_asks_for_sites);
    tcase_add_test(tc, sites_are_summed_per_function_file_and_line);
    tcase_add_test(tc, the_database_filters_and_ranks_the_sites);
    tcase_add_test(tc, without_stacks_every_allocation_lands_in_the_no_stack_site);
    tcase_add_test(tc, a_finished_sites_rate_is_its_allocations_over_its_process_lifetime);
    tcase_add_test(tc, the_freer_thread_shows_its_fifty_cross_thread_frees);
    tcase_add_test(tc, the_double_free_is_listed_with_its_stack_innermost_first);
    tcase_add_test(tc, a_refresh_appends_newer_rows_and_replaces_the_newest);
    tcase_add_test(tc, a_refresh_of_a_locked_database_fails_and_keeps_the_model);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(top_model_suite)
