/* db.c - see db.h. Every statement is prepared once; a write pass runs
 * inside the caller's transaction, so a 250 ms flush of thousands of rows
 * is one fsync-free WAL commit (synchronous=NORMAL: a power cut may lose
 * the last commits, never the database). */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "clock.h"
#include "dbfile.h"
#include "health.h"
#include "orthotope.h"
#include "schema.h"
#include "segment.h"
#include "site.h"
#include "symworker.h"

#define DB_STR(x) DB_STR2(x)
#define DB_STR2(x) #x

extern const char ortho_schema_sql[];

enum {
    STMT_PROCESS_INSERT, STMT_PROCESS_UPDATE, STMT_PROCESS_END, STMT_CLASS, STMT_SERIES,
    STMT_SITE, STMT_STACK, STMT_THREAD, STMT_SIZE, STMT_LIFETIME, STMT_PAIR,
    STMT_MODULE, STMT_CORRUPTION, STMT_ALLOCATION, STMT_LIVE_CLEAR, STMT_LIVE, STMT_META,
    STMT_CLASS_DEF, STMT_HEALTH, STMT_CORRUPTION_GROUP, STMT_CALL, STMT_COUNT
};

static const char *const db_statements[STMT_COUNT] = {
    [STMT_PROCESS_INSERT] =
        "INSERT INTO processes(pid, ppid, parent_process_id, via, exe, cmdline, start_ns, "
        "start_unix_ns, mode, stack_depth, sample_bytes, overflow, class_table) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_PROCESS_UPDATE] =
        "UPDATE processes SET records=?, dropped_records=?, stacks=?, stacks_truncated=?, "
        "untracked_frees=?, max_lag_ns=?, last_ts_ns=?, trace_slots=?, late_batches=?, "
        "ring_waits=?, ring_wait_ns=?, max_visit_gap_ns=?, corruption_events=?, "
        "corruption_aggregated=?, stack_unwinds=? WHERE process_id=?",
    [STMT_PROCESS_END] =
        "UPDATE processes SET end_ns=?, end_reason=?, lost_no_slot=? WHERE process_id=?",
    [STMT_CLASS] =
        "INSERT OR REPLACE INTO class_stats VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_SERIES] = "INSERT OR REPLACE INTO class_series VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_SITE] = "INSERT OR REPLACE INTO sites VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_STACK] = "INSERT OR REPLACE INTO stacks VALUES (?,?,?,?,?,?,?)",
    [STMT_THREAD] = "INSERT OR REPLACE INTO threads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_SIZE] = "INSERT OR REPLACE INTO size_histogram VALUES (?,?,?,?)",
    [STMT_LIFETIME] = "INSERT OR REPLACE INTO lifetimes VALUES (?,?,?,?,?)",
    [STMT_PAIR] = "INSERT OR REPLACE INTO thread_pairs VALUES (?,?,?,?,?)",
    [STMT_MODULE] = "INSERT OR IGNORE INTO modules VALUES (?,?,?)",
    [STMT_CORRUPTION] =
        "INSERT INTO corruption_events(process_id, thread_id, ts_ns, kind, call, address, class_id, "
        "stack_id, alloc_thread_id, alloc_stack_id, header) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_ALLOCATION] = "INSERT INTO allocations VALUES (?,?,?,?,?,?,?,?,?,?)",
    [STMT_LIVE_CLEAR] = "DELETE FROM live_allocations WHERE process_id=?",
    [STMT_LIVE] = "INSERT OR REPLACE INTO live_allocations VALUES (?,?,?,?,?,?,?,?)",
    [STMT_META] = "INSERT OR REPLACE INTO meta VALUES (?,?)",
    [STMT_CLASS_DEF] = "INSERT INTO classes VALUES (?,?,?,?,?)",
    [STMT_HEALTH] = "INSERT OR REPLACE INTO health_events VALUES (?,?,?,?,?,?,?,?,?)",
    [STMT_CORRUPTION_GROUP] =
        "INSERT OR REPLACE INTO corruption_groups VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    [STMT_CALL] = "INSERT OR REPLACE INTO alloc_calls VALUES (?,?,?,?,?)",
};

