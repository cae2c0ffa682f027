/* dbfile.c - see dbfile.h. Why each rule:
 *  - SQLite resolves a symbolic link at the database path itself (before
 *    fs.protected_symlinks could object), so a link planted in /tmp would
 *    make the collector create or overwrite its target: links are refused
 *    with lstat, and every file is created O_EXCL|O_NOFOLLOW.
 *  - The database holds command lines, heap addresses and load biases:
 *    created 0600 (less the umask); -wal and -shm, which SQLite would
 *    otherwise create itself, are created here the same way (SQLite then
 *    opens them as they are), and the switch to WAL is made without a
 *    rollback journal file (db.c), so no file is left for SQLite to create.
 *  - In a sticky directory (/tmp) no other user can rename or remove our
 *    files, but anyone can create names first: a side file that is not
 *    ours is refused rather than used. A directory any user may write to
 *    without the sticky bit leaves every name open to swapping: refused.
 *  - After SQLite has opened the files, the ones open in this process
 *    under those names are compared with the ones created (device and
 *    inode, through /proc/self/fd): a swap in between is caught.
 *  - The lock is an open file description lock (F_OFD_SETLK) on one byte
 *    beyond the bytes SQLite locks (2^30 .. 2^30 + 511), so it never
 *    meets SQLite's own POSIX locks or a reader's. It is held until after
 *    SQLite has closed the database: SQLite removes -wal and -shm by name
 *    as it closes, which must not be a newer collector's. */
#define _GNU_SOURCE
#include "dbfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DBFILE_LOCK_BYTE ((off_t)(1 << 30) + 4096) /* beyond SQLite's lock bytes */
#define DBFILE_MODE 0600
#define DBFILE_LOCK_WAIT_MS 3000 /* for a collector that is finishing to let go */
#define DBFILE_PATH_MAX 4096

static const char *const dbfile_side_suffix[DBFILE_SIDES] = {"-wal", "-shm"};

/* path + suffix into out; false if it does not fit. */
static bool dbfile_name(char *out, const char *path, const char *suffix)
{
    return (size_t)snprintf(out, DBFILE_PATH_MAX, "%s%s", path, suffix) < DBFILE_PATH_MAX;
}

/* Whether fd's file carries a collector's lock; fills *held. */
static void dbfile_lock_probe(int fd, bool *held)
{
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = DBFILE_LOCK_BYTE,
                       .l_len = 1};
    *held = fcntl(fd, F_OFD_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
}

static void dbfile_say_held(const char *name, char *err, size_t err_cap)
{
    snprintf(err, err_cap, "%s is being written by a running trace collector (another traced "
                           "program uses the same ORTHO_TRACE_DB); set ORTHO_TRACE_DB "
                           "(ortho-run -o) to another path", name);
}

/* Checks what lstat found at name (err from lstat in lerr): absent is
 * fine; a link, a non-file, another user's file or a hard-linked one is
 * refused. */
static bool dbfile_check_entry(const char *name, int lerr, const struct stat *st, char *err,
                               size_t err_cap)
{
    if (lerr == ENOENT)
        return true;
    if (lerr != 0) {
        snprintf(err, err_cap, "cannot look at %s (%s); set ORTHO_TRACE_DB (ortho-run -o) to a "
                               "writable path", name, strerror(lerr));
        return false;
    }
    const char *what = NULL;
    char owner[96];
    if (S_ISLNK(st->st_mode)) {
        what = "is a symbolic link, and a trace database is never written through one";
    } else if (!S_ISREG(st->st_mode)) {
        what = "exists and is not a regular file";
    } else if (st->st_uid != geteuid()) {
        snprintf(owner, sizeof owner, "belongs to uid %u, not to this program's user (uid %u)",
                 (unsigned)st->st_uid, (unsigned)geteuid());
        what = owner;
    } else if (st->st_nlink > 1) {
        what = "has other hard links, which would be written through";
    }
    if (what == NULL)
        return true;
    snprintf(err, err_cap, "%s %s; refusing to touch it: remove it or set ORTHO_TRACE_DB "
                           "(ortho-run -o) to another path", name, what);
    return false;
}

static bool dbfile_check_name(const char *name, struct stat *st, bool *exists, char *err,
                              size_t err_cap)
{
    int lerr = lstat(name, st) == 0 ? 0 : errno;
    *exists = lerr == 0;
    return dbfile_check_entry(name, lerr, st, err, err_cap);
}

