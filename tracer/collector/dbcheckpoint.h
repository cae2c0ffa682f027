/* dbcheckpoint.h - the trace database's WAL checkpoints, run on a thread of
 * their own over a second connection so the collector's main thread never
 * waits for them (dbcheckpoint.c says why). */
#ifndef ORTHO_COLLECTOR_DBCHECKPOINT_H
#define ORTHO_COLLECTOR_DBCHECKPOINT_H

#include <sqlite3.h>

/* WAL pages written since the last request that make the next one; the
 * same threshold as SQLite's own automatic checkpoint. */
#define DBCHECKPOINT_PAGES 1000
/* WAL pages past which the writer checkpoints on its own thread after
 * all (dbcheckpoint.c says when that happens). */
#define DBCHECKPOINT_WAL_MAX_PAGES (8 * DBCHECKPOINT_PAGES)

struct dbcheckpoint;

/* Opens a second connection to the database at path (which `writer` has
 * open in WAL mode), reads through it once so SQLite has opened every
 * file, takes the writer's checkpoints over (its WAL hook) and starts the
 * thread. NULL: nothing started, and the writer keeps SQLite's automatic
 * checkpoints. The caller checks, after this, that the files open under
 * the database's names are its own (dbfile_verify). */
struct dbcheckpoint *dbcheckpoint_start(sqlite3 *writer, const char *path);

/* Checkpoints done, for tests. */
unsigned long dbcheckpoint_count(struct dbcheckpoint *cp);

/* Stops the thread, gives the writer SQLite's automatic checkpoints back
 * and closes the second connection; call before the writer closes (its
 * close then makes the last checkpoint). NULL: nothing. */
void dbcheckpoint_stop(struct dbcheckpoint *cp);

#endif