/* Frame rows go in by statements of 2^k rows (k < DB_FRAME_RUNS): the
 * longest that fits what is left of a stack, so up to 63 frames take as
 * many statements as their count has bits set. A row a statement cost
 * 1.5 us, 26 rows one 0.9 us a row (python3: 179,000 rows, a sixth of its
 * collector's time). */
#define DB_FRAME_RUNS 6u /* statements of 1, 2, 4, 8, 16 and 32 rows */
#define DB_FRAME_COLUMNS 8u

struct db {
    sqlite3 *conn;
    sqlite3_stmt *stmt[STMT_COUNT];
    sqlite3_stmt *frame_run[DB_FRAME_RUNS]; /* [k]: 2^k frame rows */
    char *path;
    struct dbfile file; /* the files as created, and the lock */
    bool in_txn;        /* a BEGIN is open */
    bool failed;
};

bool db_ok(const struct db *db)
{
    return db != NULL && !db->failed;
}

/* First failure: one line, then no more writes. */
static void db_fail(struct db *db, const char *what)
{
    if (db->failed)
        return;
    db->failed = true;
    fprintf(stderr,
            "ortho-collector: cannot write the trace database %s (%s: %s); tracing continues "
            "unrecorded, and what was written before stays readable; free space or pick another "
            "ORTHO_TRACE_DB\n",
            db->path, what, sqlite3_errmsg(db->conn));
}

static bool db_exec(struct db *db, const char *sql)
{
    if (db->failed)
        return false;
    if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(db, sql);
        return false;
    }
    return true;
}

/* Whether the file of ours at path (dbfile_inspect said it has content)
 * is a trace database (any version): 1, or -1 with what it is in why.
 * Asked of SQLite itself, not of the file's first page: a database whose
 * writer crashed may have its newest pages only in the WAL. */
