/* batch.h - `ortho-top --batch`: one screen of one snapshot as plain text
 * (batch.c), for scripts and CI logs. Numbers are exact (no k/M scaling),
 * columns as wide as their widest cell, no colour, no terminal needed. */
#ifndef ORTHO_TOP_BATCH_H
#define ORTHO_TOP_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "screens.h"

struct top_batch_options {
    const struct top_screen *screen;
    int sort_col;          /* -1: the screen's default */
    bool descending;
    const char *filter;    /* NULL: all rows */
    const char *path;      /* the database, for the header */
    const char *at_note;   /* "(end)", "(peak)", ... or "" */
};

/* Prints the screen; 0, or -1 when out of memory. */
int top_batch_print(FILE *out, const struct top_model *m, const struct top_snapshot *snap,
                    const struct top_batch_options *opt);

#endif
