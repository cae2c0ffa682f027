/* ortho-run.c - the launcher: runs one command with liborthotope.so preloaded
 * and tracing on, and returns when the trace is complete. It owns three
 * things. The environment: ORTHO_TRACE and the other ORTHO_TRACE_* variables
 * from its options, validated before anything runs, and LD_PRELOAD with the
 * library in front. The library's location: --lib, $ORTHO_LIB, then the
 * installed layout and the build tree relative to this executable. The
 * process tree: the traced program starts a collector that daemonizes and
 * outlives it, so ortho-run makes itself a child subreaper and, after the
 * command exits, keeps reaping orphaned descendants until none remain (or
 * --wait runs out): only then is the database complete. Once only trace
 * collectors remain, it tells them so, and they leave without waiting for
 * latecomers. Signals are never
 * handled asynchronously: the ones ortho-run cares about stay blocked and are
 * taken one at a time with sigwaitinfo/sigtimedwait, which also tells who
 * sent each one (see run_should_forward). Single-threaded; a normal program
 * that may allocate; it never links liborthotope itself. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h" /* the library's option table: one set of rules */
#include "report.h"

#ifndef ORTHO_RUN_LIBDIR
#define ORTHO_RUN_LIBDIR "lib" /* CMAKE_INSTALL_LIBDIR, set by tools/CMakeLists.txt */
#endif
#ifndef ORTHO_RUN_VERSION
#define ORTHO_RUN_VERSION "unknown"
#endif

#define RUN_LIBRARY_NAME "liborthotope.so"
#define RUN_EXIT_USAGE 2          /* bad options, library not found: nothing ran */
#define RUN_EXIT_CANNOT_EXEC 126  /* as shells: found but not executable */
#define RUN_EXIT_NOT_FOUND 127    /* as shells: no such command */
#define RUN_EXIT_SIGNAL_BASE 128  /* as shells: 128 + signal number */
#define RUN_WAIT_DEFAULT_S 60     /* --wait default: time for the collector to finish */
#define RUN_WAIT_MAX_S 86400      /* one day; longer is surely a typo */
#define RUN_LEFTOVERS_NAMED 3     /* leftover processes named in the warning line */
#define RUN_COLLECTOR_COMM "ortho-collector" /* its kernel name (15 characters, all kept) */
#define RUN_TREE_DONE_SIGNAL SIGURG /* to a collector: no process of the tree is left */

/* Marks ortho-run as never traced (tracer/launch.h): with the library
 * preloaded into ortho-run itself and ORTHO_TRACE set, the library stays
 * off here, so the command starts the collector for -o, not ortho-run.
 * Exported by the link (tools/CMakeLists.txt). */
extern const int ortho_never_trace;
__attribute__((visibility("default"), used)) const int ortho_never_trace = 1;

/* What the command line asked for, validated. */
struct run_options {
    const char *db_path;    /* -o as given; NULL: the library's default name */
    bool full;              /* --full: ORTHO_TRACE=full */
    bool drop;              /* --drop: ORTHO_TRACE_OVERFLOW=drop */
    bool has_sample;        /* --sample given */
    uint64_t sample_bytes;  /* --sample, in bytes */
    int stacks_depth;       /* --stacks in frames; -1: not given */
    const char *lib_path;   /* --lib as given; NULL: search */
    unsigned wait_s;        /* --wait, seconds */
    char **command;         /* argv of the command, NULL-terminated */
};

/* The signals ortho-run takes with sigwaitinfo, and the mask to restore in
 * the command. */
struct run_signals {
    sigset_t waited;        /* blocked in ortho-run: SIGCHLD and the forwarded set */
    sigset_t forwarded;     /* of SIGTERM SIGHUP SIGINT SIGQUIT, those not inherited ignored */
    sigset_t original_mask; /* ortho-run's mask at start, given back to the command */
};

/* How the command and the wait for leftover processes went. */
struct run_outcome {
    pid_t command;          /* the command's pid; 0 once reaped */
    int command_status;     /* its wait status, valid once reaped */
    unsigned leftovers;     /* descendants still running when ortho-run gave up */
};

static const int run_forwarded_signals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT};

/* ---- messages ---------------------------------------------------------- */