static int db_probe(const char *path, const char **why)
{
    char head[16];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    ssize_t got = fd >= 0 ? read(fd, head, sizeof head) : -1;
    if (fd >= 0)
        close(fd);
    if (got < (ssize_t)sizeof head || memcmp(head, "SQLite format 3", 16) != 0) {
        *why = "is not a SQLite database";
        return -1;
    }
    sqlite3 *conn = NULL;
    sqlite3_stmt *stmt = NULL;
    int app = -1;
    if (sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(conn, "PRAGMA application_id", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        app = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(conn);
    if (app != ORTHO_DB_APPLICATION_ID) {
        *why = app < 0 ? "cannot be read as a SQLite database" : "is a SQLite database of another application";
        return -1;
    }
    return 1;
}

struct db *db_open(const char *path, char *err, size_t err_cap)
{
    /* No global mutex per SQLite allocation for memory statistics nobody
     * reads: it and the connection's own (SQLITE_OPEN_NOMUTEX below) were
     * about 4% of the collector's CPU in an exec loop. Set before SQLite
     * starts (db_probe may start it); a second call fails harmlessly. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* The files are made by dbfile.c (private, never through a link, locked
     * against a second collector) before SQLite is given the path. */
    int existing = dbfile_inspect(path, err, err_cap);
    if (existing < 0)
        return NULL;
    if (existing > 0) {
        const char *why = NULL;
        if (db_probe(path, &why) < 0) {
            snprintf(err, err_cap,
                     "%s already exists and %s; refusing to overwrite it: remove it or set "
                     "ORTHO_TRACE_DB (ortho-run -o) to another path",
                     path, why);
            return NULL;
        }
        /* A previous trace: keep it one level back, as perf does. */
        if (!dbfile_retire(path, err, err_cap))
            return NULL;
    }
    struct db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    db->file.fd = -1;
    if (!dbfile_create(&db->file, path, err, err_cap)) {
        free(db);
        return NULL;
    }
    db->path = strdup(path);
    /* No SQLITE_OPEN_CREATE: SQLite opens the file just made, or nothing. */
    /* Only the collector's main thread uses the connection: no mutex per
     * call. */
    int rc = sqlite3_open_v2(path, &db->conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, err_cap, "cannot create the trace database %s (%s); set ORTHO_TRACE_DB to a writable path",
                 path, db->conn ? sqlite3_errmsg(db->conn) : sqlite3_errstr(rc));
        db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->conn, 5000);
    /* Into WAL through an in-memory journal: the switch writes the first
     * page, and a rollback journal would be a file SQLite creates itself. */
    /* The schema in one transaction: a hundred statements each committing
     * on its own took 10-20 ms, which the traced program waits for at
     * start-up (its launch waits until the collector is ready). And with
     * synchronous=OFF until it is written: the switch to WAL and the
     * schema's commit each synced a file (3 fdatasyncs, 3 ms of every
     * traced start), for a database that holds nothing yet; the trace's
     * own commits run with NORMAL. */
    if (sqlite3_exec(db->conn,
                     "PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY; PRAGMA journal_mode=WAL;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->conn, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->conn, ortho_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->conn, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot create the trace database %s (%s); set ORTHO_TRACE_DB to a writable path",
                 path, sqlite3_errmsg(db->conn));
        db_close(db);
        return NULL;
    }
    if (!dbfile_verify(&db->file, path, err, err_cap)) {
        db_close(db);
        return NULL;
    }
    for (int i = 0; i < STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(db->conn, db_statements[i], -1, SQLITE_PREPARE_PERSISTENT, &db->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, err_cap, "internal error preparing statement %d: %s", i,
                     sqlite3_errmsg(db->conn));
            db_close(db);
            return NULL;
        }
    }
    for (unsigned k = 0; k < DB_FRAME_RUNS; k++) {
        char sql[64 + (18u << (DB_FRAME_RUNS - 1))];
        size_t len = (size_t)snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO frames VALUES ");
        for (unsigned row = 0; row < 1u << k; row++)
            len += (size_t)snprintf(sql + len, sizeof sql - len, "%s(?,?,?,?,?,?,?,?)", row ? "," : "");
        if (sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->frame_run[k],
                               NULL) != SQLITE_OK) {
            snprintf(err, err_cap, "internal error preparing the frame statement of %u rows: %s",
                     1u << k, sqlite3_errmsg(db->conn));
            db_close(db);
            return NULL;
        }
    }
    db_begin(db);
    db_set_meta(db, "schema_version", DB_STR(ORTHO_DB_SCHEMA_VERSION));
    db_set_meta(db, "writer", "ortho-collector " ORTHO_VERSION_STRING);
    db_commit(db);
    if (db->failed) {
        snprintf(err, err_cap, "cannot write the trace database %s; set ORTHO_TRACE_DB to a writable path", path);
        db_close(db);
        return NULL;
    }
    return db;
}

void db_close(struct db *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(db->stmt[i]);
    for (unsigned k = 0; k < DB_FRAME_RUNS; k++)
        sqlite3_finalize(db->frame_run[k]);
    if (db->conn != NULL)
        sqlite3_close(db->conn);
    dbfile_close(&db->file); /* after SQLite: closing it drops this process's locks on the file */
    free(db->path);
    free(db);
}

void db_begin(struct db *db)
{
    if (db->in_txn)
        return;
    db->in_txn = db_exec(db, "BEGIN");
}

void db_commit(struct db *db)
{
    if (!db->in_txn)
        return;
    db->in_txn = false;
    if (!db->failed)
        db_exec(db, "COMMIT");
}

