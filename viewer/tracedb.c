/* tracedb.c - see tracedb.h. The checks run in order of how much of the
 * file they trust: the filesystem first, then the 16-byte SQLite header
 * (read with stdio, so a non-database never reaches SQLite), then the two
 * PRAGMAs orthotope's schema sets. */
#include "tracedb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"

/* The views both viewers read (schema.sql): a database without one was
 * written by an orthotope older than these readers. */
static const char *const tracedb_views[] = {
    "class_totals", "fragmentation", "class_timeline", "stack_sites", "stack_frames",
    "leaks",        "corruption",    "top_sites",
};

static int tracedb_fail(struct tracedb *db, char *err, size_t err_cap, const char *fmt,
                        const char *what)
{
    snprintf(err, err_cap, fmt, db->path, what);
    tracedb_close(db);
    return -1;
}

int tracedb_open(struct tracedb *db, const char *path, char *err, size_t err_cap)
{
    *db = (struct tracedb){.path = path};
    struct stat st;
    if (stat(path, &st) != 0)
        return tracedb_fail(db, err, err_cap,
                            "%s: %s; give the path of a trace database (ORTHO_TRACE_DB, ortho-run -o)",
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tracedb_fail(db, err, err_cap, "%s: %s; give the path of a trace database file",
                            "is not a regular file");
    if (st.st_size == 0)
        return tracedb_fail(db, err, err_cap,
                            "%s: %s; the traced program may not have started tracing yet "
                            "(is ORTHO_TRACE set?)",
                            "is empty");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tracedb_fail(db, err, err_cap, "%s: cannot read it (%s)", strerror(errno));
    char head[16];
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got < sizeof head || memcmp(head, "SQLite format 3", sizeof head) != 0)
        return tracedb_fail(db, err, err_cap,
                            "%s: %s; give the path of a trace database (ORTHO_TRACE_DB, ortho-run -o)",
                            "is not a trace database (not even SQLite)");
    int rc = sqlite3_open_v2(path, &db->conn, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK)
        return tracedb_fail(db, err, err_cap, "%s: cannot open it (%s)",
                            db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(db->conn, 5000);
    int64_t app = tracedb_int(db, "PRAGMA application_id", -1);
    if (app == -1)
        return tracedb_fail(db, err, err_cap, "%s: cannot read it (%s)", sqlite3_errmsg(db->conn));
    if (app != ORTHO_DB_APPLICATION_ID)
        return tracedb_fail(db, err, err_cap,
                            "%s: %s; give the path of a trace database (ORTHO_TRACE_DB, ortho-run -o)",
                            "is a SQLite database but not an orthotope trace");
    db->schema_version = (int)tracedb_int(db, "PRAGMA user_version", 0);
    if (db->schema_version > ORTHO_DB_SCHEMA_VERSION) {
        char why[160];
        snprintf(why, sizeof why,
                 "was written by a newer orthotope (schema version %d; this build reads up to %d)",
                 db->schema_version, ORTHO_DB_SCHEMA_VERSION);
        return tracedb_fail(db, err, err_cap, "%s: %s; read it with the tools of that version", why);
    }
    if (db->schema_version < 1)
        return tracedb_fail(db, err, err_cap, "%s: %s; trace the program again",
                            "has an orthotope id but no schema version (an unfinished or damaged file)");
    if (db->schema_version < ORTHO_DB_SCHEMA_VERSION) {
        char why[160];
        snprintf(why, sizeof why,
                 "was written by an older orthotope (schema version %d; this build reads %d, "
                 "where each process has its own size classes)",
                 db->schema_version, ORTHO_DB_SCHEMA_VERSION);
        return tracedb_fail(db, err, err_cap, "%s: %s; read it with orthotope 0.1's tools or trace "
                            "the program again", why);
    }
    for (size_t i = 0; i < sizeof tracedb_views / sizeof tracedb_views[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = '%s'",
                 tracedb_views[i]);
        if (tracedb_int(db, sql, 0) == 0) {
            char why[160];
            snprintf(why, sizeof why,
                     "was written by an older orthotope (it has no view %s)", tracedb_views[i]);
            return tracedb_fail(db, err, err_cap,
                                "%s: %s; read it with the tools of that version, or trace the "
                                "program again",
                                why);
        }
    }
    return 0;
}

void tracedb_close(struct tracedb *db)
{
    if (db->conn != NULL)
        sqlite3_close(db->conn);
    db->conn = NULL;
}

sqlite3_stmt *tracedb_prepare(struct tracedb *db, const char *sql, char *err, size_t err_cap)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "query failed: %s", sqlite3_errmsg(db->conn));
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

int64_t tracedb_int(struct tracedb *db, const char *sql, int64_t fallback)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = fallback;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

int64_t tracedb_process_count(struct tracedb *db)
{
    return tracedb_int(db, "SELECT count(*) FROM processes", 0);
}

bool tracedb_is_live(struct tracedb *db)
{
    return tracedb_int(db, "SELECT count(*) FROM processes WHERE end_ns IS NULL", 0) > 0;
}
