/* check_report_model.c - unit tests of ortho-report's model (viewer/report/
 * model.c) and of what the stack outputs build on it (weights.c, flame.c),
 * against the fixture databases of real traced runs. Every expected number
 * comes from a query the test runs on the same file with SQLite, or from
 * the facts query_workload.c states in its opening comment; none is copied
 * from the model's own output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "flame.h"
#include "model.h"
#include "schema.h"
#include "weights.h"
#include "viewer_fixture.h"

static char err[1024];

static void load(struct model *m, const char *name)
{
    ck_assert_msg(model_load_path(m, fixture(name), NULL, err, sizeof err) == 0, "%s", err);
}

START_TEST(a_traced_tree_loads_as_its_processes_in_id_order)
{
    struct model m;
    load(&m, "facts.db");
    const char *path = fixture("facts.db");
    ck_assert_uint_eq(m.process_count, (size_t)sql_int(path, "SELECT count(*) FROM processes"));
    ck_assert_uint_eq(m.process_count, 3); /* root -> fork -> exec, per query_workload.c */
    for (size_t i = 0; i < m.process_count; i++)
        ck_assert_int_eq(m.processes[i].process_id, (int64_t)i + 1);
    ck_assert_str_eq(m.processes[0].via, "root");
    ck_assert_int_eq(m.processes[1].parent_process_id, 1);
    ck_assert_int_eq(m.processes[0].pid, sql_int(path, "SELECT pid FROM processes WHERE process_id = 1"));
    ck_assert(!m.live);
    ck_assert(!m.stacks_off);
    ck_assert(!m.sampled);
    model_free(&m);
}
END_TEST

/* The class-row tests' databases (loop tests: _i indexes this): the
 * default table, ORTHO_CLASSES=general, and a tree mixing a short list
 * with general (make_fixtures.sh). */
static const char *const class_tables[] = {"facts.db", "general.db", "mixed.db"};
#define CLASS_TABLES ((int)(sizeof class_tables / sizeof class_tables[0]))

/* The model's index of the class called name, or -1. */
static int class_named(const struct model *m, const char *name)
{
    for (size_t c = 0; c < m->class_count; c++)
        if (strcmp(m->classes[c].name, name) == 0)
            return (int)c;
    return -1;
}

START_TEST(class_totals_over_the_tree_equal_the_class_totals_view)
{
    struct model m;
    const char *name = class_tables[_i];
    load(&m, name);
    const char *path = fixture(name);
    char sql[512];
    /* One class per name over every process's table, by payload, LARGE last. */
    ck_assert_uint_eq(m.class_count,
                      (size_t)sql_int(path, "SELECT count(DISTINCT class_name) FROM classes"));
    ck_assert(m.classes[m.class_count - 1].large);
    ck_assert_str_eq(m.classes[m.class_count - 1].name, "LARGE");
    for (size_t c = 0; c + 2 < m.class_count; c++)
        ck_assert_int_lt(m.classes[c].payload_bytes, m.classes[c + 1].payload_bytes);
    for (size_t c = 0; c < m.class_count; c++) {
        const char *k = m.classes[c].name;
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(sum(allocs), 0) FROM class_totals WHERE class_name = '%s'", k);
        ck_assert_int_eq(m.totals[c].allocs, sql_int(path, sql));
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(sum(usable_bytes - requested_bytes), 0) FROM class_totals"
                 " WHERE class_name = '%s'", k);
        ck_assert_int_eq(m.totals[c].usable_bytes - m.totals[c].requested_bytes, sql_int(path, sql));
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(sum(live_usable_bytes), 0) FROM fragmentation WHERE class_name = '%s'",
                 k);
        ck_assert_int_eq(m.totals[c].live_usable_bytes, sql_int(path, sql));
        /* Each process: its own class_id for the name, or none. */
        for (size_t i = 0; i < m.process_count; i++) {
            const struct model_process *p = &m.processes[i];
            snprintf(sql, sizeof sql, "SELECT coalesce((SELECT class_id FROM classes WHERE"
                     " process_id = %lld AND class_name = '%s'), -1)", (long long)p->process_id, k);
            ck_assert_int_eq(p->class_ids[c], sql_int(path, sql));
            snprintf(sql, sizeof sql, "SELECT coalesce((SELECT allocs FROM class_totals WHERE"
                     " process_id = %lld AND class_name = '%s'), 0)", (long long)p->process_id, k);
            ck_assert_int_eq(p->classes[c].allocs, sql_int(path, sql));
        }
    }
    /* churn: 20000 blocks of 5000 bytes, in B6K by default, B5K in general. */
    int churn = class_named(&m, _i == 0 ? "B6K" : _i == 1 ? "B5K" : "B8K");
    ck_assert_int_ge(churn, 0);
    ck_assert_int_eq(m.processes[0].classes[churn].allocs, _i == 2 ? 20000 + 50 : 20000);
    model_free(&m);
}
END_TEST