/* Runs a bound statement and resets it; on error marks the db failed. */
static void db_step(struct db *db, sqlite3_stmt *s)
{
    if (!db->failed) {
        int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            db_fail(db, sqlite3_sql(s));
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Binds v[0..n) to parameters first, first + 1, ... of s. */
static void db_bind_int64s(sqlite3_stmt *s, int first, const sqlite3_int64 *v, int n)
{
    for (int j = 0; j < n; j++)
        sqlite3_bind_int64(s, first + j, v[j]);
}

/* Static: db_step clears the bindings, so text is only read by the step
 * that follows; no copy of each name (three a frame row) is made. */
static void db_bind_text_or_null(sqlite3_stmt *s, int i, const char *text)
{
    if (text != NULL)
        sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void db_set_meta(struct db *db, const char *key, const char *value)
{
    sqlite3_stmt *s = db->stmt[STMT_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    db_step(db, s);
}

int64_t db_add_process(struct db *db, const struct db_process_info *info)
{
    sqlite3_stmt *s = db->stmt[STMT_PROCESS_INSERT];
    sqlite3_bind_int64(s, 1, info->pid);
    sqlite3_bind_int64(s, 2, info->ppid);
    if (info->parent_process_id != 0)
        sqlite3_bind_int64(s, 3, info->parent_process_id);
    else
        sqlite3_bind_null(s, 3);
    db_bind_text_or_null(s, 4, info->via);
    db_bind_text_or_null(s, 5, info->exe);
    db_bind_text_or_null(s, 6, info->cmdline);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)info->start_ns);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)info->start_unix_ns);
    db_bind_text_or_null(s, 9, info->mode);
    sqlite3_bind_int64(s, 10, info->stack_depth);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)info->sample_bytes);
    db_bind_text_or_null(s, 12, info->overflow);
    const struct proc_state *p = info->state;
    db_bind_text_or_null(s, 13, p->class_table.origin);
    db_step(db, s);
    if (db->failed)
        return 0;
    int64_t process_id = sqlite3_last_insert_rowid(db->conn);
    /* The process's classes, then LARGE after the last one. */
    sqlite3_stmt *c = db->stmt[STMT_CLASS_DEF];
    for (unsigned id = 0; id <= state_large(p); id++) {
        char name[CLASS_TABLE_NAME_BYTES];
        sqlite3_bind_int64(c, 1, process_id);
        sqlite3_bind_int64(c, 2, id);
        sqlite3_bind_text(c, 3, state_class_name(p, id, name), -1, SQLITE_TRANSIENT);
        if (id < state_large(p)) {
            sqlite3_int64 payload = (sqlite3_int64)state_class_payload(p, id);
            sqlite3_bind_int64(c, 4, payload);
            sqlite3_bind_int64(c, 5, payload + ORTHO_HEADER_SIZE);
        } else {
            sqlite3_bind_null(c, 4);
            sqlite3_bind_null(c, 5);
        }
        db_step(db, c);
    }
    return db->failed ? 0 : process_id;
}

/* Writes (or rewrites, once more modules are known) stack `id` and its
 * frames, named by the naming thread (frames: one per level). */
static void db_write_stack(struct db *db, int64_t pid, uint32_t id, struct stack_state *st,
                           const sym_frame_t *frames)
{
    bool all_resolved = true;
    for (uint32_t level = 0; level < st->depth;) {
        /* The longest run that fits what is left. */
        unsigned k = DB_FRAME_RUNS - 1;
        while ((1u << k) > st->depth - level)
            k--;
        sqlite3_stmt *f = db->frame_run[k];
        for (unsigned row = 0; row < 1u << k; row++, level++) {
            const sym_frame_t *frame = &frames[level];
            if (frame->module == NULL)
                all_resolved = false; /* outside every module known so far */
            int at = (int)(row * DB_FRAME_COLUMNS);
            sqlite3_bind_int64(f, at + 1, pid);
            sqlite3_bind_int64(f, at + 2, id);
            sqlite3_bind_int64(f, at + 3, level);
            sqlite3_bind_int64(f, at + 4, (sqlite3_int64)st->pcs[level]);
            db_bind_text_or_null(f, at + 5, frame->function);
            db_bind_text_or_null(f, at + 6, frame->module);
            db_bind_text_or_null(f, at + 7, frame->file);
            if (frame->line != 0)
                sqlite3_bind_int64(f, at + 8, frame->line);
            else
                sqlite3_bind_null(f, at + 8);
        }
        db_step(db, f);
    }
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(st->pcs, frames, st->depth, label);
    sqlite3_stmt *s = db->stmt[STMT_STACK];
    sqlite3_bind_int64(s, 1, pid);
    sqlite3_bind_int64(s, 2, id);
    sqlite3_bind_int64(s, 3, st->depth);
    sqlite3_bind_int64(s, 4, st->truncated);
    db_bind_text_or_null(s, 5, site.function);
    db_bind_text_or_null(s, 6, site.file);
    if (site.line != 0)
        sqlite3_bind_int64(s, 7, site.line);
    else
        sqlite3_bind_null(s, 7);
    db_step(db, s);
    st->written = true;
    st->symbolized = all_resolved;
}