/* Prints "ortho-run: <message>" as one line on stderr. */
static void run_say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("ortho-run: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

/* Prints one line and exits with 2: for anything wrong before the command
 * runs, so a script can tell "ortho-run refused" from the command's status. */
static _Noreturn void run_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("ortho-run: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(RUN_EXIT_USAGE);
}

static void run_print_help(void)
{
    printf("Usage: ortho-run [options] [--] command [args...]\n"
           "Run a command with liborthotope.so preloaded and allocation tracing on.\n"
           "\n"
           "  -o, --output PATH   trace database (default: the library's, a name from\n"
           "                      the program and pid in its working directory)\n"
           "      --full          store every allocation as a row (ORTHO_TRACE=full)\n"
           "      --sample BYTES  capture stacks for a sample by bytes, e.g. 512K\n"
           "                      (ORTHO_TRACE_SAMPLE)\n"
           "      --stacks DEPTH  frames per stack, 0 to %d (ORTHO_TRACE_STACKS)\n"
           "      --drop          never stall the program when a ring is full; count\n"
           "                      dropped records instead (ORTHO_TRACE_OVERFLOW=drop)\n"
           "      --lib PATH      liborthotope.so to preload (default: $ORTHO_LIB, then\n"
           "                      next to this program)\n"
           "      --wait SECONDS  after the command exits, wait this long for processes\n"
           "                      it left behind, such as the trace collector (default %d)\n"
           "  -h, --help          print this help\n"
           "      --version       print the version\n"
           "\n"
           "Exit status: the command's; 128+N if a signal N killed it; 127 if it was not\n"
           "found, 126 if it could not be run; 2 if ortho-run refused its options.\n",
           (int)options_find("ORTHO_TRACE_STACKS")->max_value, RUN_WAIT_DEFAULT_S);
}

/* ---- options ----------------------------------------------------------- */

/* Parses a whole number of at most max for option `name`; exits with a
 * usage line naming the option and the range otherwise. */
static uint64_t run_parse_bounded(const char *name, const char *text, uint64_t max)
{
    uint64_t value;
    if (!options_parse_number(text, false, &value))
        run_fail("%s \"%s\" is not a whole number; write e.g. %s 16", name, text, name);
    if (value > max)
        run_fail("%s %s is out of range; write a number from 0 to %llu", name, text,
                 (unsigned long long)max);
    return value;
}

/* Checks the value of an option that ortho-run passes on as env_name with
 * the library's own table, so both accept exactly the same values; exits
 * with a usage line naming the option otherwise. */
static uint64_t run_parse_traced(const char *name, const char *env_name, const char *text)
{
    const struct option_def *def = options_find(env_name);
    uint64_t value = 0;
    const char *why = NULL;
    if (def == NULL || !options_parse(def, text, &value, &why)) {
        if (def != NULL && def->kind == OPTION_BYTES) {
            struct report_line max; /* the library's own spelling of a size */
            report_begin(&max);
            report_bytes(&max, def->max_value);
            run_fail("%s \"%s\" %s; write a byte count up to %s, e.g. %s 512K", name, text, why,
                     max.text, name);
        }
        run_fail("%s \"%s\" %s; write a number from %llu to %llu", name, text,
                 why != NULL ? why : "is not accepted",
                 (unsigned long long)(def != NULL ? def->min_value : 0),
                 (unsigned long long)(def != NULL ? def->max_value : 0));
    }
    return value;
}

enum {
    RUN_OPT_FULL = 256, /* long-only options: values above any char */
    RUN_OPT_SAMPLE,
    RUN_OPT_STACKS,
    RUN_OPT_DROP,
    RUN_OPT_LIB,
    RUN_OPT_WAIT,
    RUN_OPT_VERSION,
};

static const struct option run_long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"full", no_argument, NULL, RUN_OPT_FULL},
    {"sample", required_argument, NULL, RUN_OPT_SAMPLE},
    {"stacks", required_argument, NULL, RUN_OPT_STACKS},
    {"drop", no_argument, NULL, RUN_OPT_DROP},
    {"lib", required_argument, NULL, RUN_OPT_LIB},
    {"wait", required_argument, NULL, RUN_OPT_WAIT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, RUN_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Applies one parsed option to `opt`. Exits for --help, --version and any
 * bad value. */
static void run_apply_option(int code, const char *arg, struct run_options *opt)
{
    switch (code) {
    case 'o':
        if (arg[0] == '\0')
            run_fail("-o needs a file name; write e.g. -o run.db");
        opt->db_path = arg;
        break;
    case RUN_OPT_FULL:
        opt->full = true;
        break;
    case RUN_OPT_SAMPLE:
        opt->sample_bytes = run_parse_traced("--sample", "ORTHO_TRACE_SAMPLE", arg);
        opt->has_sample = true;
        break;
    case RUN_OPT_STACKS:
        opt->stacks_depth = (int)run_parse_traced("--stacks", "ORTHO_TRACE_STACKS", arg);
        break;
    case RUN_OPT_DROP:
        opt->drop = true;
        break;
    case RUN_OPT_LIB:
        opt->lib_path = arg;
        break;
    case RUN_OPT_WAIT:
        opt->wait_s = (unsigned)run_parse_bounded("--wait", arg, RUN_WAIT_MAX_S);
        break;
    case 'h':
        run_print_help();
        exit(0);
    case RUN_OPT_VERSION:
        printf("ortho-run (Orthotope-C) %s\n", ORTHO_RUN_VERSION);
        exit(0);
    }
}

/* Fills `opt` from argv. Options end at "--" or at the first non-option
 * ("+" in the option string), so the command's own options are never ours.
 * Exits with 2 and one line on any mistake. */
static void run_parse_args(int argc, char **argv, struct run_options *opt)
{
    *opt = (struct run_options){.stacks_depth = -1, .wait_s = RUN_WAIT_DEFAULT_S};
    opterr = 0; /* getopt's own messages carry argv[0] and no advice: print ours */
    int code;
    while ((code = getopt_long(argc, argv, "+:o:h", run_long_options, NULL)) != -1) {
        if (code == '?') {
            if (optopt != 0)
                run_fail("unknown option -%c; see ortho-run --help", optopt);
            run_fail("unknown option %s; see ortho-run --help", argv[optind - 1]);
        }
        if (code == ':')
            run_fail("%s needs a value; see ortho-run --help", argv[optind - 1]);
        run_apply_option(code, optarg, opt);
    }
    if (optind >= argc)
        run_fail("no command given; usage: ortho-run [options] -- command [args...]");
    opt->command = argv + optind;
}

/* ---- paths and the library --------------------------------------------- */

/* strdup that exits with a line instead of returning NULL. */
static char *run_strdup(const char *text)
{
    char *copy = strdup(text);
    if (copy == NULL)
        run_fail("out of memory");
    return copy;
}

/* Returns `path` made absolute against the current directory (malloc'd),
 * without resolving symlinks or requiring it to exist. Exits if the current
 * directory cannot be named. */
static char *run_absolute(const char *path)
{
    if (path[0] == '/')
        return run_strdup(path);
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        run_fail("cannot name the current directory (%s); give absolute paths", strerror(errno));
    char *result;
    if (asprintf(&result, "%s/%s", cwd, path) < 0)
        run_fail("out of memory");
    free(cwd);
    return result;
}

/* Returns the absolute database path for -o, after checking that its
 * directory exists and that it is not itself a directory: the collector
 * could only fail later, and far from the user's eyes. */
static char *run_database_path(const char *given)
{
    char *path = run_absolute(given);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        run_fail("-o %s is a directory; name a file, e.g. -o %s/run.db", given, given);
    char *dir = run_strdup(path);
    *strrchr(dir, '/') = '\0';
    if (dir[0] != '\0' && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        run_fail("-o %s: directory %s does not exist; create it first", given, dir);
    free(dir);
    return path;
}

/* True if `path` names a readable regular file (or a symlink to one). */
static bool run_is_library_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Checks an explicitly named library (--lib or $ORTHO_LIB) and returns its
 * absolute path. A wrong explicit choice is an error rather than a reason to
 * fall back: silently tracing with another build would mislead. */
static char *run_explicit_library(const char *source, const char *path)
{
    if (!run_is_library_file(path))
        run_fail("%s%s: %s; pass the path of liborthotope.so", source, path,
                 access(path, F_OK) == 0 ? "not a readable file" : "no such file");
    return run_absolute(path);
}

/* Returns the directory above the one holding this executable (malloc'd),
 * e.g. P for P/bin/ortho-run, or NULL if /proc/self/exe cannot be read. */
static char *run_install_prefix(void)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return NULL;
    exe[len] = '\0';
    for (int i = 0; i < 2; i++) { /* drop "/ortho-run", then "/bin" */
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return NULL;
        *slash = '\0';
    }
    return run_strdup(exe);
}

/* Finds liborthotope.so: --lib, $ORTHO_LIB, the installed layout
 * (P/bin/ortho-run next to P/<libdir>), then the build tree (<build>/bin and
 * <build>/liballoc). Returns an absolute path (malloc'd); exits with 2 and a
 * line naming every place tried if there is none. */
static char *run_find_library(const char *lib_option)
{
    if (lib_option != NULL)
        return run_explicit_library("--lib ", lib_option);
    const char *env = getenv("ORTHO_LIB");
    if (env != NULL && env[0] != '\0')
        return run_explicit_library("ORTHO_LIB=", env);

    char *prefix = run_install_prefix();
    if (prefix == NULL)
        run_fail("cannot locate this executable (/proc/self/exe); pass --lib PATH");
    char *installed, *build_tree;
    if (ORTHO_RUN_LIBDIR[0] == '/')
        installed = run_strdup(ORTHO_RUN_LIBDIR "/" RUN_LIBRARY_NAME);
    else if (asprintf(&installed, "%s/%s/%s", prefix, ORTHO_RUN_LIBDIR, RUN_LIBRARY_NAME) < 0)
        run_fail("out of memory");
    if (asprintf(&build_tree, "%s/liballoc/%s", prefix, RUN_LIBRARY_NAME) < 0)
        run_fail("out of memory");
    free(prefix);

    if (run_is_library_file(installed)) {
        free(build_tree);
        return installed;
    }
    if (run_is_library_file(build_tree)) {
        free(installed);
        return build_tree;
    }
    run_fail("cannot find %s (ORTHO_LIB is not set; looked for %s and %s); pass --lib PATH",
             RUN_LIBRARY_NAME, installed, build_tree);
}

/* ---- environment ------------------------------------------------------- */

static void run_setenv(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0)
        run_fail("cannot set %s: %s", name, strerror(errno));
}

