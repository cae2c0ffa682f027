/* main.c - ortho-top's command line: parses the options, opens and
 * validates the database and reads the model, all before the terminal is
 * touched, so a missing file, a file that is no trace, a newer schema or
 * an empty run ends with one line on stderr and a non-zero exit and never a
 * garbled terminal. Then it prints one screen (--batch) or runs the
 * interactive viewer (ui.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "batch.h"
#include "describe.h"
#include "safetext.h"
#include "tracedb.h"
#include "ui.h"

#define TOP_EXIT_USAGE 2   /* bad command line */
#define TOP_EXIT_INPUT 1   /* the database cannot be shown */

static const char top_usage[] =
    "usage: ortho-top [--batch] [--screen NAME] [--process ID|all] [--at SECONDS|start|end|peak]\n"
    "                 [--sort COLUMN] [--reverse] [--filter TEXT] DATABASE\n"
    "  Shows a trace database (ORTHO_TRACE_DB, ortho-run -o): live while the traced\n"
    "  program runs, as a replay afterwards. Screens: classes, fragmentation, sites,\n"
    "  threads, corruption. --batch prints one screen as text and exits. Press ? for keys.\n";

struct top_args {
    const char *path;
    bool batch;
    const char *screen, *process, *at, *sort, *filter;
    bool reverse;
};

/* One line on stderr, made safe to print as a whole (it may quote a path,
 * an argument or a name from the database). */
static void top_say(const char *line)
{
    char shown[4 * TOP_LINE_BYTES];
    fprintf(stderr, "ortho-top: %s\n", safetext_copy(shown, sizeof shown, line));
}

static int top_usage_error(const char *fmt, const char *what)
{
    char line[TOP_LINE_BYTES];
    int n = snprintf(line, sizeof line, fmt, what);
    if (n >= 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, "; see ortho-top --help");
    top_say(line);
    return -1;
}

static int top_parse_args(int argc, char **argv, struct top_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **value = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(top_usage, stdout);
            exit(0);
        } else if (strcmp(arg, "--batch") == 0 || strcmp(arg, "-b") == 0) {
            a->batch = true;
        } else if (strcmp(arg, "--reverse") == 0) {
            a->reverse = true;
        } else if (strcmp(arg, "--screen") == 0) {
            value = &a->screen;
        } else if (strcmp(arg, "--process") == 0) {
            value = &a->process;
        } else if (strcmp(arg, "--at") == 0) {
            value = &a->at;
        } else if (strcmp(arg, "--sort") == 0) {
            value = &a->sort;
        } else if (strcmp(arg, "--filter") == 0) {
            value = &a->filter;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return top_usage_error("unknown option %s", arg);
        } else if (a->path != NULL) {
            return top_usage_error("one database at a time (also got %s)", arg);
        } else {
            a->path = arg;
        }
        if (value != NULL) {
            if (i + 1 >= argc)
                return top_usage_error("%s needs a value", arg);
            *value = argv[++i];
        }
    }
    if (a->path == NULL)
        return top_usage_error("%s", "give the trace database to show (ortho-top run.db)");
    return 0;
}

