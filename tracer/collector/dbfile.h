/* dbfile.h - the trace database's files on disk (dbfile.c): PATH, PATH-wal
 * and PATH-shm are made by the collector itself, before SQLite is given
 * the path, so they are private (mode 0600, narrowed by the umask) and
 * never reached through a symbolic link, and SQLite only ever opens files
 * that already exist and are ours. The collector keeps PATH open with a
 * lock on it for its whole life, so a second collector never takes over a
 * database a live one is writing. Rules, in the order they are checked:
 * refuse a symbolic link, anything but a regular file, a file of another
 * user, a file with other hard links, side files of the same kinds, a
 * directory every user may write to that is not sticky (/tmp is), and a
 * database a running collector holds. Every refusal is one line in err
 * (what is wrong, what to do). Collector start-up only; not thread-safe. */
#ifndef ORTHO_COLLECTOR_DBFILE_H
#define ORTHO_COLLECTOR_DBFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DBFILE_SIDES 2 /* -wal and -shm */

struct dbfile {
    int fd;                      /* PATH, created here, open for the lock; -1: none */
    dev_t dev[1 + DBFILE_SIDES]; /* PATH, PATH-wal, PATH-shm as created */
    ino_t ino[1 + DBFILE_SIDES];
};

/* What is at path, before anything is touched: -1 refused (err says why),
 * 0 nothing (or an empty file of ours), 1 a file of ours with content,
 * not held by a running collector (the caller decides what it is). A
 * held one is waited for a few seconds (a collector finishing lets go)
 * before it is refused. */
int dbfile_inspect(const char *path, char *err, size_t err_cap);

/* Moves path and its side files (those that exist and are ours) to
 * path.old, path.old-wal, path.old-shm, narrowing their modes to the
 * owner's. false: err says why (nothing moved). */
bool dbfile_retire(const char *path, char *err, size_t err_cap);

/* Creates path and its side files afresh (O_CREAT|O_EXCL|O_NOFOLLOW, mode
 * 0600 less the umask), after removing an empty path and stale side files
 * of ours, and locks path for this process. false: err says why; nothing
 * is left open. */
bool dbfile_create(struct dbfile *f, const char *path, char *err, size_t err_cap);

/* Whether the files this process now has open under path's names (SQLite's)
 * are the ones dbfile_create made: call once SQLite has opened the
 * database in WAL mode. false: err says why. */
bool dbfile_verify(const struct dbfile *f, const char *path, char *err, size_t err_cap);

/* Drops the lock and closes path. Call after SQLite has closed it: closing
 * a descriptor of a file drops every POSIX lock this process holds on it,
 * SQLite's included. */
void dbfile_close(struct dbfile *f);

#endif
