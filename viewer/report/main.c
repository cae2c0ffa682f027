/* main.c - ortho-report's command line: reads the options, loads the
 * trace database(s) into the model, and hands the model to the formatters
 * the options ask for. It owns the exit status: 0 when the report was
 * made, 1 when a --fail-on-* gate found what it gates on (the report is
 * still printed), 2 when nothing could be reported (bad options, a file
 * that is not a usable trace, a stack output from a run without stacks),
 * always with one line on stderr saying what is wrong and what to do. */
#define _GNU_SOURCE

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "format.h"
#include "gzip_out.h"
#include "model.h"
#include "outfile.h"
#include "safetext.h"
#include "units.h"
#include "weights.h"
#include "whatif.h"

#ifndef ORTHO_REPORT_VERSION
#define ORTHO_REPORT_VERSION "unknown"
#endif

#define REPORT_EXIT_OK 0
#define REPORT_EXIT_GATE 1   /* --fail-on-leaks / --fail-on-corruption found something */
#define REPORT_EXIT_USAGE 2  /* nothing reported */
#define REPORT_TOP_DEFAULT 10
#define REPORT_TOP_MAX 100000
#define REPORT_FRAMES_SHOWN 8      /* frames per stack in the text */
#define REPORT_SUGGEST_MAX CLASS_TABLE_MAX /* --suggest-classes: what ORTHO_CLASSES accepts */
#define REPORT_ERR 1024

#define REPORT_SUPPRESSION_FILES 16 /* --suppressions given more often is a mistake */

struct report_args {
    unsigned sections;          /* FORMAT_* bits; 0: none asked */
    bool json;
    size_t top;
    bool all;                   /* --all: every corruption group and stored event */
    bool fail_on_leaks, fail_on_corruption;
    const char *flamegraph, *folded, *pprof;
    int weight;                 /* enum weight_kind; -1: not given */
    bool diff;
    const char *what_if;
    size_t suggest;             /* 0: not asked */
    const char *output;         /* --output: where the suggested table goes */
    const char *paths[2];
    int path_count;
    bool no_default_suppressions;
    const char *suppression_files[REPORT_SUPPRESSION_FILES];
    int suppression_file_count;
};

/* One line on stderr, made safe to print as a whole: it may quote a path
 * or an option the user gave, or a name from the database. */
static void report_say(const char *format, va_list args)
{
    char line[REPORT_ERR + 512], shown[4 * (REPORT_ERR + 512)];
    vsnprintf(line, sizeof line, format, args);
    fprintf(stderr, "ortho-report: %s\n", safetext_copy(shown, sizeof shown, line));
}

static _Noreturn void report_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    report_say(format, args);
    va_end(args);
    exit(REPORT_EXIT_USAGE);
}

static void report_warn(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    report_say(format, args);
    va_end(args);
}

static void report_help(void)
{
    printf("Usage: ortho-report [options] RUN.db\n"
           "       ortho-report --diff BASE.db NEW.db\n"
           "Report what a traced run allocated, leaked and corrupted, from its trace database.\n"
           "\n"
           "Report (default: all sections):\n"
           "      --leaks              only the leaks, with their stacks\n"
           "      --sites              only the top allocation sites\n"
           "      --classes            only the size classes\n"
           "      --corruption         only the corruption events\n"
           "      --format text|json   text for people (default), JSON for scripts\n"
           "      --top N              rows per top-sites table, corruption groups and events\n"
           "                           listed (default %d)\n"
           "      --all                list every corruption group and stored event\n"
           "      --fail-on-leaks      exit 1 if any block was still live at exit (but for\n"
           "                           the C runtime's own, and --suppressions')\n"
           "      --suppressions FILE  set apart the leaks FILE's rules match (site:PATTERN,\n"
           "                           frame:PATTERN; may be given again)\n"
           "      --no-default-suppressions\n"
           "                           report the C runtime's own blocks as leaks too\n"
           "      --fail-on-corruption exit 1 if any corruption event was recorded\n"
           "Exports (need a run traced with stacks):\n"
           "      --flamegraph FILE    interactive SVG flame graph\n"
           "      --folded FILE        folded stacks for other flame-graph tools (- : stdout)\n"
           "      --weight W           what the flame graph weighs: alloc-bytes (default),\n"
           "                           live-bytes (at exit) or allocs\n"
           "      --pprof FILE         gzipped pprof heap profile (go tool pprof FILE)\n"
           "Comparisons:\n"
           "      --diff               compare two runs: classes, sites, leaks, corruption\n"
           "      --what-if TABLE      waste under the class sizes listed in file TABLE\n"
           "      --suggest-classes N  the N-class table with the least waste for this run\n"
           "      --output FILE        with --suggest-classes: write the table to FILE, for\n"
           "                           ORTHO_CLASSES=@FILE\n"
           "  -h, --help               print this help\n"
           "      --version            print the version\n"
           "\n"
           "Exit status: 0 reported; 1 a --fail-on-* gate tripped (with --diff: the new run\n"
           "leaks or corrupts more than the base); 2 nothing could be reported.\n",
           REPORT_TOP_DEFAULT);
}