bool db_write_stacks(struct db *db, int64_t process_id, struct proc_state *p,
                     struct sym_batch *names, uint64_t deadline_ns)
{
    for (size_t i = names->stacks_written; i < names->stack_count && !db->failed; i++) {
        /* The clock is read every few stacks: a stack is tens of rows. */
        if (deadline_ns != 0 && (i - names->stacks_written) % 8 == 7 &&
            prim_now_ns() >= deadline_ns) {
            names->stacks_written = i;
            return false;
        }
        uint32_t id = names->stack_ids[i];
        struct stack_state *st = id < p->stacks_cap ? &p->stacks[id] : NULL;
        if (st == NULL || st->pcs == NULL || st->depth != names->stack_depths[i])
            continue; /* cannot happen: stacks are never dropped or changed */
        db_write_stack(db, process_id, id, st, &names->frames[names->stack_first[i]]);
    }
    names->stacks_written = names->stack_count;
    return true;
}

struct db_each {
    struct db *db;
    int64_t pid;
    struct proc_state *p;
};

static void db_write_size(uint64_t size, uint64_t count, void *arg)
{
    struct db_each *e = arg;
    sqlite3_stmt *s = e->db->stmt[STMT_SIZE];
    unsigned cls = state_class_of(e->p, size);
    sqlite3_bind_int64(s, 1, e->pid);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
    sqlite3_bind_int64(s, 3, cls);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)count);
    db_step(e->db, s);
}

static void db_write_pair(uint64_t key, uint64_t value, void *arg)
{
    struct db_each *e = arg;
    uint64_t k = key - 1;
    sqlite3_stmt *s = e->db->stmt[STMT_PAIR];
    sqlite3_bind_int64(s, 1, e->pid);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)(k >> 32));
    sqlite3_bind_int64(s, 3, (sqlite3_int64)(k & 0xffffffffu));
    sqlite3_bind_int64(s, 4, (sqlite3_int64)e->p->pair_totals[value - 1].frees);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)e->p->pair_totals[value - 1].bytes);
    db_step(e->db, s);
}

static void db_write_classes(struct db *db, int64_t pid, struct proc_state *p, uint64_t ts_ns)
{
    for (unsigned c = 0; c <= state_large(p); c++) {
        struct class_state *k = &p->classes[c];
        if (k->dirty) {
            sqlite3_stmt *s = db->stmt[STMT_CLASS];
            sqlite3_int64 v[] = {pid, c, (sqlite3_int64)k->allocs, (sqlite3_int64)k->frees,
                                 (sqlite3_int64)k->requested, (sqlite3_int64)k->usable,
                                 (sqlite3_int64)k->freed_requested, (sqlite3_int64)k->freed_usable,
                                 k->live_blocks, k->live_requested, k->live_usable,
                                 k->peak_live_usable, k->cached, k->pooled,
                                 (sqlite3_int64)k->refills, (sqlite3_int64)k->refill_blocks,
                                 (sqlite3_int64)k->drains, (sqlite3_int64)k->drain_blocks,
                                 (sqlite3_int64)k->carves, (sqlite3_int64)k->carved_blocks,
                                 (sqlite3_int64)k->os_released, (sqlite3_int64)k->large_maps,
                                 (sqlite3_int64)k->large_mapped, (sqlite3_int64)k->large_unmaps,
                                 (sqlite3_int64)k->large_unmapped,
                                 (sqlite3_int64)k->reallocs_in_place,
                                 (sqlite3_int64)k->cross_thread_frees};
            for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
                sqlite3_bind_int64(s, i + 1, v[i]);
            db_step(db, s);
            k->dirty = false;
        }
        if (k->series_dirty && ts_ns != 0) {
            sqlite3_stmt *s = db->stmt[STMT_SERIES];
            sqlite3_int64 v[] = {pid, c, (sqlite3_int64)ts_ns, (sqlite3_int64)k->allocs,
                                 (sqlite3_int64)k->frees, k->live_blocks, k->live_requested,
                                 k->live_usable, k->cached, k->pooled, (sqlite3_int64)k->refills,
                                 (sqlite3_int64)k->drains, (sqlite3_int64)k->carved_blocks};
            for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
                sqlite3_bind_int64(s, i + 1, v[i]);
            db_step(db, s);
            k->series_dirty = false;
        }
        /* Only the calls that changed: most classes see one or two. */
        for (unsigned call = 0; k->calls_dirty != 0 && call < STATE_CALLS; call++) {
            if (!(k->calls_dirty & (1u << call)))
                continue;
            sqlite3_stmt *s = db->stmt[STMT_CALL];
            sqlite3_bind_int64(s, 1, pid);
            sqlite3_bind_int64(s, 2, c);
            sqlite3_bind_text(s, 3, state_call_name(call), -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, (sqlite3_int64)k->calls[call]);
            sqlite3_bind_int64(s, 5, (sqlite3_int64)k->call_bytes[call]);
            db_step(db, s);
            k->calls_dirty &= (uint16_t)~(1u << call);
        }
    }
}

