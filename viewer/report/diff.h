/* diff.h - what changed between two runs (a base and a new trace), for
 * regression hunting: per class, per allocation site, per leak site and
 * per corruption kind, keeping only what differs. Sites are matched by
 * function name and source file name (not line, not path, not process), so
 * an edit that moves code or a build in another directory still matches,
 * and a process tree is compared as a whole. Site figures follow weights.h
 * (estimates in sampled runs). Times, addresses and pids are not compared:
 * they differ from run to run by nature. */
#ifndef ORTHO_REPORT_DIFF_H
#define ORTHO_REPORT_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct diff_class {
    const char *name;                  /* B64 ... LARGE (either run's: the same payload) */
    struct model_class before, after;  /* whole-tree totals */
};

struct diff_site_counts {
    int64_t allocs, bytes;             /* over the run (requested bytes) */
    int64_t live_blocks, live_bytes;   /* at exit */
};

struct diff_site {
    char *function;                    /* NULL: allocations without a stack */
    char *file;                        /* file name only; NULL when unknown */
    struct diff_site_counts before, after;
};

struct diff_leak {
    char *function, *file;             /* as in diff_site */
    int64_t before_blocks, before_bytes, after_blocks, after_bytes;
};

struct diff_kind {
    char *kind;
    int64_t before, after;             /* events */
};

struct diff {
    const char *before_path, *after_path;
    bool sampled;                      /* either run sampled: site figures are estimates */
    size_t class_count, site_count, leak_count, kind_count;
    struct diff_class *classes;        /* by class */
    struct diff_site *sites;           /* by the size of the byte change, largest first */
    struct diff_leak *leaks;           /* by the byte change, growth first */
    struct diff_kind *kinds;           /* by name */
};

void diff_compute(struct diff *d, const struct model *before, const struct model *after);
void diff_free(struct diff *d);

bool diff_is_empty(const struct diff *d);
/* Some site leaks more in the new run than in the base (a new leak or a bigger one). */
bool diff_has_new_leaks(const struct diff *d);
/* Some corruption kind happens more often in the new run. */
bool diff_has_new_corruption(const struct diff *d);

/* "new", "gone", "more", "less" or "changed" for a site. */
const char *diff_site_change(const struct diff_site *s);
/* "new", "fixed", "more" or "less" for a leak. */
const char *diff_leak_change(const struct diff_leak *l);

void format_diff_text(FILE *out, const struct diff *d);
void format_diff_json(FILE *out, const struct diff *d);

#endif