/* Refuses a directory every user may write to unless it is sticky. */
static bool dbfile_check_directory(const char *path, char *err, size_t err_cap)
{
    char dir[DBFILE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) != 0)
        return true; /* creating the file will say what is wrong */
    if ((st.st_mode & S_IWOTH) != 0 && (st.st_mode & S_ISVTX) == 0) {
        snprintf(err, err_cap, "the directory %s is writable by every user and not sticky, so "
                               "others could swap the trace files in it; set ORTHO_TRACE_DB "
                               "(ortho-run -o) to a path in another directory", dir);
        return false;
    }
    return true;
}

int dbfile_inspect(const char *path, char *err, size_t err_cap)
{
    if (strlen(path) + 8 >= DBFILE_PATH_MAX) {
        snprintf(err, err_cap, "the trace database path is too long; set ORTHO_TRACE_DB to a "
                               "shorter one");
        return -1;
    }
    if (!dbfile_check_directory(path, err, err_cap))
        return -1;
    struct stat st;
    bool exists;
    if (!dbfile_check_name(path, &st, &exists, err, err_cap))
        return -1;
    for (size_t i = 0; i < DBFILE_SIDES; i++) {
        char side[DBFILE_PATH_MAX];
        struct stat side_st;
        bool side_exists;
        dbfile_name(side, path, dbfile_side_suffix[i]);
        if (!dbfile_check_name(side, &side_st, &side_exists, err, err_cap))
            return -1;
    }
    if (!exists)
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, err_cap, "cannot open %s (%s); set ORTHO_TRACE_DB (ortho-run -o) to "
                               "another path", path, strerror(errno));
        return -1;
    }
    /* A collector that is finishing (its program has returned; it names
     * the last stacks, lingers, checkpoints) lets go within moments: the
     * same command run twice in a row must not be refused for that. */
    bool held;
    for (unsigned waited_ms = 0;; waited_ms += 10) {
        dbfile_lock_probe(fd, &held);
        if (!held || waited_ms >= DBFILE_LOCK_WAIT_MS)
            break;
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    close(fd);
    if (held) {
        dbfile_say_held(path, err, err_cap);
        return -1;
    }
    return st.st_size > 0 ? 1 : 0;
}

/* Renames from to to if from is a file of ours, narrowing its mode to the
 * owner's bits. true if moved or absent. */
static bool dbfile_move_aside(const char *from, const char *to, char *err, size_t err_cap)
{
    struct stat st;
    if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return true; /* absent, or not ours: dbfile_create deals with it */
    if (rename(from, to) != 0) {
        snprintf(err, err_cap, "cannot move the previous trace %s aside to %s (%s)", from, to,
                 strerror(errno));
        return false;
    }
    int fd = open(to, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        struct stat moved;
        if (fstat(fd, &moved) == 0 && moved.st_dev == st.st_dev && moved.st_ino == st.st_ino)
            fchmod(fd, moved.st_mode & 0600);
        close(fd);
    }
    return true;
}

bool dbfile_retire(const char *path, char *err, size_t err_cap)
{
    char old[DBFILE_PATH_MAX];
    if (!dbfile_name(old, path, ".old")) {
        snprintf(err, err_cap, "the trace database path is too long; set ORTHO_TRACE_DB to a "
                               "shorter one");
        return false;
    }
    if (!dbfile_move_aside(path, old, err, err_cap))
        return false;
    /* Its WAL holds its newest pages: the side files move with it. */
    for (size_t i = 0; i < DBFILE_SIDES; i++) {
        char from[DBFILE_PATH_MAX], to[DBFILE_PATH_MAX];
        dbfile_name(from, path, dbfile_side_suffix[i]);
        dbfile_name(to, old, dbfile_side_suffix[i]);
        struct stat st;
        if (lstat(from, &st) == 0) {
            dbfile_move_aside(from, to, err, err_cap);
        } else if (lstat(to, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
            unlink(to); /* an older one's, not a side file of the database now at old */
        }
    }
    return true;
}

/* Creates name exclusively, never through a link; fills dev/ino. The fd,
 * or -1 with err set. */
static int dbfile_make(const char *name, dev_t *dev, ino_t *ino, char *err, size_t err_cap)
{
    int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, DBFILE_MODE);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(err, err_cap,
                 e == EEXIST ? "cannot create the trace database file %s (%s: another process "
                               "made it first); set ORTHO_TRACE_DB (ortho-run -o) to another path"
                             : "cannot create the trace database file %s (%s); set "
                               "ORTHO_TRACE_DB (ortho-run -o) to a writable path",
                 name, strerror(e));
        return -1;
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}

/* Removes name if it is a file of ours (an empty database, a stale side
 * file) that no collector holds; anything else is refused. */
