/* db.h - the collector's side of the trace database (schema/schema.sql):
 * opening it safely, and writing a process's state (state.h) in batched
 * transactions. After the first write error (a full disk, a removed
 * directory) it prints one line and stops writing; what was committed
 * stays a valid database, and the collector keeps draining so the traced
 * program never stalls. */
#ifndef ORTHO_COLLECTOR_DB_H
#define ORTHO_COLLECTOR_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

struct db;
struct health;
struct sym_batch;

struct db_process_info {
    uint32_t pid, ppid;
    int64_t parent_process_id; /* 0: none */
    const char *via, *exe, *cmdline, *mode, *overflow;
    uint64_t start_ns, start_unix_ns, sample_bytes;
    uint32_t stack_depth;
    const struct proc_state *state; /* its class table goes into classes */
};

/* Creates the database at path, private and never through a symbolic
 * link, and holds it against a second collector (dbfile.h). An existing
 * trace database there is kept as path.old; any other existing file, one
 * of another user, a link, or a database a running collector holds is
 * refused. NULL with a one-line reason (what is wrong and what to do) in
 * err. */
struct db *db_open(const char *path, char *err, size_t err_cap);
void db_close(struct db *db);

/* Whether writes still work (false after the first failure). */
bool db_ok(const struct db *db);

/* Transactions. A begin inside an open transaction joins it, and a commit
 * with none open does nothing: a write that need not be committed on its
 * own (a new process row) leaves its transaction open, and the next
 * commit - an exit ack's, an image's end, the pass's last - takes it
 * along. Each commit costs a WAL append of every page it changed, about
 * as much as the rows themselves for a short image. */
void db_begin(struct db *db);
void db_commit(struct db *db);

/* Inserts a process row and its classes; its process_id (0 on failure). */
int64_t db_add_process(struct db *db, const struct db_process_info *info);
/* Writes what changed in p since the last call (inside a transaction):
 * counters, a time-series row at ts_ns, modules, sites, threads,
 * histogram, lifetimes, pairs, corruption, full-mode rows. Stacks are
 * named off the draining thread (symworker.h) and written with
 * db_write_stacks once their batch is done. */
void db_write_state(struct db *db, int64_t process_id, struct proc_state *p, uint64_t ts_ns);
/* Writes the stacks (and frames) of a finished naming batch of p's, from
 * where the last call stopped, until deadline_ns (CLOCK_MONOTONIC; 0: no
 * limit): a large program's batch is hundreds of thousands of frame rows,
 * and the rings wait while they are written. Whether all are written (also
 * after the database failed: nothing more will be). */
bool db_write_stacks(struct db *db, int64_t process_id, struct proc_state *p,
                     struct sym_batch *names, uint64_t deadline_ns);
/* Replaces the process's live_allocations with p's live table. */
void db_write_live(struct db *db, int64_t process_id, struct proc_state *p);
/* Writes the health events (health.h) that changed since the last call
 * (inside a transaction). */
void db_write_health(struct db *db, struct health *h);
/* Marks the process ended. reason: exit, exec, abrupt or abandoned. */
void db_end_process(struct db *db, int64_t process_id, uint64_t end_ns, const char *reason,
                    uint64_t lost_no_slot);
void db_set_meta(struct db *db, const char *key, const char *value);

#endif