START_TEST(a_mixed_tree_keeps_each_processs_table)
{
    struct model m;
    load(&m, "mixed.db");
    /* The root (64,128,256,1K,8K) and the exec'd child (general). */
    ck_assert_uint_eq(m.processes[0].own_class_count, 6);
    ck_assert_uint_eq(m.processes[2].own_class_count, 69);
    int b80k = class_named(&m, "B80K"), large = class_named(&m, "LARGE");
    ck_assert_int_ge(b80k, 0);
    ck_assert_int_eq(m.processes[0].class_ids[b80k], -1);  /* not in the root's table */
    ck_assert_int_eq(m.processes[2].classes[b80k].allocs, 3); /* child_work: 70000 bytes */
    ck_assert_int_eq(m.processes[0].classes[large].allocs, 4); /* hold_long: 9000 > 8K */
    /* LARGE is class 5 in the root's table and 68 in the child's. */
    ck_assert_int_eq(m.processes[0].class_ids[large], 5);
    ck_assert_int_eq(m.processes[2].class_ids[large], 68);
    ck_assert_int_eq(m.classes[large].class_id, -1);
    model_free(&m);
}
END_TEST

/* What the site tests gather from model_each_site. */
struct sites_seen {
    size_t count;
    int64_t bytes;
    struct model_site churn;        /* function left NULL */
    bool churn_seen;
    int64_t last_process, last_bytes;
    bool in_order;                  /* by process, then bytes descending */
};

static void see_site(const struct model_site *s, void *ctx)
{
    struct sites_seen *seen = ctx;
    if (seen->count > 0 && (s->process_id < seen->last_process ||
                            (s->process_id == seen->last_process && s->alloc_bytes > seen->last_bytes)))
        seen->in_order = false;
    seen->count++;
    seen->bytes += s->alloc_bytes;
    seen->last_process = s->process_id;
    seen->last_bytes = s->alloc_bytes;
    if (s->function && strcmp(s->function, "churn") == 0) {
        seen->churn = *s;
        seen->churn.function = seen->churn.file = NULL;
        seen->churn_seen = true;
    }
}

START_TEST(sites_are_aggregated_per_function_file_and_line)
{
    struct model m;
    load(&m, "facts.db");
    const char *path = fixture("facts.db");
    struct sites_seen seen = {.in_order = true};
    model_each_site(&m, NULL, NULL, 0, see_site, &seen);
    ck_assert_uint_eq(seen.count,
                      (size_t)sql_int(path, "SELECT count(*) FROM (SELECT 1 FROM sites si"
                                            " LEFT JOIN stacks st USING (process_id, stack_id)"
                                            " GROUP BY si.process_id, st.site_function,"
                                            " st.site_file, st.site_line)"));
    ck_assert(seen.in_order);
    ck_assert_int_eq(seen.bytes, sql_int(path, "SELECT sum(alloc_bytes) FROM sites"));
    ck_assert(seen.churn_seen);
    ck_assert_int_eq(seen.churn.allocs, 20000);
    ck_assert_int_eq(seen.churn.alloc_bytes, 100000000);
    ck_assert(seen.churn.has_stack);
    ck_assert_int_eq(model_count_sites(&m, NULL, false), (int64_t)seen.count);
    ck_assert_int_eq(model_count_sites(&m, NULL, true),
                     sql_int(path, "SELECT count(DISTINCT process_id) FROM sites"));
    model_free(&m);
}
END_TEST