static bool dbfile_clear(const char *name, char *err, size_t err_cap)
{
    struct stat st;
    bool exists;
    if (!dbfile_check_name(name, &st, &exists, err, err_cap))
        return false;
    if (!exists)
        return true;
    /* A collector that made it since dbfile_inspect looked keeps it. */
    int fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    bool held = false;
    if (fd >= 0) {
        dbfile_lock_probe(fd, &held);
        close(fd);
    }
    if (held) {
        dbfile_say_held(name, err, err_cap);
        return false;
    }
    if (unlink(name) != 0 && errno != ENOENT) {
        snprintf(err, err_cap, "cannot remove the stale %s (%s); remove it or set ORTHO_TRACE_DB "
                               "(ortho-run -o) to another path", name, strerror(errno));
        return false;
    }
    return true;
}

bool dbfile_create(struct dbfile *f, const char *path, char *err, size_t err_cap)
{
    f->fd = -1;
    char names[1 + DBFILE_SIDES][DBFILE_PATH_MAX];
    snprintf(names[0], DBFILE_PATH_MAX, "%s", path);
    for (size_t i = 0; i < DBFILE_SIDES; i++)
        dbfile_name(names[1 + i], path, dbfile_side_suffix[i]);
    for (size_t i = 0; i <= DBFILE_SIDES; i++)
        if (!dbfile_clear(names[i], err, err_cap))
            return false;
    int fd = dbfile_make(names[0], &f->dev[0], &f->ino[0], err, err_cap);
    if (fd < 0)
        return false;
    /* Locked before anything else: a second collector that finds the file
     * from here on refuses instead of moving it aside. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = DBFILE_LOCK_BYTE,
                       .l_len = 1};
    if (fcntl(fd, F_OFD_SETLK, &lk) != 0) {
        dbfile_say_held(path, err, err_cap);
        close(fd);
        unlink(path);
        return false;
    }
    for (size_t i = 1; i <= DBFILE_SIDES; i++) {
        int side = dbfile_make(names[i], &f->dev[i], &f->ino[i], err, err_cap);
        if (side < 0) {
            for (size_t j = 1; j < i; j++)
                unlink(names[j]);
            close(fd);
            unlink(path);
            return false;
        }
        close(side);
    }
    f->fd = fd;
    return true;
}

/* Whether a descriptor of this process other than `except` is the file
 * (dev, ino), and none open under its name (`kname`, as the kernel spells
 * it in /proc/self/fd) is another file. The second rule is what holds
 * when a name was opened more than once (SQLite reopening a side file, a
 * second connection): each open must have found the file made here, not
 * merely one of them. No /proc: false, and *known false. */
static bool dbfile_open_here(dev_t dev, ino_t ino, const char *kname, int except, bool *known)
{
    DIR *dir = opendir("/proc/self/fd");
    *known = dir != NULL;
    if (dir == NULL)
        return false;
    bool found = false, foreign = false;
    struct dirent *e;
    while (!foreign && (e = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        if (*end != '\0' || end == e->d_name || fd == except || fd == dirfd(dir) ||
            fstat((int)fd, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        bool same = st.st_dev == dev && st.st_ino == ino;
        found |= same;
        if (!same && kname[0] != '\0') {
            char link[64], target[DBFILE_PATH_MAX];
            snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
            ssize_t n = readlink(link, target, sizeof target - 1);
            foreign = n > 0 && (target[n] = '\0', strcmp(target, kname) == 0);
        }
    }
    closedir(dir);
    return found && !foreign;
}

bool dbfile_verify(const struct dbfile *f, const char *path, char *err, size_t err_cap)
{
    /* The kernel's name of the database, from the descriptor made here;
     * the side files were made beside it. */
    char base[DBFILE_PATH_MAX] = "";
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", f->fd);
    ssize_t n = f->fd >= 0 ? readlink(link, base, sizeof base - 16) : -1;
    base[n > 0 ? n : 0] = '\0';
    for (size_t i = 0; i <= DBFILE_SIDES; i++) {
        char name[DBFILE_PATH_MAX], kname[DBFILE_PATH_MAX] = "";
        dbfile_name(name, path, i == 0 ? "" : dbfile_side_suffix[i - 1]);
        if (base[0] != '\0')
            dbfile_name(kname, base, i == 0 ? "" : dbfile_side_suffix[i - 1]);
        bool known;
        bool ok = dbfile_open_here(f->dev[i], f->ino[i], kname, f->fd, &known);
        if (!known) {
            /* No /proc: the names at least must still be the files made. */
            struct stat st;
            ok = lstat(name, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == f->dev[i] &&
                 st.st_ino == f->ino[i];
        }
        if (!ok) {
            snprintf(err, err_cap, "%s was replaced while the trace database was being created "
                                   "(another process is racing for these names); set "
                                   "ORTHO_TRACE_DB (ortho-run -o) to a path in a private "
                                   "directory", name);
            return false;
        }
    }
    return true;
}

void dbfile_close(struct dbfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}
