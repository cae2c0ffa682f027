/* batch.c - prints one screen as plain text (see batch.h). The layout
 * mirrors the terminal's: a header naming the run, process and time, then
 * the screen's table in its sort order; the fragmentation screen adds its
 * totals and the corruption screen each event's detail. Column widths are
 * measured first so exact numbers never get cut. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "describe.h"

#define BATCH_CELL_BYTES 256
#define BATCH_EVENT_LINES 160

static void batch_header(FILE *out, const struct top_snapshot *snap,
                         const struct top_batch_options *opt, int sort_col)
{
    char line[TOP_LINE_BYTES];
    top_describe_time(line, sizeof line, snap, opt->path);
    fprintf(out, "%s%s%s\n", line, opt->at_note[0] ? " " : "", opt->at_note);
    fprintf(out, "process: %s\n", snap->process_label);
    fprintf(out, "screen: %s, sorted by %s %s", opt->screen->name,
            opt->screen->columns[sort_col].title, opt->descending ? "descending" : "ascending");
    if (opt->filter != NULL && opt->filter[0] != '\0')
        fprintf(out, ", filter \"%s\"", opt->filter);
    if (opt->screen == &top_screens[TOP_SCREEN_CLASSES])
        fprintf(out, "; rates over the last %.3f s", (double)snap->rate_window_ns / 1e9);
    if (opt->screen == &top_screens[TOP_SCREEN_SITES] || opt->screen == &top_screens[TOP_SCREEN_THREADS])
        fprintf(out, "; counters of the whole run");
    if (opt->screen == &top_screens[TOP_SCREEN_SITES] && snap->site_total > (int64_t)snap->site_count)
        fprintf(out, "; the first %zu of %lld sites in this order", snap->site_count,
                (long long)snap->site_total);
    if (opt->screen == &top_screens[TOP_SCREEN_CORRUPTION] &&
        snap->event_total > (int64_t)snap->event_count)
        fprintf(out, "; %zu of %lld events stored one by one, the rest only counted "
                "(ortho-report --corruption groups them all)",
                snap->event_count, (long long)snap->event_total);
    fprintf(out, "\n\n");
}

static void batch_frag_totals(FILE *out, const struct top_snapshot *snap)
{
    char line[TOP_LINE_BYTES];
    fprintf(out, "where the bytes are (bytes, share of all held bytes):\n");
    for (int p = 0; p < TOP_FRAG_PARTS; p++) {
        top_describe_frag_part(line, sizeof line, snap, (enum top_frag_part)p, true, 40);
        fprintf(out, "  %s\n", line);
    }
    fprintf(out, "bar letters: r requested, w waste, h headers, c thread caches, p central pool, "
                 "u carved unused, L large live, f large free\n\n");
}

static void batch_events(FILE *out, const struct top_model *m, const struct top_snapshot *snap,
                         const size_t *order, size_t n)
{
    char (*lines)[TOP_LINE_BYTES] = malloc(BATCH_EVENT_LINES * sizeof *lines);
    if (lines == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t count = top_describe_event(m, snap, snap->events[order[i]], lines, BATCH_EVENT_LINES);
        fprintf(out, "\n");
        for (size_t k = 0; k < count; k++)
            fprintf(out, "%s\n", lines[k]);
    }
    free(lines);
}

int top_batch_print(FILE *out, const struct top_model *m, const struct top_snapshot *snap,
                    const struct top_batch_options *opt)
{
    const struct top_screen *screen = opt->screen;
    int sort_col = opt->sort_col >= 0 && opt->sort_col < screen->column_count ? opt->sort_col
                                                                              : screen->default_sort;
    size_t rows = screen->rows(snap);
    size_t *order = malloc((rows ? rows : 1) * sizeof *order);
    if (order == NULL)
        return -1;
    size_t n = top_screen_order(screen, snap, sort_col, opt->descending, opt->filter, order);
    batch_header(out, snap, opt, sort_col);
    if (screen == &top_screens[TOP_SCREEN_FRAG])
        batch_frag_totals(out, snap);

    int width[TOP_MAX_COLUMNS];
    char cell[BATCH_CELL_BYTES];
    for (int c = 0; c < screen->column_count; c++) {
        width[c] = (int)strlen(screen->columns[c].title);
        for (size_t i = 0; i < n; i++) {
            screen->cell(snap, order[i], c, true, cell, sizeof cell);
            if ((int)strlen(cell) > width[c])
                width[c] = (int)strlen(cell);
        }
    }
    for (int c = 0; c < screen->column_count; c++) {
        bool left = screen->columns[c].kind != TOP_COL_NUMBER;
        bool last = c == screen->column_count - 1;
        fprintf(out, left ? "%-*s%s" : "%*s%s", last && left ? 0 : width[c],
                screen->columns[c].title, last ? "\n" : "  ");
    }
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < screen->column_count; c++) {
            bool left = screen->columns[c].kind != TOP_COL_NUMBER;
            bool last = c == screen->column_count - 1;
            screen->cell(snap, order[i], c, true, cell, sizeof cell);
            fprintf(out, left ? "%-*s%s" : "%*s%s", last && left ? 0 : width[c], cell,
                    last ? "\n" : "  ");
        }
    }
    if (n == 0)
        fprintf(out, "(no rows%s)\n", opt->filter && opt->filter[0] ? " match the filter" : "");
    if (screen == &top_screens[TOP_SCREEN_CORRUPTION])
        batch_events(out, m, snap, order, n);
    free(order);
    return ferror(out) ? -1 : 0;
}