/* Puts `library` in front of any LD_PRELOAD already set, space-separated
 * (ld.so splits on spaces and colons), so our malloc is the one that binds
 * first while the user's own preloads still load. */
static void run_export_preload(const char *library)
{
    if (strpbrk(library, " :\t") != NULL)
        run_fail("library path %s contains a space or colon, which LD_PRELOAD cannot carry; "
                 "copy or link it to a plain path and pass --lib", library);
    const char *existing = getenv("LD_PRELOAD");
    if (existing == NULL || existing[0] == '\0') {
        run_setenv("LD_PRELOAD", library);
        return;
    }
    char *value;
    if (asprintf(&value, "%s %s", library, existing) < 0)
        run_fail("out of memory");
    run_setenv("LD_PRELOAD", value);
    free(value);
}

/* Exports what the command must see. Variables for options not given are
 * left as inherited, so a user's own ORTHO_TRACE_* settings still apply. */
static void run_export_environment(const struct run_options *opt, const char *library,
                                   const char *db_path)
{
    char number[32];
    run_setenv("ORTHO_TRACE", opt->full ? "full" : "1");
    /* A collector of an enclosing traced tree is not this run's: the
     * command starts its own, for this database. */
    unsetenv("ORTHO_TRACE_SOCK");
    if (db_path != NULL)
        run_setenv("ORTHO_TRACE_DB", db_path);
    if (opt->has_sample) {
        /* Exported in plain bytes so the value cannot be read two ways. */
        snprintf(number, sizeof number, "%llu", (unsigned long long)opt->sample_bytes);
        run_setenv("ORTHO_TRACE_SAMPLE", number);
    }
    if (opt->stacks_depth >= 0) {
        snprintf(number, sizeof number, "%d", opt->stacks_depth);
        run_setenv("ORTHO_TRACE_STACKS", number);
    }
    if (opt->drop)
        run_setenv("ORTHO_TRACE_OVERFLOW", "drop");
    /* ortho-run itself waits until the database is complete, so the
     * tree's programs need not each wait for their exit commit: that
     * wait, a round trip to the collector per image, was most of what an
     * exec loop paid for tracing. A user's own setting stands. */
    if (getenv("ORTHO_TRACE_EXIT") == NULL)
        run_setenv("ORTHO_TRACE_EXIT", "nowait");
    run_export_preload(library);
}