static void db_write_threads(struct db *db, int64_t pid, struct proc_state *p)
{
    for (size_t i = 0; i < p->thread_count; i++) {
        struct thread_state *t = &p->threads[i];
        if (!t->dirty)
            continue;
        sqlite3_stmt *s = db->stmt[STMT_THREAD];
        sqlite3_bind_int64(s, 1, pid);
        sqlite3_bind_int64(s, 2, t->tid);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)t->start_ns);
        db_bind_text_or_null(s, 4, t->name[0] ? t->name : NULL);
        if (t->end_ns != 0)
            sqlite3_bind_int64(s, 5, (sqlite3_int64)t->end_ns);
        else
            sqlite3_bind_null(s, 5);
        sqlite3_int64 v[] = {(sqlite3_int64)t->allocs, (sqlite3_int64)t->frees,
                             (sqlite3_int64)t->alloc_bytes, (sqlite3_int64)t->freed_bytes,
                             (sqlite3_int64)t->cross_thread_frees, (sqlite3_int64)t->records,
                             (sqlite3_int64)t->dropped, (sqlite3_int64)t->ring_waits,
                             (sqlite3_int64)t->ring_wait_ns, (sqlite3_int64)t->stack_unwinds};
        db_bind_int64s(s, 6, v, 10);
        db_step(db, s);
        t->dirty = false;
        t->row_written = true;
    }
}

static void db_write_modules_and_sites(struct db *db, int64_t pid, struct proc_state *p)
{
    for (size_t i = 0; i < p->module_count; i++) {
        struct module_state *m = &p->modules[i];
        if (m->written)
            continue;
        sqlite3_stmt *s = db->stmt[STMT_MODULE];
        sqlite3_bind_int64(s, 1, pid);
        sqlite3_bind_text(s, 2, m->path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)m->bias);
        db_step(db, s);
        m->written = true;
    }
    for (uint32_t id = 0; id < p->sites_cap; id++) {
        struct site_state *si = &p->sites[id];
        if (!si->dirty)
            continue;
        sqlite3_stmt *s = db->stmt[STMT_SITE];
        sqlite3_int64 v[] = {pid, id, (sqlite3_int64)si->allocs, (sqlite3_int64)si->alloc_bytes,
                             (sqlite3_int64)si->frees, (sqlite3_int64)si->freed_bytes,
                             si->live_blocks, si->live_bytes, si->peak_live_bytes};
        db_bind_int64s(s, 1, v, 9);
        sqlite3_bind_double(s, 10, si->est_allocs);
        sqlite3_bind_double(s, 11, si->est_bytes);
        db_step(db, s);
        si->dirty = false;
    }
}

