/* dbcheckpoint.c - see dbcheckpoint.h. SQLite's automatic checkpoint runs
 * inside the COMMIT that takes the WAL past its threshold, and under
 * synchronous=NORMAL each one syncs the WAL and then the database file:
 * 5 to 20 ms on this machine's disk, spent on the collector's main thread
 * while a traced process waits for its exit acknowledgement (an exec loop
 * of 500 /bin/true made 33 of them, 245 ms of its run). Here the writer's
 * commits only append to the WAL. The hook SQLite calls after each commit
 * asks this thread for a checkpoint once another DBCHECKPOINT_PAGES pages
 * have been written, and the thread's PASSIVE checkpoint copies the frames
 * back and syncs without the writer's lock, so the writer never waits for
 * it. Once a checkpoint has copied the whole WAL the writer starts it over
 * from the beginning at its next transaction, as it did before, and what
 * a power cut can cost stays the same: the last commits, never the
 * database. A writer that never pauses (an exec loop commits every few
 * hundred microseconds, a checkpoint takes milliseconds) keeps the thread
 * from ever copying all of it, so the WAL would only grow: past
 * DBCHECKPOINT_WAL_MAX_PAGES the writer checkpoints itself, which copies
 * just what the thread has not (and syncs that), and the WAL starts over. The thread blocks every signal: the
 * collector's wake-up signals must reach the main thread's ppoll. */
#include "dbcheckpoint.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define DBCHECKPOINT_AGAIN_NS 100000000L /* quiet before a round for frames left behind */

struct dbcheckpoint {
    sqlite3 *writer;
    sqlite3 *conn;          /* this thread's own connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool wanted;            /* a checkpoint is asked for (under lock) */
    bool stop;              /* (under lock) */
    int asked_at;           /* WAL pages at the last request; writer's thread only */
    _Atomic int pages;      /* WAL pages after the writer's last commit */
    unsigned long done;     /* checkpoints run (under lock) */
};

/* The writer's WAL hook, on the writer's thread after each commit: pages
 * is the WAL's length in pages. Asks once per DBCHECKPOINT_PAGES written,
 * so a checkpoint that cannot finish (a reader holds an old snapshot) is
 * not asked for again after every commit. */
static int dbcheckpoint_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct dbcheckpoint *cp = arg;
    atomic_store_explicit(&cp->pages, pages, memory_order_relaxed);
    if (pages < cp->asked_at)
        cp->asked_at = 0; /* the WAL started over */
    if (pages >= DBCHECKPOINT_WAL_MAX_PAGES) {
        /* Busy while the thread's checkpoint runs: tried again at the
         * next commit. */
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    if (pages - cp->asked_at < DBCHECKPOINT_PAGES)
        return SQLITE_OK;
    cp->asked_at = pages;
    pthread_mutex_lock(&cp->lock);
    cp->wanted = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    return SQLITE_OK;
}

/* Sleeps until a checkpoint is asked for or the thread must stop. While
 * frames the last checkpoint did not copy are waiting (written while it
 * ran, or after it: the request comes at a threshold, mid-burst), wakes
 * after DBCHECKPOINT_AGAIN_NS of quiet to copy them too. Only a WAL
 * copied whole starts over, at the writer's next transaction; a writer
 * that pauses is caught up with this way. Called with the lock held;
 * `copied`: the WAL pages the last checkpoint left copied. */
static void dbcheckpoint_wait(struct dbcheckpoint *cp, int copied)
{
    for (;;) {
        int pages = atomic_load_explicit(&cp->pages, memory_order_relaxed);
        bool behind = pages > copied || (pages < copied && pages > 0); /* the latter: started over */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += DBCHECKPOINT_AGAIN_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (cp->wanted || cp->stop)
            return;
        if (!behind) {
            pthread_cond_wait(&cp->wake, &cp->lock);
            continue;
        }
        if (pthread_cond_timedwait(&cp->wake, &cp->lock, &until) != 0 &&
            atomic_load_explicit(&cp->pages, memory_order_relaxed) == pages)
            return; /* quiet for a while, frames left: another round */
    }
}

static void *dbcheckpoint_main(void *arg)
{
    struct dbcheckpoint *cp = arg;
    int copied = 0;
    pthread_mutex_lock(&cp->lock);
    for (;;) {
        dbcheckpoint_wait(cp, copied);
        if (cp->stop)
            break;
        cp->wanted = false;
        pthread_mutex_unlock(&cp->lock);
        /* Errors are the writer's to report: it writes the same files. A
         * busy or failed one counts as having copied what it saw, so it is
         * not tried again until more is written. */
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(cp->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        copied = rc == SQLITE_OK && done >= 0 ? done
                                              : atomic_load_explicit(&cp->pages, memory_order_relaxed);
        pthread_mutex_lock(&cp->lock);
        cp->done++;
    }
    pthread_mutex_unlock(&cp->lock);
    return NULL;
}

struct dbcheckpoint *dbcheckpoint_start(sqlite3 *writer, const char *path)
{
    struct dbcheckpoint *cp = calloc(1, sizeof *cp);
    if (cp == NULL)
        return NULL;
    cp->writer = writer;
    /* No SQLITE_OPEN_CREATE: the file exists (dbfile.c made it). */
    if (sqlite3_open_v2(path, &cp->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(cp->conn, "SELECT count(*) FROM meta", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(cp->conn);
        free(cp);
        return NULL;
    }
    pthread_mutex_init(&cp->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cp->wake, &attr);
    pthread_condattr_destroy(&attr);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread starts with every signal blocked */
    int rc = pthread_create(&cp->thread, NULL, dbcheckpoint_main, cp);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&cp->wake);
        pthread_mutex_destroy(&cp->lock);
        sqlite3_close(cp->conn);
        free(cp);
        return NULL;
    }
    /* Replaces the automatic checkpoint, which is itself a WAL hook. */
    sqlite3_wal_hook(writer, dbcheckpoint_hook, cp);
    return cp;
}

unsigned long dbcheckpoint_count(struct dbcheckpoint *cp)
{
    pthread_mutex_lock(&cp->lock);
    unsigned long n = cp->done;
    pthread_mutex_unlock(&cp->lock);
    return n;
}

void dbcheckpoint_stop(struct dbcheckpoint *cp)
{
    if (cp == NULL)
        return;
    sqlite3_wal_autocheckpoint(cp->writer, DBCHECKPOINT_PAGES); /* drops our hook */
    pthread_mutex_lock(&cp->lock);
    cp->stop = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    pthread_join(cp->thread, NULL);
    pthread_cond_destroy(&cp->wake);
    pthread_mutex_destroy(&cp->lock);
    sqlite3_close(cp->conn);
    free(cp);
}