/* ---- signals ----------------------------------------------------------- */

/* Blocks the signals ortho-run waits for. A forwarded signal that ortho-run
 * inherited as ignored (nohup, or a background job of a non-interactive
 * shell, which ignores SIGINT and SIGQUIT) is left alone: it stays ignored,
 * and so the command inherits it ignored, as it would without ortho-run.
 * SIGCHLD goes back to its default, because an inherited SIG_IGN would make
 * the kernel reap children itself and waitpid could not report them. */
static void run_signals_setup(struct run_signals *sigs)
{
    sigemptyset(&sigs->forwarded);
    for (size_t i = 0; i < sizeof run_forwarded_signals / sizeof run_forwarded_signals[0]; i++) {
        struct sigaction current;
        if (sigaction(run_forwarded_signals[i], NULL, &current) == 0 &&
            current.sa_handler != SIG_IGN)
            sigaddset(&sigs->forwarded, run_forwarded_signals[i]);
    }
    signal(SIGCHLD, SIG_DFL);
    sigs->waited = sigs->forwarded;
    sigaddset(&sigs->waited, SIGCHLD);
    sigprocmask(SIG_BLOCK, &sigs->waited, &sigs->original_mask);
}

/* Whether a forwarded-set signal that reached ortho-run must be passed on to
 * the command. The danger is delivering it twice, because the ways these
 * signals arrive often reach the command directly as well:
 *  - From the terminal (^C, ^\, hangup), the kernel signals the whole
 *    foreground process group, and the command is in ortho-run's group; the
 *    kernel marks these si_code > 0 (SI_KERNEL). Not passed on, unless the
 *    command has left our process group and so was not reached.
 *  - A process that signals its own group (kill(0, sig)) reaches ortho-run
 *    too. Following sudo's exec_nopty: not passed on when the sender is the
 *    command itself, or sits in a group led by the command or by ortho-run
 *    (then that group holds only ortho-run's own tree).
 *  - Anything else, e.g. `kill PID` of ortho-run from a script or a service
 *    manager's SIGTERM, is passed on with kill(command, sig).
 * GNU timeout solves this differently (it runs the command in a new process
 * group and signals that group), which would take the terminal away from
 * interactive commands; env simply execs and never sees a signal. Accepted
 * weakness: a signal sent by an outsider to the whole group (kill -- -PGID)
 * reaches the command twice. */