static void db_write_corruption(struct db *db, int64_t pid, struct proc_state *p)
{
    for (; p->corruptions_written < p->corruption_count; p->corruptions_written++) {
        struct corruption_state *c = &p->corruptions[p->corruptions_written];
        sqlite3_stmt *s = db->stmt[STMT_CORRUPTION];
        sqlite3_bind_int64(s, 1, pid);
        sqlite3_bind_int64(s, 2, c->thread_id);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)c->ts_ns);
        sqlite3_bind_text(s, 4, state_corruption_name(p, c->kind), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, state_corruption_name(p, c->call), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 6, (sqlite3_int64)c->address);
        if (c->class_id >= 0)
            sqlite3_bind_int64(s, 7, c->class_id);
        else
            sqlite3_bind_null(s, 7);
        sqlite3_bind_int64(s, 8, c->stack_id);
        if (c->has_alloc) {
            sqlite3_bind_int64(s, 9, c->alloc_thread_id);
            sqlite3_bind_int64(s, 10, (sqlite3_int64)c->alloc_stack_id);
        }
        if (c->has_header)
            sqlite3_bind_blob(s, 11, c->header, sizeof c->header, SQLITE_TRANSIENT);
        db_step(db, s);
    }
    for (size_t i = 0; i < p->corruption_group_count; i++) {
        struct corruption_group *g = &p->corruption_groups[i];
        if (!g->dirty)
            continue;
        sqlite3_stmt *s = db->stmt[STMT_CORRUPTION_GROUP];
        sqlite3_bind_int64(s, 1, pid);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)i + 1);
        sqlite3_bind_text(s, 3, state_corruption_name(p, g->kind), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, state_corruption_name(p, g->call), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 5, g->stack_id);
        if (g->class_id >= 0)
            sqlite3_bind_int64(s, 6, g->class_id);
        else
            sqlite3_bind_null(s, 6);
        sqlite3_int64 v[] = {(sqlite3_int64)g->events, (sqlite3_int64)g->stored,
                             (sqlite3_int64)g->first_ns, (sqlite3_int64)g->last_ns,
                             (sqlite3_int64)g->first_address, (sqlite3_int64)g->last_address};
        db_bind_int64s(s, 7, v, 6);
        db_step(db, s);
        g->dirty = false;
    }
}

static void db_write_rows(struct db *db, int64_t pid, struct proc_state *p)
{
    sqlite3_stmt *s = db->stmt[STMT_ALLOCATION];
    for (size_t i = 0; i < p->row_count; i++) {
        struct alloc_row *r = &p->rows[i];
        sqlite3_int64 v[] = {pid, (sqlite3_int64)r->addr, r->class_id, (sqlite3_int64)r->requested,
                             (sqlite3_int64)r->usable, r->thread_id, r->free_thread_id,
                             (sqlite3_int64)r->alloc_ts, (sqlite3_int64)r->free_ts, r->stack_id};
        db_bind_int64s(s, 1, v, 10);
        db_step(db, s);
    }
    p->row_count = 0;
}

void db_write_state(struct db *db, int64_t process_id, struct proc_state *p, uint64_t ts_ns)
{
    if (db->failed)
        return;
    db_write_classes(db, process_id, p, ts_ns);
    db_write_threads(db, process_id, p);
    db_write_modules_and_sites(db, process_id, p);
    struct db_each each = {db, process_id, p};
    if (p->sizes_dirty)
        state_sizes_each(p, db_write_size, &each);
    p->sizes_dirty = false;
    if (p->pairs_dirty)
        u64map_each(&p->pairs, db_write_pair, &each);
    p->pairs_dirty = false;
    if (p->lifetimes_dirty) {
        sqlite3_stmt *s = db->stmt[STMT_LIFETIME];
        for (unsigned c = 0; c <= state_large(p); c++)
            for (unsigned b = 0; b < STATE_LIFETIME_BUCKETS; b++) {
                if (p->lifetimes[c][b][0] == 0)
                    continue;
                sqlite3_int64 v[] = {process_id, c, b, (sqlite3_int64)p->lifetimes[c][b][0],
                                     (sqlite3_int64)p->lifetimes[c][b][1]};
                db_bind_int64s(s, 1, v, 5);
                db_step(db, s);
            }
        p->lifetimes_dirty = false;
    }
    db_write_corruption(db, process_id, p);
    db_write_rows(db, process_id, p);
    sqlite3_stmt *s = db->stmt[STMT_PROCESS_UPDATE];
    sqlite3_int64 v[] = {(sqlite3_int64)p->records, (sqlite3_int64)p->dropped,
                         (sqlite3_int64)p->stack_count, (sqlite3_int64)p->stacks_truncated,
                         (sqlite3_int64)p->untracked_frees, (sqlite3_int64)p->max_lag_ns,
                         (sqlite3_int64)p->last_ts, (sqlite3_int64)p->slots,
                         (sqlite3_int64)p->late_batches, (sqlite3_int64)p->ring_waits,
                         (sqlite3_int64)p->ring_wait_ns, (sqlite3_int64)p->max_visit_gap_ns,
                         (sqlite3_int64)p->corruption_events,
                         (sqlite3_int64)p->corruption_aggregated,
                         (sqlite3_int64)p->stack_unwinds, process_id};
    db_bind_int64s(s, 1, v, 16);
    db_step(db, s);
}

