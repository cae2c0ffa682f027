/* screens.h - ortho-top's screens as data: for each screen its name, its
 * columns, how to format a cell of a snapshot and how to order and filter
 * its rows (screens.c). The terminal (ui.c) and the batch mode (batch.c)
 * both go through this table, so what `--batch` prints is what the
 * terminal shows, with exact numbers instead of compact ones. No ncurses. */
#ifndef ORTHO_TOP_SCREENS_H
#define ORTHO_TOP_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

enum top_screen_id {
    TOP_SCREEN_CLASSES,
    TOP_SCREEN_FRAG,
    TOP_SCREEN_SITES,
    TOP_SCREEN_THREADS,
    TOP_SCREEN_CORRUPTION,
    TOP_SCREENS
};

enum top_column_kind {
    TOP_COL_NUMBER,  /* right-aligned, sorted numerically */
    TOP_COL_TEXT,    /* left-aligned, sorted as text, searched by the filter */
    TOP_COL_SPARK,   /* a sparkline or bar: drawn, not sorted */
};

/* Which of the terminal's two views of the class screen shows a column:
 * rates (per second, what a live run is about) or totals (counts since
 * the start, what a finished run is about). --batch prints both. */
enum top_column_view {
    TOP_VIEW_BOTH,
    TOP_VIEW_RATES,
    TOP_VIEW_TOTALS,
};

struct top_column {
    const char *title;
    int width;                   /* characters on the terminal */
    enum top_column_kind kind;
    enum top_column_view view;   /* TOP_VIEW_BOTH unless the column is one view's */
};

#define TOP_MAX_COLUMNS 16

struct top_screen {
    const char *name;            /* for --screen: classes, frag, sites, threads, corruption */
    const char *title;           /* for the tab line */
    const struct top_column *columns;
    int column_count;
    int default_sort;            /* column index */
    bool default_descending;
    size_t (*rows)(const struct top_snapshot *snap);
    /* Formats one cell: exact numbers when exact (batch), compact ones to
     * fit the column's width otherwise. */
    void (*cell)(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                 size_t cap);
    double (*key)(const struct top_snapshot *snap, size_t row, int col);
};

extern const struct top_screen top_screens[TOP_SCREENS];

/* Whether the terminal shows column col of screen in the totals view
 * (totals true) or the rates view. */
bool top_column_shown(const struct top_screen *screen, int col, bool totals);

/* The sites the model must read for screen to show its rows sorted by
 * column sort_col (-1: the default) with filter (NULL: none), for the
 * process process_id (0: all of them): wanted only on the sites screen. */
void top_screen_site_query(const struct top_screen *screen, int sort_col, bool descending,
                           const char *filter, int64_t process_id, struct top_site_query *q);

/* The screen called name (also accepts unique prefixes, e.g. "frag"), or
 * NULL. */
const struct top_screen *top_screen_named(const char *name);

/* Writes into order[] the rows that contain filter (case-insensitive, in
 * any text column; NULL or "" keeps all) sorted by column sort_col, and
 * returns how many. order must hold screen->rows(snap) entries. */
size_t top_screen_order(const struct top_screen *screen, const struct top_snapshot *snap,
                        int sort_col, bool descending, const char *filter, size_t *order);

/* Compact numbers for the terminal: exact while they fit in width, else
 * scaled (k/M/G by 1000 for counts and rates, K/M/G/T by 1024 for bytes). */
void top_format_count(char *buf, size_t cap, int64_t value, int width);
void top_format_bytes(char *buf, size_t cap, int64_t value, int width);
void top_format_rate(char *buf, size_t cap, double per_s, int width);

/* A sparkline of n values scaled to their maximum, as n characters of the
 * ramp " .:-=+*#@" (the terminal swaps in block glyphs when it can). */
void top_format_spark(char *buf, size_t cap, const double *values, int n);
#define TOP_SPARK_RAMP " .:-=+*#@"

/* Seconds of t since the run's start, as "+12.345s". */
void top_format_offset(char *buf, size_t cap, int64_t t_ns, int64_t begin_ns);

#endif