static bool run_should_forward(pid_t command, const siginfo_t *info)
{
    if (info->si_code > 0)
        return getpgid(command) != getpgrp();
    if (info->si_pid <= 0 || info->si_pid == command)
        return info->si_pid <= 0;
    pid_t sender_group = getpgid(info->si_pid);
    if (sender_group == command || sender_group == getpid())
        return false;
    return true;
}

/* ---- the command ------------------------------------------------------- */

/* In the forked child: gives the command ortho-run's original signal mask,
 * then execs it. On failure reports errno through `report_fd` (closed by a
 * successful exec, being O_CLOEXEC) and exits 127; never returns. */
static _Noreturn void run_exec_child(char **command, const struct run_signals *sigs,
                                     int report_fd)
{
    sigprocmask(SIG_SETMASK, &sigs->original_mask, NULL);
    execvp(command[0], command);
    int error = errno;
    ssize_t written = write(report_fd, &error, sizeof error);
    (void)written; /* nothing better to do: the parent then sees an exit of 127 */
    _exit(RUN_EXIT_NOT_FOUND);
}

/* Starts the command. Returns its pid, or, when it could not be executed,
 * reaps the child, prints one line and exits with 127 (not found) or 126 (as
 * shells do). The exec error comes back through a close-on-exec pipe: an end
 * of file means the exec succeeded. */
