/* viewer_fixture.h - what every viewer suite needs of the trace database
 * fixtures (tests/integration/make_fixtures.sh): a fixture's path, and
 * one integer from it read with the test's own SQLite connection, the
 * oracle the models are compared with. Header-only: each suite is its own
 * program. */
#ifndef ORTHO_VIEWER_FIXTURE_H
#define ORTHO_VIEWER_FIXTURE_H

#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Path of fixture database `name` (a static buffer: one at a time). */
static inline const char *fixture(const char *name)
{
    static char path[1024];
    const char *dir = getenv("ORTHO_FIXTURE_DB_DIR");
    ck_assert_msg(dir != NULL, "ORTHO_FIXTURE_DB_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* The first column of the first row of sql on the database at path; -1
 * when there is no row. */
static inline int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *conn = NULL;
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(conn));
    int64_t v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    sqlite3_close(conn);
    return v;
}

/* Copies fixture `name` to path (VACUUM INTO: one file, no WAL), for a
 * test that changes rows. */
static inline void fixture_copy(const char *name, const char *path)
{
    sqlite3 *conn = NULL;
    char sql[1200];
    ck_assert_int_eq(sqlite3_open(fixture(name), &conn), SQLITE_OK);
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", path);
    ck_assert_msg(sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(conn));
    sqlite3_close(conn);
}

#endif