START_TEST(sql_ranks_the_sites_as_the_outputs_weigh_them)
{
    struct model m;
    load(&m, "facts.db");
    /* The top 2 by allocations, ranked by SQL with weight_site_sql: the
     * same order and the same weights as weight_site computes in C. */
    char where[256], order[256];
    snprintf(where, sizeof where, "%s > 0", weight_site_sql(WEIGHT_ALLOCS));
    snprintf(order, sizeof order, "%s DESC", weight_site_sql(WEIGHT_ALLOCS));
    struct sites_seen seen = {.in_order = true};
    model_each_site(&m, where, order, 2, see_site, &seen);
    ck_assert_uint_eq(seen.count, 2);
    ck_assert(seen.churn_seen); /* 20000 allocations: the most */
    ck_assert_int_eq(model_count_sites(&m, where, false),
                     sql_int(fixture("facts.db"), "SELECT count(*) FROM top_sites WHERE allocs > 0"));
    model_free(&m);
}
END_TEST

START_TEST(leaks_are_grouped_per_stack_with_frames_innermost_first)
{
    struct model m;
    load(&m, "facts.db");
    const char *path = fixture("facts.db");
    ck_assert_uint_eq(m.leak_count, (size_t)sql_int(path, "SELECT count(DISTINCT process_id || ':'"
                                                          " || stack_id) FROM leaks"));
    ck_assert_uint_eq(m.leak_site_count,
                      (size_t)sql_int(path, "SELECT count(*) FROM (SELECT 1 FROM leaks GROUP BY"
                                            " process_id, stack_id = 0, function, file, line)"));
    for (size_t i = 1; i < m.leak_count; i++)
        ck_assert_uint_le(m.leaks[i - 1].site, m.leaks[i].site); /* a site's stacks together */
    ck_assert_int_eq(model_total_leak_blocks(&m), sql_int(path, "SELECT count(*) FROM leaks"));
    ck_assert_int_eq(model_total_leak_bytes(&m),
                     sql_int(path, "SELECT sum(requested_size) FROM leaks"));
    /* The largest leak first: leak_here's 7 blocks of 200 bytes. */
    const struct model_leak *l = &m.leaks[0];
    ck_assert_str_eq(l->function, "leak_here");
    ck_assert_int_eq(l->blocks, 7);
    ck_assert_int_eq(l->bytes, 1400);
    ck_assert_str_eq(l->class_names, "B256");
    const struct model_stack *s = model_stack(&m, l->process_id, l->stack_id);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_ge(s->frame_count, 2);
    ck_assert_str_eq(s->frames[0].function, "leak_here");
    ck_assert_str_eq(s->frames[1].function, "main");
    ck_assert_int_gt(s->frames[0].line, 0);
    model_free(&m);
}
END_TEST

/* What model_each_corruption handed out: the first event, copied. */
struct events_seen {
    size_t count;
    int64_t process_id, stack_id, alloc_stack_id;
    char kind[32], function[64], class_name[16];
};

static void see_event(const struct model_corruption *c, void *ctx)
{
    struct events_seen *seen = ctx;
    if (seen->count++ > 0)
        return;
    seen->process_id = c->process_id;
    seen->stack_id = c->stack_id;
    seen->alloc_stack_id = c->alloc_stack_id;
    snprintf(seen->kind, sizeof seen->kind, "%s", c->kind ? c->kind : "");
    snprintf(seen->function, sizeof seen->function, "%s", c->function ? c->function : "");
    snprintf(seen->class_name, sizeof seen->class_name, "%s", c->class_name ? c->class_name : "");
}

START_TEST(the_double_free_is_loaded_with_where_it_was_caught_and_allocated)
{
    struct model m;
    load(&m, "facts.db");
    const char *path = fixture("facts.db");
    /* Counted (corruption_summary) and stored (corruption): one of each. */
    ck_assert_int_eq(m.corruption_events, sql_int(path, "SELECT sum(events) FROM corruption_summary"));
    ck_assert_int_eq(m.corruption_stored, sql_int(path, "SELECT count(*) FROM corruption"));
    ck_assert_int_eq(m.corruption_events, 1);
    ck_assert_uint_eq(m.corruption_group_count, 1);
    ck_assert_str_eq(m.corruption_groups[0].kind, "double_free");
    ck_assert_str_eq(m.corruption_groups[0].function, "free_twice");
    ck_assert_uint_eq(m.corruption_kind_count, 1);
    ck_assert_int_eq(m.corruption_kinds[0].events, 1);
    struct events_seen seen = {0};
    model_each_corruption(&m, 0, see_event, &seen);
    ck_assert_uint_eq(seen.count, 1);
    ck_assert_str_eq(seen.kind, "double_free");
    ck_assert_str_eq(seen.function, "free_twice");
    ck_assert_str_eq(seen.class_name, "B64");
    const struct model_stack *at = model_stack(&m, seen.process_id, seen.stack_id);
    const struct model_stack *from = model_stack(&m, seen.process_id, seen.alloc_stack_id);
    ck_assert_ptr_nonnull(at);
    ck_assert_ptr_nonnull(from);
    ck_assert_str_eq(at->frames[0].function, "free_twice");
    ck_assert_str_eq(from->frames[0].function, "free_twice");
    ck_assert_int_ne(at->frames[0].line, from->frames[0].line); /* the free vs the malloc */
    model_free(&m);
}
END_TEST