/* Resolves --screen, --sort, --process and --at against the model. */
static int top_resolve(const struct top_args *a, const struct top_model *m,
                       const struct top_screen **screen, int *sort_col, int *selection,
                       int64_t *at_ns, const char **note)
{
    *screen = top_screen_named(a->screen != NULL ? a->screen : "classes");
    if (*screen == NULL)
        return top_usage_error("--screen %s is not a screen (classes, fragmentation, sites, "
                               "threads, corruption)", a->screen);
    *sort_col = -1;
    if (a->sort != NULL) {
        for (int c = 0; c < (*screen)->column_count; c++)
            if (strcasecmp((*screen)->columns[c].title, a->sort) == 0)
                *sort_col = c;
        if (*sort_col < 0)
            return top_usage_error("--sort %s is not a column of this screen", a->sort);
    }
    *selection = TOP_ALL_PROCESSES;
    if (a->process != NULL && strcmp(a->process, "all") != 0) {
        char *end;
        long long id = strtoll(a->process, &end, 10);
        *selection = *end == '\0' ? top_model_find_process(m, id) : -1;
        if (*selection < 0)
            return top_usage_error("--process %s is not a process_id of this database "
                                   "(see the processes table, or use all)", a->process);
    }
    *at_ns = 0;
    *note = "";
    if (a->at != NULL && strcmp(a->at, "end") != 0) {
        if (strcmp(a->at, "start") == 0) {
            *at_ns = top_model_begin_ns(m);
        } else if (strcmp(a->at, "peak") == 0) {
            *at_ns = top_snapshot_peak_ns(m, *selection);
            *note = "(peak)";
        } else {
            char *end;
            double s = strtod(a->at, &end);
            if (*end != '\0' || end == a->at || s < 0)
                return top_usage_error("--at %s is not a time; give seconds since the start, "
                                       "start, end or peak", a->at);
            *at_ns = top_model_begin_ns(m) + (int64_t)(s * 1e9);
        }
        if (*at_ns == 0)
            *at_ns = 1;  /* 0 means "follow the end" to the viewer */
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct top_args args;
    if (top_parse_args(argc, argv, &args) != 0)
        return TOP_EXIT_USAGE;
    char err[TOP_LINE_BYTES];
    struct tracedb db;
    if (tracedb_open(&db, args.path, err, sizeof err) != 0) {
        top_say(err);
        return TOP_EXIT_INPUT;
    }
    struct top_model model;
    if (top_model_open(&model, &db, err, sizeof err) != 0) {
        top_say(err);
        tracedb_close(&db);
        return TOP_EXIT_INPUT;
    }
    /* The path as the screens print it: a name like any other. */
    char shown_path[4 * TOP_LINE_BYTES];
    safetext_copy(shown_path, sizeof shown_path, args.path);
    const struct top_screen *screen = top_screens;
    int sort_col = -1, selection = TOP_ALL_PROCESSES, status = 0;
    int64_t at_ns = 0;
    const char *note = "";
    if (top_resolve(&args, &model, &screen, &sort_col, &selection, &at_ns, &note) != 0) {
        status = TOP_EXIT_USAGE;
    } else if (args.batch) {
        struct top_snapshot snap = {0};
        int64_t at = at_ns != 0 ? at_ns : top_model_data_end_ns(&model);
        bool descending = sort_col >= 0 ? screen->columns[sort_col].kind == TOP_COL_NUMBER
                                        : screen->default_descending;
        struct top_batch_options opt = {screen, sort_col, descending != args.reverse, args.filter,
                                        shown_path, at_ns == 0 ? "(end)" : note};
        /* The sites screen: the database ranks and filters the sites. */
        struct top_site_query q;
        top_screen_site_query(screen, sort_col, opt.descending, args.filter,
                              selection == TOP_ALL_PROCESSES ? 0 : model.procs[selection].process_id,
                              &q);
        if (top_model_set_site_query(&model, &q) && top_model_refresh(&model, err, sizeof err) != 0) {
            top_say(err);
            status = TOP_EXIT_INPUT;
        } else if (top_snapshot_take(&snap, &model, selection, at) != 0 ||
                   top_batch_print(stdout, &model, &snap, &opt) != 0 || fflush(stdout) != 0) {
            top_say("cannot print the screen (out of memory or output closed)");
            status = TOP_EXIT_INPUT;
        }
        top_snapshot_free(&snap);
    } else {
        struct top_ui_options opt = {shown_path, (int)(screen - top_screens), selection, at_ns,
                                     sort_col, args.filter};
        int rc = top_ui_run(&model, &opt, err, sizeof err);
        if (rc < 0) {
            top_say(err);
            status = TOP_EXIT_INPUT;
        } else if (rc > 0) {
            /* Ended by SIGTERM/SIGHUP: the terminal is restored; die of it. */
            top_model_free(&model);
            tracedb_close(&db);
            signal(rc, SIG_DFL);
            raise(rc);
            return 128 + rc;
        }
    }
    top_model_free(&model);
    tracedb_close(&db);
    return status;
}
