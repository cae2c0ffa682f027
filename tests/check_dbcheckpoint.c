/* check_dbcheckpoint.c - the trace database's checkpoint thread
 * (dbcheckpoint.c), on a real SQLite database in WAL mode in a fresh
 * temporary directory: the writer's commits no longer checkpoint, the
 * thread does, the WAL stays bounded however much is written without a pause,
 * every committed row is there after the writer closes, and stopping the
 * thread hands SQLite's own checkpoints back. */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_support.h"
#include "dbcheckpoint.h"

static char dir[256];
static char path[512];
static char wal[520];
static sqlite3 *writer;

static void db_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check-dbcheckpoint-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/run.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    ck_assert_int_eq(sqlite3_open(path, &writer), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(writer,
                                  /* The WAL file shrinks when it starts over, so its
                                   * size tells how much it holds. */
                                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                  "PRAGMA journal_size_limit=0;"
                                  "CREATE TABLE meta(key TEXT, value TEXT);"
                                  "CREATE TABLE rows(id INTEGER PRIMARY KEY, body BLOB);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
}

static void db_teardown(void)
{
    if (writer != NULL)
        sqlite3_close(writer);
    writer = NULL;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Commits `commits` transactions of one 4 KiB row each; returns the
 * largest size the WAL reached, in pages of 4 KiB. */
static long write_rows(int commits)
{
    sqlite3_stmt *ins;
    ck_assert_int_eq(sqlite3_prepare_v2(writer, "INSERT INTO rows(body) VALUES (zeroblob(4000))", -1,
                                        &ins, NULL),
                     SQLITE_OK);
    long largest = 0;
    for (int i = 0; i < commits; i++) {
        ck_assert_int_eq(sqlite3_exec(writer, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        ck_assert_int_eq(sqlite3_exec(writer, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        struct stat st;
        if (stat(wal, &st) == 0 && st.st_size / 4096 > largest)
            largest = st.st_size / 4096;
    }
    sqlite3_finalize(ins);
    return largest;
}

static long count_rows(sqlite3 *conn)
{
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(conn, "SELECT count(*) FROM rows", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    long n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Waits up to ms milliseconds for the thread to have run at least `want`
 * checkpoints. */
static unsigned long wait_for_checkpoints(struct dbcheckpoint *cp, unsigned long want, int ms)
{
    for (int i = 0; i < ms / 10 && dbcheckpoint_count(cp) < want; i++) {
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    return dbcheckpoint_count(cp);
}

START_TEST(the_thread_checkpoints_and_the_wal_stays_bounded_while_the_writer_never_pauses)
{
    struct dbcheckpoint *cp = dbcheckpoint_start(writer, path);
    ck_assert_ptr_nonnull(cp);
    /* Twelve thresholds' worth in one stream of commits: without
     * checkpoints the WAL would hold them all. */
    long largest = write_rows(12 * DBCHECKPOINT_PAGES);
    ck_assert_uint_ge(wait_for_checkpoints(cp, 2, 10000), 2);
    ck_assert_msg(largest <= DBCHECKPOINT_WAL_MAX_PAGES + 2L * DBCHECKPOINT_PAGES,
                  "the WAL grew to %ld pages", largest);
    dbcheckpoint_stop(cp);
    ck_assert_int_eq(count_rows(writer), 12L * DBCHECKPOINT_PAGES);
}
END_TEST

START_TEST(a_writer_that_pauses_has_its_wal_started_over_by_the_threads_checkpoints)
{
    struct dbcheckpoint *cp = dbcheckpoint_start(writer, path);
    ck_assert_ptr_nonnull(cp);
    long largest = 0;
    for (int round = 0; round < 6; round++) {
        long reached = write_rows(DBCHECKPOINT_PAGES);
        if (reached > largest)
            largest = reached;
        /* The pause a collector has between flushes: long enough for the
         * round that catches up with it. */
        wait_for_checkpoints(cp, dbcheckpoint_count(cp) + 2, 500);
    }
    ck_assert_uint_ge(dbcheckpoint_count(cp), 3);
    ck_assert_msg(largest < DBCHECKPOINT_WAL_MAX_PAGES / 2, "the WAL grew to %ld pages", largest);
    dbcheckpoint_stop(cp);
}
END_TEST

START_TEST(the_writers_commits_do_not_checkpoint_while_the_thread_owns_them)
{
    struct dbcheckpoint *cp = dbcheckpoint_start(writer, path);
    ck_assert_ptr_nonnull(cp);
    /* Below one threshold nobody checkpoints: the WAL only grows. */
    long reached = write_rows(DBCHECKPOINT_PAGES / 8);
    ck_assert_int_lt(reached, DBCHECKPOINT_PAGES);
    struct stat st;
    ck_assert_int_eq(stat(wal, &st), 0);
    ck_assert_int_ge(st.st_size / 4096, reached);
    ck_assert_uint_eq(dbcheckpoint_count(cp), 0);
    dbcheckpoint_stop(cp);
}
END_TEST

START_TEST(every_committed_row_is_in_the_database_after_the_writer_closes)
{
    struct dbcheckpoint *cp = dbcheckpoint_start(writer, path);
    ck_assert_ptr_nonnull(cp);
    write_rows(3 * DBCHECKPOINT_PAGES + 17);
    dbcheckpoint_stop(cp);
    sqlite3_close(writer);
    writer = NULL;
    ck_assert_int_ne(access(wal, F_OK), 0); /* the last close checkpointed and removed it */
    sqlite3 *reader;
    ck_assert_int_eq(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(count_rows(reader), 3L * DBCHECKPOINT_PAGES + 17);
    sqlite3_close(reader);
}
END_TEST

START_TEST(once_stopped_the_writer_checkpoints_by_itself_again)
{
    struct dbcheckpoint *cp = dbcheckpoint_start(writer, path);
    ck_assert_ptr_nonnull(cp);
    dbcheckpoint_stop(cp);
    long largest = write_rows(6 * DBCHECKPOINT_PAGES);
    ck_assert_msg(largest < 3L * DBCHECKPOINT_PAGES, "the WAL grew to %ld pages", largest);
}
END_TEST

START_TEST(a_database_that_cannot_be_opened_again_leaves_the_writer_as_it_was)
{
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.db", dir);
    ck_assert_ptr_null(dbcheckpoint_start(writer, missing)); /* no file: nothing is created */
    ck_assert_int_ne(access(missing, F_OK), 0);
    long largest = write_rows(4 * DBCHECKPOINT_PAGES);
    ck_assert_msg(largest < 3L * DBCHECKPOINT_PAGES, "the WAL grew to %ld pages", largest);
}
END_TEST

Suite *dbcheckpoint_suite(void)
{
    Suite *s = suite_create("dbcheckpoint");
    TCase *tc = tcase_create("checkpoints");
    tcase_add_checked_fixture(tc, db_setup, db_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_thread_checkpoints_and_the_wal_stays_bounded_while_the_writer_never_pauses);
    tcase_add_test(tc, a_writer_that_pauses_has_its_wal_started_over_by_the_threads_checkpoints);
    tcase_add_test(tc, the_writers_commits_do_not_checkpoint_while_the_thread_owns_them);
    tcase_add_test(tc, every_committed_row_is_in_the_database_after_the_writer_closes);
    tcase_add_test(tc, once_stopped_the_writer_checkpoints_by_itself_again);
    tcase_add_test(tc, a_database_that_cannot_be_opened_again_leaves_the_writer_as_it_was);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(dbcheckpoint_suite)
