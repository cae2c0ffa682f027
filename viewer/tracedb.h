/* tracedb.h - opening a trace database for reading, shared by ortho-top and
 * ortho-report. Owns the checks every reader must make before trusting a
 * file (that it exists, is SQLite, carries orthotope's application_id, and a
 * schema version this build understands) and turns each failure into one
 * line that says what is wrong and what to do. The connection is read-only
 * with a busy timeout, so reading a database the collector is still writing
 * (WAL mode) neither blocks the collector nor fails on its checkpoints. */
#ifndef ORTHO_VIEWER_TRACEDB_H
#define ORTHO_VIEWER_TRACEDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct tracedb {
    sqlite3 *conn;
    const char *path;   /* as given; not owned */
    int schema_version; /* PRAGMA user_version of the file */
};

/* Opens path read-only and validates it. 0 on success; -1 with a one-line
 * reason in err (no trailing newline, no program name) and db->conn NULL. */
int tracedb_open(struct tracedb *db, const char *path, char *err, size_t err_cap);
void tracedb_close(struct tracedb *db);

/* Prepares sql; NULL with "query failed: <sqlite message>" in err. */
sqlite3_stmt *tracedb_prepare(struct tracedb *db, const char *sql, char *err, size_t err_cap);

/* Runs a query whose first row's first column is an integer; fallback when
 * it returns no row, a NULL, or fails. */
int64_t tracedb_int(struct tracedb *db, const char *sql, int64_t fallback);

/* Number of traced process images (0: an empty run, nothing to show). */
int64_t tracedb_process_count(struct tracedb *db);

/* Whether some traced process has not ended yet (the run is live). */
bool tracedb_is_live(struct tracedb *db);

#endif