static void db_write_live_row(const struct live_entry *e, void *arg)
{
    struct db_each *each = arg;
    sqlite3_stmt *s = each->db->stmt[STMT_LIVE];
    sqlite3_int64 v[] = {each->pid, (sqlite3_int64)e->addr, e->class_id,
                         (sqlite3_int64)e->requested, (sqlite3_int64)e->usable, e->thread_id,
                         (sqlite3_int64)e->alloc_ts, e->stack_id};
    db_bind_int64s(s, 1, v, 8);
    db_step(each->db, s);
}

/* Full mode: a live allocation is an allocations row with no free time. */
static void db_write_live_allocation(const struct live_entry *e, void *arg)
{
    struct db_each *each = arg;
    sqlite3_stmt *a = each->db->stmt[STMT_ALLOCATION];
    sqlite3_int64 v[] = {each->pid, (sqlite3_int64)e->addr, e->class_id,
                         (sqlite3_int64)e->requested, (sqlite3_int64)e->usable, e->thread_id};
    db_bind_int64s(a, 1, v, 6);
    sqlite3_bind_null(a, 7);
    sqlite3_bind_int64(a, 8, (sqlite3_int64)e->alloc_ts);
    sqlite3_bind_null(a, 9);
    sqlite3_bind_int64(a, 10, e->stack_id);
    db_step(each->db, a);
}

void db_write_live(struct db *db, int64_t process_id, struct proc_state *p)
{
    sqlite3_stmt *clear = db->stmt[STMT_LIVE_CLEAR];
    sqlite3_bind_int64(clear, 1, process_id);
    db_step(db, clear);
    struct db_each each = {db, process_id, p};
    state_live_each(p, db_write_live_row, &each);
    if (p->mode == SEGMENT_MODE_FULL) {
        sqlite3_stmt *del;
        if (sqlite3_prepare_v2(db->conn, "DELETE FROM allocations WHERE process_id=? AND free_ns IS NULL",
                               -1, &del, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(del, 1, process_id);
            db_step(db, del);
            sqlite3_finalize(del);
        }
        state_live_each(p, db_write_live_allocation, &each);
    }
}

void db_end_process(struct db *db, int64_t process_id, uint64_t end_ns, const char *reason,
                    uint64_t lost_no_slot)
{
    sqlite3_stmt *s = db->stmt[STMT_PROCESS_END];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)end_ns);
    sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)lost_no_slot);
    sqlite3_bind_int64(s, 4, process_id);
    db_step(db, s);
}

void db_write_health(struct db *db, struct health *h)
{
    sqlite3_stmt *s = db->stmt[STMT_HEALTH];
    for (size_t i = 0; i < h->count; i++) {
        struct health_event *e = &h->events[i];
        if (!e->dirty)
            continue;
        sqlite3_bind_int64(s, 1, (sqlite3_int64)i + 1);
        sqlite3_bind_text(s, 2, health_kind_name(e->kind), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, e->uid);
        sqlite3_bind_int64(s, 4, e->pid);
        if (e->process_id != 0)
            sqlite3_bind_int64(s, 5, e->process_id);
        else
            sqlite3_bind_null(s, 5);
        sqlite3_bind_int64(s, 6, (sqlite3_int64)e->count);
        sqlite3_bind_int64(s, 7, (sqlite3_int64)e->first_unix_ns);
        sqlite3_bind_int64(s, 8, (sqlite3_int64)e->last_unix_ns);
        sqlite3_bind_text(s, 9, e->detail, -1, SQLITE_STATIC);
        db_step(db, s);
        e->dirty = false;
    }
}