START_TEST(a_file_without_corruption_groups_counts_its_stored_events)
{
    /* Version-2 files from before the collector counted events have no
     * corruption_groups (nor corruption_summary): the report counts the
     * rows it has. */
    char dir[] = "/tmp/check_report_model.XXXXXX", path[256], cmd[2048];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/old.db", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && sqlite3 '%s' 'DROP VIEW corruption_summary;"
             " DROP TABLE corruption_groups'", fixture("facts.db"), path, path);
    ck_assert_int_eq(system(cmd), 0);
    struct model m;
    ck_assert_msg(model_load_path(&m, path, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(m.corruption_events, 1);
    ck_assert_int_eq(m.corruption_stored, 1);
    ck_assert_uint_eq(m.corruption_group_count, 1);
    ck_assert_str_eq(m.corruption_groups[0].function, "free_twice");
    ck_assert_str_eq(m.corruption_kinds[0].kind, "double_free");
    model_free(&m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* model_each_stack's findings: versioned names, and whether
 * __libc_start_main was met by its plain name. */
struct stacks_seen {
    size_t stacks, frames, versioned;
    bool libc_start_main;
};

static void see_stack(const struct model_stack_site *row, const struct model_stack *s, void *ctx)
{
    struct stacks_seen *seen = ctx;
    (void)row;
    seen->stacks++;
    for (size_t f = 0; s != NULL && f < s->frame_count; f++) {
        const char *name = s->frames[f].function;
        seen->frames++;
        seen->versioned += name != NULL && strchr(name, '@') != NULL;
        seen->libc_start_main |= name != NULL && strcmp(name, "__libc_start_main") == 0;
    }
}

START_TEST(symbol_versions_never_reach_a_frame_name)
{
    /* A copy of facts.db whose frames carry glibc's symbol versions. */
    char dir[] = "/tmp/check_report_model.XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/versioned.db", dir);
    fixture_copy("facts.db", path);
    sqlite3 *conn = NULL;
    ck_assert_int_eq(sqlite3_open(path, &conn), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(conn,
                                  "UPDATE frames SET function = function || '@@GLIBC_2.34'"
                                  " WHERE function = '__libc_start_main';"
                                  "UPDATE stacks SET site_function = site_function || '@GLIBC_2.2.5'"
                                  " WHERE site_function = 'leak_here'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(conn);
    struct model m;
    ck_assert_msg(model_load_path(&m, path, NULL, err, sizeof err) == 0, "%s", err);
    struct stacks_seen seen = {0};
    model_each_stack(&m, see_stack, &seen);
    ck_assert_uint_gt(seen.frames, 0);
    ck_assert_uint_eq(seen.versioned, 0);
    ck_assert(seen.libc_start_main);
    ck_assert_str_eq(m.leaks[0].function, "leak_here"); /* the leaks view's site, too */
    model_free(&m);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(a_run_without_stacks_is_flagged_and_says_why_it_has_no_stacks)
{
    struct model m;
    load(&m, "nostacks.db");
    ck_assert(m.stacks_off);
    struct stacks_seen seen = {0};
    model_each_stack(&m, see_stack, &seen);
    ck_assert_uint_eq(seen.frames, 0);
    const char *why = model_no_stacks_reason(&m);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "ORTHO_TRACE_STACKS=0"));
    /* The counters are exact without stacks: the same leaks as with them. */
    ck_assert_int_eq(model_total_leak_blocks(&m),
                     sql_int(fixture("nostacks.db"), "SELECT count(*) FROM leaks"));
    ck_assert_int_eq(m.leaks[0].stack_id, 0);
    model_free(&m);
    load(&m, "facts.db");
    ck_assert_ptr_null(model_no_stacks_reason(&m));
    model_free(&m);
}
END_TEST

START_TEST(full_mode_gives_the_exact_peak_and_summary_mode_bounds_it)
{
    struct model full, summary;
    load(&full, "facts_full.db");
    load(&summary, "facts.db");
    const struct model_process *f = &full.processes[0], *s = &summary.processes[0];
    ck_assert(f->peak_exact);
    ck_assert(!s->peak_exact);
    ck_assert_int_eq(f->peak_low_bytes, f->peak_high_bytes);
    /* hand_over holds 50 B4K blocks at once, beside leak_here's 7 B256 ones. */
    ck_assert_int_ge(f->peak_low_bytes, 50 * 4096 + 7 * 256);
    ck_assert_int_le(f->peak_low_bytes,
                     sql_int(fixture("facts_full.db"),
                             "SELECT sum(peak_live_usable_bytes) FROM class_stats WHERE process_id = 1"));
    ck_assert_int_le(s->peak_low_bytes, s->peak_high_bytes);
    ck_assert_int_eq(s->peak_high_bytes,
                     sql_int(fixture("facts.db"), "SELECT sum(peak_live_usable_bytes) FROM"
                                                  " class_stats WHERE process_id = 1"));
    model_free(&full);
    model_free(&summary);
}
END_TEST

START_TEST(a_database_with_the_schema_but_no_process_is_refused)
{
    char dir[] = "/tmp/check_report_model.XXXXXX", path[128], schema[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/empty.db", dir);
    snprintf(schema, sizeof schema, "%s/schema/schema.sql", getenv("ORTHO_SOURCE_DIR"));
    FILE *f = fopen(schema, "r");
    ck_assert_ptr_nonnull(f);
    static char sql[65536];
    size_t len = fread(sql, 1, sizeof sql - 1, f);
    fclose(f);
    sql[len] = '\0';
    sqlite3 *conn = NULL;
    ck_assert_int_eq(sqlite3_open(path, &conn), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(conn, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(conn);
    struct model m;
    ck_assert_int_eq(model_load_path(&m, path, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no traced process") && strstr(err, path), "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    model_free(&m);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* model_each_stack's stacks, checked against model_stack's. */
static void check_stack(const struct model_stack_site *row, const struct model_stack *s, void *ctx)
{
    const struct model *m = ctx;
    const struct model_stack *again = model_stack(m, row->process_id, row->stack_id);
    ck_assert_int_eq(s == NULL, again == NULL);
    if (s == NULL)
        return;
    ck_assert_uint_eq(s->frame_count, again->frame_count);
    for (size_t f = 0; f < s->frame_count; f++)
        ck_assert_int_eq(s->frames[f].pc, again->frames[f].pc);
    /* Read once, kept: the same pointer the second time. */
    ck_assert_ptr_eq(model_stack(m, row->process_id, row->stack_id), again);
}

START_TEST(model_stack_finds_each_loaded_stack_and_nothing_else)
{
    struct model m;
    load(&m, "facts.db");
    model_each_stack(&m, check_stack, &m);
    ck_assert_ptr_null(model_stack(&m, 1, 0));
    ck_assert_ptr_null(model_stack(&m, 2, 1)); /* the fork image allocated nothing */
    ck_assert_ptr_null(model_stack(&m, 99, 1));
    model_free(&m);
}
END_TEST

/* ---- suppressions ------------------------------------------------------- */

static const char *write_rules(const char *dir, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/rules.txt", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(a_suppression_file_is_read_rule_by_rule_or_refused_whole)
{
    char dir[] = "/tmp/check_report_model.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct suppress_list list = {0};
    const char *path = write_rules(dir, "# runtime\n\n  site:_IO_*  \nleak:libfoo.so # why\n"
                                        "frame:operator new(unsigned long)\n");
    ck_assert_msg(suppress_read(&list, path, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(list.count, 3);
    ck_assert_str_eq(list.rules[0].kind, "site");
    ck_assert_str_eq(list.rules[0].pattern, "_IO_*");
    ck_assert_str_eq(list.rules[1].kind, "frame"); /* leak: is frame: */
    ck_assert_str_eq(list.rules[1].pattern, "libfoo.so");
    ck_assert_str_eq(list.rules[2].pattern, "operator new(unsigned long)");
    char origin[300];
    snprintf(origin, sizeof origin, "%s:4", path);
    ck_assert_str_eq(list.rules[1].origin, origin);
    /* A bad line refuses the whole file, naming the line. */
    path = write_rules(dir, "site:ok\nfunc:main\n");
    ck_assert_int_eq(suppress_read(&list, path, err, sizeof err), -1);
    snprintf(origin, sizeof origin, "%s:2: \"func:main\" is not a suppression", path);
    ck_assert_msg(strstr(err, origin) != NULL, "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_uint_eq(list.count, 3);
    suppress_free(&list);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(the_builtin_rules_set_apart_the_threads_tls_and_nothing_of_the_program)
{
    struct suppress_list list = {0};
    suppress_builtin(&list);
    struct model m;
    ck_assert_msg(model_load_path(&m, fixture("facts.db"), &list, err, sizeof err) == 0, "%s", err);
    suppress_free(&list);
    const char *path = fixture("facts.db");
    ck_assert_int_eq(model_total_leak_blocks(&m) + model_total_suppressed_blocks(&m),
                     sql_int(path, "SELECT count(*) FROM leaks"));
    ck_assert_int_eq(model_total_suppressed_blocks(&m),
                     sql_int(path, "SELECT count(*) FROM leaks WHERE function = 'allocate_dtv'"));
    for (size_t i = 0; i < m.leak_count; i++) {
        const struct model_leak *l = &m.leaks[i];
        bool runtime = l->function != NULL && strcmp(l->function, "allocate_dtv") == 0;
        ck_assert_msg(runtime == (l->suppressed_by != NULL), "%s: %s", l->function,
                      l->suppressed_by ? l->suppressed_by : "a leak");
        if (i > 0) /* the leaks first, then the suppressed */
            ck_assert(l->suppressed_by != NULL || m.leaks[i - 1].suppressed_by == NULL);
    }
    ck_assert_uint_eq(m.leak_site_count, 1);
    ck_assert_uint_eq(m.suppressed_site_count, 1);
    model_free(&m);
}
END_TEST

/* ---- weights and the flame tree ---------------------------------------- */

START_TEST(the_flame_tree_root_holds_every_allocated_byte_and_children_sum_up)
{
    struct model m;
    load(&m, "facts.db");
    struct flame f;
    flame_build(&f, &m, WEIGHT_ALLOC_BYTES);
    ck_assert_int_eq((int64_t)f.nodes[0].value,
                     sql_int(fixture("facts.db"), "SELECT sum(alloc_bytes) FROM sites"));
    for (size_t i = 0; i < f.count; i++) {
        double children = 0;
        const char *last = "";
        for (size_t c = f.nodes[i].first_child; c != FLAME_NONE; c = f.nodes[c].next_sibling) {
            children += f.nodes[c].value;
            ck_assert_msg(strcmp(last, f.nodes[c].name) < 0, "%s after %s", f.nodes[c].name, last);
            last = f.nodes[c].name;
        }
        ck_assert(children + f.nodes[i].self == f.nodes[i].value);
    }
    /* Two processes allocated: each gets its own root frame. */
    size_t roots = 0;
    for (size_t c = f.nodes[0].first_child; c != FLAME_NONE; c = f.nodes[c].next_sibling)
    {
        roots++;
        ck_assert_ptr_nonnull(strstr(f.nodes[c].name, "(process "));
    }
    ck_assert_uint_eq(roots, 2);
    flame_free(&f);
    model_free(&m);
}
END_TEST

START_TEST(the_live_bytes_tree_holds_only_the_leaks)
{
    struct model m;
    load(&m, "facts.db");
    struct flame f;
    flame_build(&f, &m, WEIGHT_LIVE_BYTES);
    ck_assert_int_eq((int64_t)f.nodes[0].value,
                     sql_int(fixture("facts.db"), "SELECT sum(requested_size) FROM leaks"));
    ck_assert_uint_eq(f.stacks, 2); /* leak_here and the thread's TLS block */
    /* One process with live bytes: no per-process root. */
    for (size_t i = 1; i < f.count; i++)
        ck_assert_ptr_null(strstr(f.nodes[i].name, "(process "));
    flame_free(&f);
    model_free(&m);
}
END_TEST

/* A sampled process, as the collector writes one: a stack row carries the
 * sampled allocations and its estimate; stack 0 counts the unsampled ones. */
START_TEST(a_sampled_stack_weighs_its_estimates_and_the_no_stack_row_nothing)
{
    struct model_process p = {.process_id = 1, .sample_bytes = 65536};
    struct model m = {.process_count = 1, .processes = &p};
    struct model_stack_site sampled = {.process_id = 1, .stack_id = 4, .allocs = 10,
                                       .alloc_bytes = 50000, .live_blocks = 2, .live_bytes = 10000,
                                       .est_allocs = 100, .est_bytes = 400000};
    struct model_stack_site unsampled = {.process_id = 1, .stack_id = 0, .allocs = 90,
                                         .alloc_bytes = 450000, .est_allocs = 90,
                                         .est_bytes = 450000};
    ck_assert(weight_of(&m, &sampled, WEIGHT_ALLOCS) == 100);
    ck_assert(weight_of(&m, &sampled, WEIGHT_ALLOC_BYTES) == 400000);
    ck_assert(weight_of(&m, &sampled, WEIGHT_LIVE_BLOCKS) == 2 * 10);      /* x est/allocs */
    ck_assert(weight_of(&m, &sampled, WEIGHT_LIVE_BYTES) == 10000 * 8.0); /* x est/bytes */
    ck_assert(weight_of(&m, &unsampled, WEIGHT_ALLOCS) == 0);
    p.sample_bytes = 0; /* exact: the counts themselves, stack 0 included */
    ck_assert(weight_of(&m, &sampled, WEIGHT_ALLOCS) == 10);
    ck_assert(weight_of(&m, &unsampled, WEIGHT_ALLOC_BYTES) == 450000);
}
END_TEST

START_TEST(a_frame_without_a_symbol_is_named_by_its_address_and_module)
{
    char buf[128];
    struct model_frame named = {.function = "parse_row", .pc = 0x1234};
    struct model_frame bare = {.module = "/usr/lib/libfoo.so.1", .pc = 0xabc0};
    ck_assert_str_eq(weight_frame_name(&named, buf, sizeof buf), "parse_row");
    ck_assert_str_eq(weight_frame_name(&bare, buf, sizeof buf), "0xabc0 (libfoo.so.1)");
    ck_assert_int_eq(weight_parse("live-bytes"), WEIGHT_LIVE_BYTES);
    ck_assert_int_eq(weight_parse("bytes"), -1);
}
END_TEST

static Suite *report_model_suite(void)
{
    Suite *s = suite_create("report_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, a_traced_tree_loads_as_its_processes_in_id_order);
    tcase_add_loop_test(tc, class_totals_over_the_tree_equal_the_class_totals_view, 0, CLASS_TABLES);
    tcase_add_test(tc, a_mixed_tree_keeps_each_processs_table);
    tcase_add_test(tc, sites_are_aggregated_per_function_file_and_line);
    tcase_add_test(tc, sql_ranks_the_sites_as_the_outputs_weigh_them);
    tcase_add_test(tc, a_suppression_file_is_read_rule_by_rule_or_refused_whole);
    tcase_add_test(tc, the_builtin_rules_set_apart_the_threads_tls_and_nothing_of_the_program);
    tcase_add_test(tc, leaks_are_grouped_per_stack_with_frames_innermost_first);
    tcase_add_test(tc, the_double_free_is_loaded_with_where_it_was_caught_and_allocated);
    tcase_add_test(tc, a_file_without_corruption_groups_counts_its_stored_events);
    tcase_add_test(tc, symbol_versions_never_reach_a_frame_name);
    tcase_add_test(tc, a_run_without_stacks_is_flagged_and_says_why_it_has_no_stacks);
    tcase_add_test(tc, full_mode_gives_the_exact_peak_and_summary_mode_bounds_it);
    tcase_add_test(tc, a_database_with_the_schema_but_no_process_is_refused);
    tcase_add_test(tc, model_stack_finds_each_loaded_stack_and_nothing_else);
    suite_add_tcase(s, tc);
    tc = tcase_create("weights");
    tcase_add_test(tc, the_flame_tree_root_holds_every_allocated_byte_and_children_sum_up);
    tcase_add_test(tc, the_live_bytes_tree_holds_only_the_leaks);
    tcase_add_test(tc, a_sampled_stack_weighs_its_estimates_and_the_no_stack_row_nothing);
    tcase_add_test(tc, a_frame_without_a_symbol_is_named_by_its_address_and_module);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(report_model_suite)