static pid_t run_spawn(char **command, const struct run_signals *sigs)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        run_fail("cannot create a pipe: %s", strerror(errno));
    pid_t child = fork();
    if (child < 0)
        run_fail("cannot fork: %s", strerror(errno));
    if (child == 0) {
        close(report[0]);
        run_exec_child(command, sigs, report[1]);
    }
    close(report[1]);
    int error = 0;
    ssize_t got;
    do
        got = read(report[0], &error, sizeof error);
    while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got != (ssize_t)sizeof error)
        return child;

    while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
        ;
    if (error == ENOENT) {
        run_say(strchr(command[0], '/') != NULL ? "%s: no such file"
                                                : "%s: command not found (not in PATH)",
                command[0]);
        exit(RUN_EXIT_NOT_FOUND);
    }
    run_say("cannot run %s: %s", command[0], strerror(error));
    exit(RUN_EXIT_CANNOT_EXEC);
}

/* Reaps every child that has exited, without blocking; records the
 * command's status in `out` when it is among them. Returns true while
 * children (and so possibly other descendants) remain. */
static bool run_reap_ready(struct run_outcome *out)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            if (pid == out->command) {
                out->command_status = status;
                out->command = 0;
            }
            continue;
        }
        if (pid == 0)
            return true;
        if (errno == EINTR)
            continue;
        return false; /* ECHILD: no children, hence no descendants at all */
    }
}

/* Waits until the command exits, passing signals on as run_should_forward
 * decides. Orphans that die meanwhile are reaped on the way. */
static void run_supervise(struct run_outcome *out, const struct run_signals *sigs)
{
    while (out->command != 0) {
        siginfo_t info;
        int sig = sigwaitinfo(&sigs->waited, &info);
        if (sig < 0)
            continue; /* EINTR: e.g. stopped and continued */
        if (sig == SIGCHLD)
            run_reap_ready(out);
        else if (run_should_forward(out->command, &info))
            kill(out->command, sig);
    }
}

/* ---- leftover processes ------------------------------------------------ */

/* One process from /proc, enough to walk the tree and name it. */
struct run_proc {
    pid_t pid;
    pid_t ppid;
    char comm[17]; /* kernel comm: up to 15 characters */
};

static int run_proc_compare(const void *a, const void *b)
{
    pid_t x = ((const struct run_proc *)a)->pid, y = ((const struct run_proc *)b)->pid;
    return (x > y) - (x < y);
}

/* Reads pid, parent and name from /proc/PID/stat. The name is in
 * parentheses and may itself hold ") ", so the fields after it are found
 * from the last ')'. Returns false if the process is gone. */
static bool run_proc_read(pid_t pid, struct run_proc *proc)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return false;
    bool ok = fgets(line, sizeof line, file) != NULL;
    fclose(file);
    char *open = ok ? strchr(line, '(') : NULL;
    char *close = ok ? strrchr(line, ')') : NULL;
    int ppid;
    if (open == NULL || close == NULL || close < open || sscanf(close + 2, "%*c %d", &ppid) != 1)
        return false;
    size_t len = (size_t)(close - open - 1);
    if (len >= sizeof proc->comm)
        len = sizeof proc->comm - 1;
    memcpy(proc->comm, open + 1, len);
    proc->comm[len] = '\0';
    proc->pid = pid;
    proc->ppid = (pid_t)ppid;
    return true;
}

/* A growing list of processes: procs[0..count), room for capacity. */
struct run_proc_set {
    struct run_proc *procs;
    size_t count, capacity;
};

/* Appends pid (read from /proc) unless it is gone; false only when
 * memory runs out. */
static bool run_proc_push(struct run_proc_set *set, pid_t pid)
{
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? set->capacity * 2 : 64;
        struct run_proc *grown = realloc(set->procs, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        set->procs = grown;
        set->capacity = capacity;
    }
    if (run_proc_read(pid, &set->procs[set->count]))
        set->count++;
    return true;
}

/* Adds the children of every thread of pid, from the kernel's
 * /proc/PID/task/TID/children, each once. false: memory ran out; a
 * process or thread gone meanwhile just has no children. */
static bool run_proc_add_children(struct run_proc_set *set, pid_t pid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return true; /* gone */
    bool ok = true;
    struct dirent *task;
    while (ok && (task = readdir(tasks)) != NULL) {
        if (task->d_name[0] < '0' || task->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, task->d_name);
        FILE *file = fopen(path, "r");
        if (file == NULL)
            continue;
        int child;
        while (ok && fscanf(file, "%d", &child) == 1) {
            bool listed = child <= 0;
            for (size_t i = 0; i < set->count && !listed; i++)
                listed = set->procs[i].pid == child;
            ok = listed || run_proc_push(set, (pid_t)child);
        }
        fclose(file);
    }
    closedir(tasks);
    return ok;
}

