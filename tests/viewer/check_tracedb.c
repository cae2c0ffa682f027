/* check_tracedb.c - unit tests of viewer/tracedb.c: a real trace database
 * (the fixture facts.db) opens; each kind of wrong file is refused with the
 * one line that names the problem; and schema.h agrees with schema.sql. The
 * wrong files are made here, in a temporary directory, with SQLite itself. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "schema.h"
#include "tracedb.h"
#include "viewer_fixture.h"

static char scratch[256];
static char err[512];

static void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/check_tracedb.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static void remove_scratch(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *scratch_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, name);
    return path;
}

/* A SQLite file at name with the given PRAGMAs and one table. */
static const char *make_sqlite(const char *name, const char *pragmas)
{
    const char *path = scratch_file(name);
    sqlite3 *conn = NULL;
    ck_assert_int_eq(sqlite3_open(path, &conn), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(conn, pragmas, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(conn, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(conn);
    return path;
}

static void assert_refused(const char *path, const char *needle)
{
    struct tracedb db;
    err[0] = '\0';
    ck_assert_int_eq(tracedb_open(&db, path, err, sizeof err), -1);
    ck_assert_ptr_null(db.conn);
    ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" does not say \"%s\"", err, needle);
    ck_assert_msg(strstr(err, path) != NULL, "error \"%s\" does not name the file", err);
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(a_finished_trace_opens_and_shows_its_three_processes)
{
    struct tracedb db;
    const char *path = fixture("facts.db");
    ck_assert_msg(tracedb_open(&db, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(db.schema_version, ORTHO_DB_SCHEMA_VERSION);
    ck_assert_int_eq(tracedb_process_count(&db), 3);
    ck_assert(!tracedb_is_live(&db));
    tracedb_close(&db);
}
END_TEST

START_TEST(a_missing_file_is_refused_naming_the_cause)
{
    assert_refused(scratch_file("nothing-here.db"), "No such file");
}
END_TEST

START_TEST(a_directory_is_refused)
{
    assert_refused(scratch, "not a regular file");
}
END_TEST

START_TEST(an_empty_file_is_refused_as_not_started)
{
    const char *path = scratch_file("empty.db");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    assert_refused(path, "is empty");
}
END_TEST

START_TEST(a_text_file_is_refused_as_not_sqlite)
{
    const char *path = scratch_file("notes.db");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is a text file that is long enough to have a header\n", f);
    fclose(f);
    assert_refused(path, "not even SQLite");
}
END_TEST

START_TEST(another_applications_sqlite_file_is_refused)
{
    assert_refused(make_sqlite("foreign.db", "PRAGMA application_id = 42;"),
                   "not an orthotope trace");
}
END_TEST

START_TEST(a_newer_schema_version_is_refused_with_both_versions)
{
    char pragmas[128], expect[64];
    snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             ORTHO_DB_APPLICATION_ID, ORTHO_DB_SCHEMA_VERSION + 1);
    snprintf(expect, sizeof expect, "newer orthotope (schema version %d; this build reads up to %d)",
             ORTHO_DB_SCHEMA_VERSION + 1, ORTHO_DB_SCHEMA_VERSION);
    assert_refused(make_sqlite("newer.db", pragmas), expect);
}
END_TEST

START_TEST(a_trace_without_the_views_the_viewers_read_is_refused_as_older)
{
    /* A real trace, less the view a newer orthotope added. */
    const char *path = scratch_file("older.db");
    fixture_copy("facts.db", path);
    sqlite3 *conn = NULL;
    ck_assert_int_eq(sqlite3_open(path, &conn), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(conn, "DROP VIEW class_timeline", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(conn);
    assert_refused(path, "older orthotope (it has no view class_timeline)");
}
END_TEST

START_TEST(an_orthotope_file_without_a_version_is_refused_as_unfinished)
{
    char pragmas[128];
    snprintf(pragmas, sizeof pragmas, "PRAGMA application_id = %d;", ORTHO_DB_APPLICATION_ID);
    assert_refused(make_sqlite("unversioned.db", pragmas), "unfinished or damaged");
}
END_TEST

/* The header and the schema file are two statements of the same numbers. */
START_TEST(schema_h_and_schema_sql_state_the_same_id_and_version)
{
    const char *source = getenv("ORTHO_SOURCE_DIR");
    ck_assert_ptr_nonnull(source);
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/schema/schema.sql", source);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long app = -1, version = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        sscanf(line, "PRAGMA application_id = %ld", &app);
        sscanf(line, "PRAGMA user_version = %ld", &version);
    }
    fclose(f);
    ck_assert_int_eq(app, ORTHO_DB_APPLICATION_ID);
    ck_assert_int_eq(version, ORTHO_DB_SCHEMA_VERSION);
}
END_TEST

START_TEST(tracedb_int_falls_back_on_a_failing_query)
{
    struct tracedb db;
    ck_assert_msg(tracedb_open(&db, fixture("facts.db"), err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(tracedb_int(&db, "SELECT nothing FROM no_such_table", -7), -7);
    ck_assert_ptr_null(tracedb_prepare(&db, "SELEC 1", err, sizeof err));
    ck_assert_msg(strstr(err, "query failed") != NULL, "%s", err);
    tracedb_close(&db);
}
END_TEST

static Suite *tracedb_suite(void)
{
    Suite *s = suite_create("tracedb");
    TCase *tc = tcase_create("open");
    tcase_add_checked_fixture(tc, make_scratch, remove_scratch);
    tcase_add_test(tc, a_finished_trace_opens_and_shows_its_three_processes);
    tcase_add_test(tc, a_missing_file_is_refused_naming_the_cause);
    tcase_add_test(tc, a_directory_is_refused);
    tcase_add_test(tc, an_empty_file_is_refused_as_not_started);
    tcase_add_test(tc, a_text_file_is_refused_as_not_sqlite);
    tcase_add_test(tc, another_applications_sqlite_file_is_refused);
    tcase_add_test(tc, a_newer_schema_version_is_refused_with_both_versions);
    tcase_add_test(tc, a_trace_without_the_views_the_viewers_read_is_refused_as_older);
    tcase_add_test(tc, an_orthotope_file_without_a_version_is_refused_as_unfinished);
    tcase_add_test(tc, schema_h_and_schema_sql_state_the_same_id_and_version);
    tcase_add_test(tc, tracedb_int_falls_back_on_a_failing_query);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(tracedb_suite)