/* A whole number in [1, max] for option `name`, or a usage line. */
static size_t report_number(const char *name, const char *text, size_t max)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || end == text || *end != '\0' || v < 1 || v > max)
        report_fail("%s \"%s\" is not a whole number from 1 to %zu; write e.g. %s 12", name, text,
                    max, name);
    return (size_t)v;
}

enum {
    OPT_LEAKS = 256, OPT_SITES, OPT_CLASSES, OPT_CORRUPTION, OPT_FORMAT, OPT_TOP, OPT_ALL,
    OPT_FAIL_LEAKS, OPT_FAIL_CORRUPTION, OPT_FLAMEGRAPH, OPT_FOLDED, OPT_WEIGHT, OPT_PPROF,
    OPT_DIFF, OPT_WHAT_IF, OPT_SUGGEST, OPT_OUTPUT, OPT_VERSION, OPT_SUPPRESSIONS, OPT_NO_DEFAULT_SUPPRESSIONS,
};

static const struct option report_options[] = {
    {"leaks", no_argument, NULL, OPT_LEAKS},
    {"sites", no_argument, NULL, OPT_SITES},
    {"classes", no_argument, NULL, OPT_CLASSES},
    {"corruption", no_argument, NULL, OPT_CORRUPTION},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"top", required_argument, NULL, OPT_TOP},
    {"all", no_argument, NULL, OPT_ALL},
    {"fail-on-leaks", no_argument, NULL, OPT_FAIL_LEAKS},
    {"fail-on-corruption", no_argument, NULL, OPT_FAIL_CORRUPTION},
    {"flamegraph", required_argument, NULL, OPT_FLAMEGRAPH},
    {"folded", required_argument, NULL, OPT_FOLDED},
    {"weight", required_argument, NULL, OPT_WEIGHT},
    {"pprof", required_argument, NULL, OPT_PPROF},
    {"diff", no_argument, NULL, OPT_DIFF},
    {"what-if", required_argument, NULL, OPT_WHAT_IF},
    {"suggest-classes", required_argument, NULL, OPT_SUGGEST},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"suppressions", required_argument, NULL, OPT_SUPPRESSIONS},
    {"no-default-suppressions", no_argument, NULL, OPT_NO_DEFAULT_SUPPRESSIONS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void report_parse(struct report_args *a, int argc, char **argv)
{
    *a = (struct report_args){.top = REPORT_TOP_DEFAULT, .weight = -1};
    opterr = 0; /* our own one-line messages */
    int c;
    while ((c = getopt_long(argc, argv, ":h", report_options, NULL)) != -1) {
        switch (c) {
        case OPT_LEAKS: a->sections |= FORMAT_LEAKS; break;
        case OPT_SITES: a->sections |= FORMAT_SITES; break;
        case OPT_CLASSES: a->sections |= FORMAT_CLASSES; break;
        case OPT_CORRUPTION: a->sections |= FORMAT_CORRUPTION; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") == 0)
                a->json = true;
            else if (strcmp(optarg, "text") != 0)
                report_fail("--format \"%s\" is not a format; write --format text or --format json",
                            optarg);
            break;
        case OPT_TOP: a->top = report_number("--top", optarg, REPORT_TOP_MAX); break;
        case OPT_ALL: a->all = true; break;
        case OPT_FAIL_LEAKS: a->fail_on_leaks = true; break;
        case OPT_FAIL_CORRUPTION: a->fail_on_corruption = true; break;
        case OPT_FLAMEGRAPH: a->flamegraph = optarg; break;
        case OPT_FOLDED: a->folded = optarg; break;
        case OPT_WEIGHT:
            a->weight = weight_parse(optarg);
            if (a->weight < 0)
                report_fail("--weight \"%s\" is not a weight; write alloc-bytes, live-bytes or "
                            "allocs",
                            optarg);
            break;
        case OPT_PPROF: a->pprof = optarg; break;
        case OPT_DIFF: a->diff = true; break;
        case OPT_WHAT_IF: a->what_if = optarg; break;
        case OPT_SUGGEST:
            a->suggest = report_number("--suggest-classes", optarg, REPORT_SUGGEST_MAX);
            break;
        case OPT_OUTPUT: a->output = optarg; break;
        case OPT_SUPPRESSIONS:
            if (a->suppression_file_count == REPORT_SUPPRESSION_FILES)
                report_fail("--suppressions given more than %d times; put the rules in fewer files",
                            REPORT_SUPPRESSION_FILES);
            a->suppression_files[a->suppression_file_count++] = optarg;
            break;
        case OPT_NO_DEFAULT_SUPPRESSIONS: a->no_default_suppressions = true; break;
        case 'h': report_help(); exit(REPORT_EXIT_OK);
        case OPT_VERSION: printf("ortho-report %s\n", ORTHO_REPORT_VERSION); exit(REPORT_EXIT_OK);
        case ':': report_fail("%s needs a value; see ortho-report --help", argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < 256)
                report_fail("unknown option -%c; see ortho-report --help", optopt);
            report_fail("unknown option %s; see ortho-report --help", argv[optind - 1]);
        }
    }
    int wanted = a->diff ? 2 : 1;
    int given = argc - optind;
    if (given != wanted) {
        if (a->diff)
            report_fail("--diff compares two trace databases, %d given; write ortho-report --diff "
                        "BASE.db NEW.db",
                        given);
        if (given == 0)
            report_fail("no trace database given; write ortho-report RUN.db (see --help)");
        report_fail("one trace database at a time, %d given (\"%s\" ...); to compare two, use "
                    "--diff",
                    given, argv[optind + 1]);
    }
    for (int i = 0; i < given; i++)
        a->paths[a->path_count++] = argv[optind + i];
    bool exports = a->flamegraph || a->folded || a->pprof;
    if (a->diff && (exports || a->what_if || a->suggest))
        report_fail("--diff cannot be combined with --flamegraph, --folded, --pprof, --what-if or "
                    "--suggest-classes; run them on one database");
    if (a->diff && a->sections)
        report_fail("--diff reports classes, sites, leaks and corruption together; drop the "
                    "section options");
    if (a->output && !a->suggest)
        report_fail("--output writes the table --suggest-classes computes; add --suggest-classes N");
    if (a->output && strcmp(a->output, "-") == 0 && a->sections)
        report_fail("--output - writes the table to stdout; give it a file to print sections too");
    if (a->weight >= 0 && !a->flamegraph && !a->folded)
        report_fail("--weight applies to --flamegraph and --folded; add one of them");
    if (a->json && a->sections && (a->what_if || a->suggest))
        report_fail("--format json prints one document: ask for --what-if/--suggest-classes or "
                    "for sections, in two runs of ortho-report");
    if (a->folded && strcmp(a->folded, "-") == 0 && a->sections)
        report_fail("--folded - writes the stacks to stdout; give it a file to print sections too");
    if (a->weight < 0)
        a->weight = WEIGHT_ALLOC_BYTES;
}

/* The suppression rules the options ask for: the built-in ones unless
 * --no-default-suppressions, then each --suppressions file in order. */
static void report_suppressions(const struct report_args *a, struct suppress_list *list)
{
    char err[REPORT_ERR];
    *list = (struct suppress_list){0};
    if (!a->no_default_suppressions)
        suppress_builtin(list);
    for (int i = 0; i < a->suppression_file_count; i++) {
        if (suppress_read(list, a->suppression_files[i], err, sizeof err) != 0)
            report_fail("%s", err);
    }
}

static void report_load(struct model *m, const char *path, const struct suppress_list *rules)
{
    char err[REPORT_ERR];
    if (model_load_path(m, path, rules, err, sizeof err) != 0) {
        model_free(m);
        report_fail("%s", err);
    }
}

/* The exports; every failure ends the program with its line. */
static void report_exports(const struct report_args *a, const struct model *m)
{
    char err[REPORT_ERR];
    if (!a->flamegraph && !a->folded && !a->pprof)
        return;
    const char *why = model_no_stacks_reason(m);
    if (why != NULL)
        report_fail("%s: %s", m->path, why);
    if (a->flamegraph && format_svg(a->flamegraph, m, a->weight, err, sizeof err) != 0)
        report_fail("%s", err);
    if (a->folded && format_folded(a->folded, m, a->weight, err, sizeof err) != 0)
        report_fail("%s", err);
    if (a->pprof) {
        if (format_pprof(a->pprof, m, err, sizeof err) != 0)
            report_fail("%s", err);
        if (!gzip_out_available())
            report_warn("%s is not gzipped (built without zlib); pprof reads it as it is",
                        a->pprof);
    }
}

/* The gates of a single run: a one-line reason on stderr for each that trips. */
static int report_gates(const struct report_args *a, const struct model *m)
{
    char bytes[UNITS_BUF];
    int status = REPORT_EXIT_OK;
    if (a->fail_on_leaks && model_total_leak_blocks(m) > 0) {
        report_warn("%s: %lld blocks (%s) were still live at exit, from %zu sites; "
                    "failing as --fail-on-leaks asks",
                    m->path, (long long)model_total_leak_blocks(m),
                    units_bytes(bytes, sizeof bytes, (double)model_total_leak_bytes(m)),
                    m->leak_site_count);
        status = REPORT_EXIT_GATE;
    }
    if (a->fail_on_corruption && m->corruption_events > 0) {
        report_warn("%s: %lld heap corruption events were recorded; failing as "
                    "--fail-on-corruption asks",
                    m->path, (long long)m->corruption_events);
        status = REPORT_EXIT_GATE;
    }
    return status;
}

static int report_diff(const struct report_args *a)
{
    struct model before, after;
    struct suppress_list rules;
    report_suppressions(a, &rules);
    report_load(&before, a->paths[0], &rules);
    report_load(&after, a->paths[1], &rules);
    suppress_free(&rules);
    struct diff d;
    diff_compute(&d, &before, &after);
    if (a->json)
        format_diff_json(stdout, &d);
    else
        format_diff_text(stdout, &d);
    int status = REPORT_EXIT_OK;
    if (a->fail_on_leaks && diff_has_new_leaks(&d)) {
        report_warn("%s leaks more than %s; failing as --fail-on-leaks asks", a->paths[1],
                    a->paths[0]);
        status = REPORT_EXIT_GATE;
    }
    if (a->fail_on_corruption && diff_has_new_corruption(&d)) {
        report_warn("%s has more corruption events than %s; failing as --fail-on-corruption "
                    "asks",
                    a->paths[1], a->paths[0]);
        status = REPORT_EXIT_GATE;
    }
    diff_free(&d);
    model_free(&before);
    model_free(&after);
    return status;
}

/* Writes the suggested table to --output's path (output_shown: that path
 * made safe to print) for ORTHO_CLASSES=@path: the sizes one per line
 * after comments that say where they came from. */
static void report_write_table(const struct report_args *a, const struct model *m,
                               const struct whatif_table *t, const char *output_shown)
{
    char err[REPORT_ERR];
    FILE *f = outfile_open(a->output, "class table", err, sizeof err);
    if (f == NULL)
        report_fail("%s", err);
    fprintf(f, "# %zu size classes suggested by ortho-report --suggest-classes %zu\n", t->count,
            a->suggest);
    fprintf(f, "# for %s (the least waste for that run's requests).\n", m->path_shown);
    /* The path as the terminal shows it: a newline in it must not start a
     * line of sizes. */
    fprintf(f, "# Use: ORTHO_CLASSES=@%s (payload bytes, ascending)\n", output_shown);
    for (size_t i = 0; i < t->count; i++)
        fprintf(f, "%lld\n", (long long)t->payload_bytes[i]);
    if (outfile_close(f, a->output, err, sizeof err) != 0)
        report_fail("%s", err);
}

static void report_whatif(const struct report_args *a, const struct model *m)
{
    char err[REPORT_ERR];
    struct whatif_table table = {0}, suggested = {0};
    char table_name[4 * REPORT_ERR], output_name[4 * REPORT_ERR], option[WHATIF_OPTION_BYTES];
    struct whatif_request r = {
        .table_name = a->what_if ? safetext_copy(table_name, sizeof table_name, a->what_if) : NULL,
        .wanted = a->suggest};
    if (a->what_if) {
        if (whatif_table_read(&table, a->what_if, err, sizeof err) != 0)
            report_fail("%s", err);
        r.table = &table;
    }
    if (a->suggest) {
        whatif_suggest(m, a->suggest, &suggested);
        r.suggested = &suggested;
        const char *why = NULL;
        if (suggested.count > 0 && whatif_table_option(&suggested, option, &why) == 0)
            r.suggested_option = option;
        if (a->output != NULL) {
            if (suggested.count == 0)
                report_fail("%s: no allocation up to 16 MiB to fit a table to; nothing written to %s",
                            m->path, a->output);
            if (r.suggested_option == NULL)
                report_fail("the suggested table %s; nothing written to %s", why, a->output);
            r.output = safetext_copy(output_name, sizeof output_name, a->output);
            report_write_table(a, m, &suggested, r.output);
        }
    }
    /* With --output - the table is the output: nothing after it. */
    bool table_only = a->output != NULL && strcmp(a->output, "-") == 0;
    if (!table_only && a->json)
        format_whatif_json(stdout, m, &r);
    else if (!table_only)
        format_whatif_text(stdout, m, &r);
    whatif_table_free(&table);
    whatif_table_free(&suggested);
}

int main(int argc, char **argv)
{
    struct report_args a;
    report_parse(&a, argc, argv);
    if (a.diff)
        return report_diff(&a);

    struct model m;
    struct suppress_list rules;
    report_suppressions(&a, &rules);
    report_load(&m, a.paths[0], &rules);
    suppress_free(&rules);
    report_exports(&a, &m);
    bool other_output = a.flamegraph || a.folded || a.pprof || a.what_if || a.suggest;
    if (a.what_if || a.suggest)
        report_whatif(&a, &m);
    /* The report itself: always, unless another output was asked for and
     * no section was; then only the gates speak. */
    unsigned sections = a.sections ? a.sections : other_output ? 0 : FORMAT_ALL;
    if (sections) {
        struct format_options o = {.sections = sections, .top = a.top, .all = a.all,
                                   .stack_frames = REPORT_FRAMES_SHOWN};
        if (a.json)
            format_json(stdout, &m, &o);
        else
            format_text(stdout, &m, &o);
    }
    int status = report_gates(&a, &m);
    if (fflush(stdout) != 0 || ferror(stdout))
        report_fail("writing the report to stdout failed");
    model_free(&m);
    return status;
}