/* Lists ortho-run's descendants into set, generation by generation from
 * its own children: a cost that follows the tree, not the machine (a
 * shared host's thousands of processes each cost three system calls of
 * the full scan, at every child that ends). false: the kernel cannot say
 * (no children files), or memory ran out. */
static bool run_proc_tree(struct run_proc_set *set)
{
    char own[64]; /* ortho-run's own main thread: there unless the kernel lacks the files */
    snprintf(own, sizeof own, "/proc/self/task/%d/children", (int)getpid());
    if (access(own, R_OK) != 0)
        return false;
    bool ok = run_proc_add_children(set, getpid());
    for (size_t i = 0; ok && i < set->count; i++)
        ok = run_proc_add_children(set, set->procs[i].pid);
    return ok;
}

/* Lists every process on the system into set, as far as memory lasts. */
static void run_proc_scan(struct run_proc_set *set)
{
    DIR *dir = opendir("/proc");
    if (dir == NULL)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        if (!run_proc_push(set, (pid_t)pid))
            break;
    }
    closedir(dir);
}

/* Lists ortho-run's descendants (malloc'd, sorted by pid), or, on a
 * kernel without children files, every process on the system, among
 * which run_mark_descendants finds them; *count gets the length. NULL
 * (with *count 0) when there is none or /proc cannot be read. */
static struct run_proc *run_proc_list(size_t *count)
{
    struct run_proc_set set = {0};
    if (!run_proc_tree(&set)) {
        free(set.procs);
        set = (struct run_proc_set){0};
        run_proc_scan(&set);
    }
    if (set.count > 0)
        qsort(set.procs, set.count, sizeof *set.procs, run_proc_compare);
    *count = set.count;
    return set.procs;
}

/* Marks in mine[] (count entries, false at first) ortho-run's living
 * descendants among procs (sorted by pid): the tree outward from ortho-run,
 * one generation per pass, until a pass adds nobody. Returns how many. */
static size_t run_mark_descendants(const struct run_proc *procs, size_t count, bool *mine)
{
    pid_t self = getpid();
    size_t found = 0;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < count; i++) {
            if (mine[i])
                continue;
            struct run_proc key = {.pid = procs[i].ppid};
            struct run_proc *parent = bsearch(&key, procs, count, sizeof *procs,
                                              run_proc_compare);
            if (procs[i].ppid != self && (parent == NULL || !mine[parent - procs]))
                continue;
            mine[i] = grew = true;
            found++;
        }
    }
    return found;
}

/* Counts ortho-run's living descendants and names the first few in `names`
 * ("pid comm, ..."). */
static unsigned run_count_descendants(char *names, size_t names_size)
{
    size_t count;
    struct run_proc *procs = run_proc_list(&count);
    bool *mine = calloc(count + 1, sizeof *mine);
    unsigned found = 0;
    names[0] = '\0';
    if (procs != NULL && mine != NULL) {
        run_mark_descendants(procs, count, mine);
        for (size_t i = 0; i < count; i++) {
            if (!mine[i] || found++ >= RUN_LEFTOVERS_NAMED)
                continue;
            size_t used = strlen(names);
            snprintf(names + used, names_size - used, "%spid %d %s", used ? ", " : "",
                     (int)procs[i].pid, procs[i].comm);
        }
    }
    free(mine);
    free(procs);
    return found;
}

/* Once the command has exited and every descendant left is a trace
 * collector, no process of the tree is left to start or register
 * anything: tells each collector so (RUN_TREE_DONE_SIGNAL), and it exits
 * as soon as every image's end is committed instead of lingering for
 * latecomers (100 ms, a tenth of a second run). SIGURG is ignored by
 * default, so a collector that does not know the hint is unharmed.
 * Returns whether the hint went out. */
static bool run_hint_collectors(void)
{
    size_t count;
    struct run_proc *procs = run_proc_list(&count);
    bool *mine = calloc(count + 1, sizeof *mine);
    bool only_collectors = false;
    if (procs != NULL && mine != NULL && run_mark_descendants(procs, count, mine) > 0) {
        only_collectors = true;
        for (size_t i = 0; i < count && only_collectors; i++)
            only_collectors = !mine[i] || strcmp(procs[i].comm, RUN_COLLECTOR_COMM) == 0;
        for (size_t i = 0; i < count && only_collectors; i++)
            if (mine[i])
                kill(procs[i].pid, RUN_TREE_DONE_SIGNAL);
    }
    free(mine);
    free(procs);
    return only_collectors;
}

/* Milliseconds left until `deadline` (CLOCK_MONOTONIC), 0 if past. */
static long long run_ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                   (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

/* After the command has exited: reaps descendants as they end (orphans are
 * re-parented to ortho-run, the subreaper) until none remain, `wait_s`
 * passes, or a forwarded-set signal arrives (the user wants out now; the
 * leftovers are not signalled, since the collector among them may still be
 * writing the database). If some remain, prints one line naming them and
 * sets out->leftovers. */
static void run_drain(struct run_outcome *out, const struct run_signals *sigs, unsigned wait_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_s;
    int interrupted_by = 0; /* the signal that ended the wait; 0: time ran out */
    bool remaining, hinted = false;
    while ((remaining = run_reap_ready(out))) {
        if (!hinted)
            hinted = run_hint_collectors();
        long long ms = run_ms_until(&deadline);
        if (ms == 0)
            break;
        struct timespec timeout = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
        siginfo_t info;
        int sig = sigtimedwait(&sigs->waited, &info, &timeout);
        if (sig > 0 && sig != SIGCHLD) {
            interrupted_by = sig;
            break;
        }
    }
    if (!remaining)
        return;
    char names[256];
    out->leftovers = run_count_descendants(names, sizeof names);
    if (out->leftovers == 0)
        return; /* the last one ended just now */
    const char *more = out->leftovers > RUN_LEFTOVERS_NAMED ? ", ..." : "";
    const char *plural = out->leftovers == 1 ? "" : "es";
    if (interrupted_by != 0)
        run_say("stopped waiting on SIG%s; %u process%s still running (%s%s); the trace "
                "database may still be being written",
                sigabbrev_np(interrupted_by), out->leftovers, plural, names, more);
    else
        run_say("%u process%s still running after waiting %u s (%s%s); the trace database "
                "may still be being written; pass --wait SECONDS to wait longer",
                out->leftovers, plural, wait_s, names, more);
}

/* ---- end of run -------------------------------------------------------- */

/* Says where the database is if it was written during this run (a file
 * left from an earlier run with the same name does not count). */
static void run_report_database(const char *db_path, const struct timespec *started,
                                unsigned leftovers)
{
    struct stat st;
    if (db_path == NULL)
        return;
    bool written = stat(db_path, &st) == 0 &&
                   (st.st_mtim.tv_sec > started->tv_sec ||
                    (st.st_mtim.tv_sec == started->tv_sec &&
                     st.st_mtim.tv_nsec >= started->tv_nsec));
    if (written)
        run_say("trace database: %s", db_path);
    else if (leftovers == 0)
        run_say("no trace database was written to %s (a static or setuid program is out of "
                "LD_PRELOAD's reach; otherwise see the messages above)", db_path);
}

/* The shell convention: the exit status, or 128 + the killing signal. */
static int run_exit_code(int status)
{
    if (WIFSIGNALED(status))
        return RUN_EXIT_SIGNAL_BASE + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    struct run_options opt;
    run_parse_args(argc, argv, &opt);
    char *library = run_find_library(opt.lib_path);
    /* Absolute, because the command (or the collector, which daemonizes
     * and so leaves for "/") may change directory before opening it. */
    char *db_path = opt.db_path != NULL ? run_database_path(opt.db_path) : NULL;
    run_export_environment(&opt, library, db_path);

    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    struct run_signals sigs;
    run_signals_setup(&sigs);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        run_say("cannot become a subreaper (%s); ortho-run may return before the trace "
                "database is complete", strerror(errno));

    struct run_outcome out = {.command = run_spawn(opt.command, &sigs)};
    run_supervise(&out, &sigs);
    run_drain(&out, &sigs, opt.wait_s);
    run_report_database(db_path, &started, out.leftovers);
    free(db_path);
    free(library);
    return run_exit_code(out.command_status);
}
