/* screens.c - the table of ortho-top's screens (see screens.h): columns,
 * cell formatting, sort keys and the filter. One function per screen and
 * purpose, all reading a snapshot; adding a column is one line in a column
 * table plus one case in that screen's cell and key functions. */
#define _GNU_SOURCE /* strcasestr */
#include "screens.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- number formatting ---------------------------------------------- */

/* value printed whole if it fits in width, else divided by base until it
 * does, with one decimal when there is room. units[u] is the suffix after
 * u divisions (units[0] unused). */
static void format_scaled(char *buf, size_t cap, double value, int width, double base,
                          const char *units)
{
    snprintf(buf, cap, "%.0f", value);
    if ((int)strlen(buf) <= width)
        return;
    for (int u = 1; units[u] != '\0'; u++) {
        value /= base;
        snprintf(buf, cap, "%.1f%c", value, units[u]);
        if ((int)strlen(buf) <= width)
            return;
        snprintf(buf, cap, "%.0f%c", value, units[u]);
        if ((int)strlen(buf) <= width)
            return;
    }
}

void top_format_count(char *buf, size_t cap, int64_t value, int width)
{
    format_scaled(buf, cap, (double)value, width, 1000.0, " kMGTP");
}

void top_format_bytes(char *buf, size_t cap, int64_t value, int width)
{
    format_scaled(buf, cap, (double)value, width, 1024.0, " KMGTP");
}

void top_format_rate(char *buf, size_t cap, double per_s, int width)
{
    if (per_s > 0 && per_s < 9.95) {
        snprintf(buf, cap, "%.1f", per_s);
        return;
    }
    format_scaled(buf, cap, per_s, width, 1000.0, " kMGTP");
}

void top_format_spark(char *buf, size_t cap, const double *values, int n)
{
    static const char ramp[] = TOP_SPARK_RAMP;
    const int levels = (int)sizeof ramp - 2; /* index of the highest glyph */
    double max = 0;
    for (int i = 0; i < n; i++)
        if (values[i] > max)
            max = values[i];
    int i = 0;
    for (; i < n && (size_t)i + 1 < cap; i++) {
        int level = 0;
        /* Anything above zero shows at least the lowest mark. */
        if (max > 0 && values[i] > 0)
            level = 1 + (int)((levels - 1) * values[i] / max + 0.5);
        buf[i] = ramp[level > levels ? levels : level];
    }
    buf[i] = '\0';
}

void top_format_offset(char *buf, size_t cap, int64_t t_ns, int64_t begin_ns)
{
    snprintf(buf, cap, "+%.3fs", (double)(t_ns - begin_ns) / 1e9);
}

static const char *screens_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* file:line, the full path when exact, its last component otherwise. */
static void screens_site(char *buf, size_t cap, const char *file, int64_t line, bool exact)
{
    if (file == NULL || file[0] == '\0')
        snprintf(buf, cap, "?");
    else
        snprintf(buf, cap, "%s:%lld", exact ? file : screens_basename(file), (long long)line);
}

static void screens_number(char *buf, size_t cap, int64_t v, int width, bool exact, bool bytes)
{
    if (exact)
        snprintf(buf, cap, "%lld", (long long)v);
    else if (bytes)
        top_format_bytes(buf, cap, v, width);
    else
        top_format_count(buf, cap, v, width);
}

static void screens_rate(char *buf, size_t cap, double v, int width, bool exact)
{
    if (exact)
        snprintf(buf, cap, "%.1f", v);
    else
        top_format_rate(buf, cap, v, width);
}

/* ---- classes ---------------------------------------------------------- */

enum { CL_NAME, CL_ALLOCS_S, CL_FREES_S, CL_ALLOCS, CL_FREES, CL_LIVE, CL_REQ, CL_USABLE,
       CL_WASTE, CL_SPARK, CL_CACHED, CL_POOLED, CL_REFILLS_S, CL_DRAINS_S, CL_CARVED, CL_COUNT };

/* The rate columns and the total columns take the same place on the
 * terminal, one view at a time ('t'); --batch prints both. */
static const struct top_column class_columns[CL_COUNT] = {
    [CL_NAME] = {"CLASS", 6, TOP_COL_TEXT},
    [CL_ALLOCS_S] = {"ALLOC/s", 7, TOP_COL_NUMBER, TOP_VIEW_RATES},
    [CL_FREES_S] = {"FREE/s", 7, TOP_COL_NUMBER, TOP_VIEW_RATES},
    [CL_ALLOCS] = {"ALLOCS", 7, TOP_COL_NUMBER, TOP_VIEW_TOTALS},
    [CL_FREES] = {"FREES", 7, TOP_COL_NUMBER, TOP_VIEW_TOTALS},
    [CL_LIVE] = {"LIVE", 7, TOP_COL_NUMBER},
    [CL_REQ] = {"REQ", 6, TOP_COL_NUMBER},
    [CL_USABLE] = {"USABLE", 6, TOP_COL_NUMBER},
    [CL_WASTE] = {"WASTE%", 6, TOP_COL_NUMBER},
    [CL_SPARK] = {"ALLOC/s 60s", TOP_SPARK_BUCKETS, TOP_COL_SPARK},
    [CL_CACHED] = {"CACHED", 6, TOP_COL_NUMBER},
    [CL_POOLED] = {"POOLED", 6, TOP_COL_NUMBER},
    [CL_REFILLS_S] = {"REFILL/s", 8, TOP_COL_NUMBER},
    [CL_DRAINS_S] = {"DRAIN/s", 7, TOP_COL_NUMBER},
    [CL_CARVED] = {"CARVED", 7, TOP_COL_NUMBER},
};

static size_t class_rows(const struct top_snapshot *snap)
{
    return snap->class_count;
}

static double class_key(const struct top_snapshot *snap, size_t row, int col)
{
    const struct top_class_row *r = &snap->classes[row];
    switch (col) {
    case CL_NAME: return (double)row;  /* class order */
    case CL_ALLOCS_S: return r->allocs_per_s;
    case CL_FREES_S: return r->frees_per_s;
    case CL_ALLOCS: return (double)r->allocs;
    case CL_FREES: return (double)r->frees;
    case CL_LIVE: return (double)r->live_blocks;
    case CL_REQ: return (double)r->live_requested_bytes;
    case CL_USABLE: return (double)r->live_usable_bytes;
    case CL_WASTE: return r->waste_pct;
    case CL_SPARK: return r->spark[TOP_SPARK_BUCKETS - 1];
    case CL_CACHED: return (double)r->cached_blocks;
    case CL_POOLED: return (double)r->pooled_blocks;
    case CL_REFILLS_S: return r->refills_per_s;
    case CL_DRAINS_S: return r->drains_per_s;
    case CL_CARVED: return (double)r->carved_blocks;
    }
    return 0;
}

static void class_cell(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                       size_t cap)
{
    const struct top_class_row *r = &snap->classes[row];
    int w = class_columns[col].width;
    switch (col) {
    case CL_NAME: snprintf(buf, cap, "%s", r->name); break;
    case CL_ALLOCS_S: screens_rate(buf, cap, r->allocs_per_s, w, exact); break;
    case CL_FREES_S: screens_rate(buf, cap, r->frees_per_s, w, exact); break;
    case CL_ALLOCS: screens_number(buf, cap, r->allocs, w, exact, false); break;
    case CL_FREES: screens_number(buf, cap, r->frees, w, exact, false); break;
    case CL_LIVE: screens_number(buf, cap, r->live_blocks, w, exact, false); break;
    case CL_REQ: screens_number(buf, cap, r->live_requested_bytes, w, exact, true); break;
    case CL_USABLE: screens_number(buf, cap, r->live_usable_bytes, w, exact, true); break;
    case CL_WASTE: snprintf(buf, cap, exact ? "%.2f" : "%.1f", r->waste_pct); break;
    case CL_SPARK: top_format_spark(buf, cap, r->spark, TOP_SPARK_BUCKETS); break;
    case CL_CACHED: screens_number(buf, cap, r->cached_blocks, w, exact, false); break;
    case CL_POOLED: screens_number(buf, cap, r->pooled_blocks, w, exact, false); break;
    case CL_REFILLS_S: screens_rate(buf, cap, r->refills_per_s, w, exact); break;
    case CL_DRAINS_S: screens_rate(buf, cap, r->drains_per_s, w, exact); break;
    case CL_CARVED: screens_number(buf, cap, r->carved_blocks, w, exact, false); break;
    default: buf[0] = '\0';
    }
}

/* ---- fragmentation (per class; the overall part is drawn apart) ------ */

enum { FR_NAME, FR_HELD, FR_REQ, FR_WASTE, FR_HEADERS, FR_CACHED, FR_POOLED, FR_UNUSED,
       FR_BAR, FR_LARGE_LIVE, FR_LARGE_FREE, FR_COUNT };

static const struct top_column frag_columns[FR_COUNT] = {
    [FR_NAME] = {"CLASS", 6, TOP_COL_TEXT},
    [FR_HELD] = {"HELD", 7, TOP_COL_NUMBER},
    [FR_REQ] = {"REQ", 7, TOP_COL_NUMBER},
    [FR_WASTE] = {"WASTE", 7, TOP_COL_NUMBER},
    [FR_HEADERS] = {"HEADERS", 7, TOP_COL_NUMBER},
    [FR_CACHED] = {"CACHED", 7, TOP_COL_NUMBER},
    [FR_POOLED] = {"POOLED", 7, TOP_COL_NUMBER},
    [FR_UNUSED] = {"UNUSED", 7, TOP_COL_NUMBER},
    [FR_BAR] = {"WHERE", 16, TOP_COL_SPARK},
    [FR_LARGE_LIVE] = {"L.LIVE", 7, TOP_COL_NUMBER},
    [FR_LARGE_FREE] = {"L.FREE", 7, TOP_COL_NUMBER},
};

/* Letters of the per-class bar, by enum top_frag_part. */
static const char frag_letters[TOP_FRAG_PARTS] = {'r', 'w', 'h', 'c', 'p', 'u', 'L', 'f'};

static int64_t frag_held(const struct top_frag *f)
{
    int64_t held = 0;
    for (int p = 0; p < TOP_FRAG_PARTS; p++) {
        int64_t v = top_frag_part(f, (enum top_frag_part)p);
        if (v > 0)
            held += v;
    }
    return held;
}

/* Row k of the table is the k-th class that holds any bytes. */
static size_t frag_class_of(const struct top_snapshot *snap, size_t row)
{
    size_t k = 0;
    for (size_t c = 0; c < snap->class_count; c++)
        if (frag_held(&snap->frag[c]) > 0 && k++ == row)
            return c;
    return 0;
}

static size_t frag_rows(const struct top_snapshot *snap)
{
    size_t n = 0;
    for (size_t c = 0; c < snap->class_count; c++)
        n += frag_held(&snap->frag[c]) > 0;
    return n;
}

static int64_t frag_value(const struct top_frag *f, int col)
{
    switch (col) {
    case FR_HELD: return frag_held(f);
    case FR_REQ: return f->requested;
    case FR_WASTE: return f->waste;
    case FR_HEADERS: return f->headers;
    case FR_CACHED: return f->cached;
    case FR_POOLED: return f->pooled;
    case FR_UNUSED: return f->arena_unused;
    case FR_LARGE_LIVE: return f->large_live;
    case FR_LARGE_FREE: return f->large_free;
    }
    return 0;
}

static double frag_key(const struct top_snapshot *snap, size_t row, int col)
{
    size_t c = frag_class_of(snap, row);
    if (col == FR_NAME)
        return (double)c;
    if (col == FR_BAR)
        col = FR_HELD;
    return (double)frag_value(&snap->frag[c], col);
}

/* A bar of the parts of one class, its length scaled to the class that
 * holds the most. */
static void frag_bar(const struct top_snapshot *snap, size_t c, char *buf, size_t cap, int width)
{
    int64_t max = 1;
    for (size_t k = 0; k < snap->class_count; k++)
        if (frag_held(&snap->frag[k]) > max)
            max = frag_held(&snap->frag[k]);
    int len = 0;
    double used = 0;
    for (int p = 0; p < TOP_FRAG_PARTS && (size_t)len + 1 < cap; p++) {
        int64_t v = top_frag_part(&snap->frag[c], (enum top_frag_part)p);
        if (v <= 0)
            continue;
        used += (double)v;
        int upto = (int)(used * width / (double)max + 0.5);
        if (upto <= len)
            upto = len + 1;  /* every part present gets at least one mark */
        while (len < upto && len < width && (size_t)len + 1 < cap)
            buf[len++] = frag_letters[p];
    }
    buf[len] = '\0';
}

static void frag_cell(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                      size_t cap)
{
    size_t c = frag_class_of(snap, row);
    const struct top_frag *f = &snap->frag[c];
    if (col == FR_NAME) {
        snprintf(buf, cap, "%s", snap->classes[c].name);
    } else if (col == FR_BAR) {
        frag_bar(snap, c, buf, cap, frag_columns[FR_BAR].width);
    } else {
        int64_t v = frag_value(f, col);
        if (v < 0)
            snprintf(buf, cap, "-");
        else
            screens_number(buf, cap, v, frag_columns[col].width, exact, true);
    }
}

/* ---- sites ------------------------------------------------------------ */

enum { SI_LIVE_BYTES, SI_LIVE, SI_ALLOCS_S, SI_ALLOCS, SI_BYTES, SI_FUNCTION, SI_FILE,
       SI_FREES, SI_PEAK, SI_STACKS, SI_PROCESS, SI_COUNT };

static const struct top_column site_columns[SI_COUNT] = {
    [SI_LIVE_BYTES] = {"LIVE B", 7, TOP_COL_NUMBER},
    [SI_LIVE] = {"LIVE", 6, TOP_COL_NUMBER},
    [SI_ALLOCS_S] = {"ALLOC/s", 7, TOP_COL_NUMBER},
    [SI_ALLOCS] = {"ALLOCS", 7, TOP_COL_NUMBER},
    [SI_BYTES] = {"BYTES", 7, TOP_COL_NUMBER},
    [SI_FUNCTION] = {"FUNCTION", 18, TOP_COL_TEXT},
    [SI_FILE] = {"FILE:LINE", 20, TOP_COL_TEXT},
    [SI_FREES] = {"FREES", 7, TOP_COL_NUMBER},
    [SI_PEAK] = {"PEAK B", 7, TOP_COL_NUMBER},
    [SI_STACKS] = {"STACKS", 6, TOP_COL_NUMBER},
    [SI_PROCESS] = {"PROC", 4, TOP_COL_NUMBER},
};

/* The order the database ranks sites in for each column. */
static const enum top_site_order site_orders[SI_COUNT] = {
    [SI_LIVE_BYTES] = TOP_SITES_BY_LIVE_BYTES, [SI_LIVE] = TOP_SITES_BY_LIVE_BLOCKS,
    [SI_ALLOCS_S] = TOP_SITES_BY_RATE,         [SI_ALLOCS] = TOP_SITES_BY_ALLOCS,
    [SI_BYTES] = TOP_SITES_BY_BYTES,           [SI_FUNCTION] = TOP_SITES_BY_FUNCTION,
    [SI_FILE] = TOP_SITES_BY_FILE,             [SI_FREES] = TOP_SITES_BY_FREES,
    [SI_PEAK] = TOP_SITES_BY_PEAK,             [SI_STACKS] = TOP_SITES_BY_STACKS,
    [SI_PROCESS] = TOP_SITES_BY_PROCESS,
};

static size_t site_rows(const struct top_snapshot *snap)
{
    return snap->site_count;
}

static double site_key(const struct top_snapshot *snap, size_t row, int col)
{
    const struct top_site *s = &snap->sites[row];
    switch (col) {
    case SI_LIVE_BYTES: return (double)s->live_bytes;
    case SI_LIVE: return (double)s->live_blocks;
    case SI_ALLOCS_S: return s->allocs_per_s;
    case SI_ALLOCS: return (double)s->allocs;
    case SI_BYTES: return (double)s->alloc_bytes;
    case SI_FREES: return (double)s->frees;
    case SI_PEAK: return (double)s->peak_live_bytes;
    case SI_STACKS: return (double)s->stacks;
    case SI_PROCESS: return (double)s->process_id;
    }
    return 0;
}

static void site_cell(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                      size_t cap)
{
    const struct top_site *s = &snap->sites[row];
    int w = site_columns[col].width;
    switch (col) {
    case SI_LIVE_BYTES: screens_number(buf, cap, s->live_bytes, w, exact, true); break;
    case SI_LIVE: screens_number(buf, cap, s->live_blocks, w, exact, false); break;
    case SI_ALLOCS_S: screens_rate(buf, cap, s->allocs_per_s, w, exact); break;
    case SI_ALLOCS: screens_number(buf, cap, s->allocs, w, exact, false); break;
    case SI_BYTES: screens_number(buf, cap, s->alloc_bytes, w, exact, true); break;
    case SI_FUNCTION: snprintf(buf, cap, "%s", s->function); break;
    case SI_FILE: screens_site(buf, cap, s->file, s->line, exact); break;
    case SI_FREES: screens_number(buf, cap, s->frees, w, exact, false); break;
    case SI_PEAK: screens_number(buf, cap, s->peak_live_bytes, w, exact, true); break;
    case SI_STACKS: screens_number(buf, cap, s->stacks, w, exact, false); break;
    case SI_PROCESS:
        if (s->process_id == 0)
            snprintf(buf, cap, "*");
        else
            snprintf(buf, cap, "%lld", (long long)s->process_id);
        break;
    default: buf[0] = '\0';
    }
}

/* ---- threads ---------------------------------------------------------- */

enum { TH_TID, TH_NAME, TH_STATE, TH_ALLOCS, TH_FREES, TH_BYTES, TH_FREED, TH_CROSS,
       TH_SECONDS, TH_PROCESS, TH_DROPPED, TH_COUNT };

static const struct top_column thread_columns[TH_COUNT] = {
    [TH_TID] = {"TID", 7, TOP_COL_NUMBER},
    [TH_NAME] = {"NAME", 15, TOP_COL_TEXT},
    [TH_STATE] = {"STATE", 5, TOP_COL_TEXT},
    [TH_ALLOCS] = {"ALLOCS", 7, TOP_COL_NUMBER},
    [TH_FREES] = {"FREES", 7, TOP_COL_NUMBER},
    [TH_BYTES] = {"BYTES", 7, TOP_COL_NUMBER},
    [TH_FREED] = {"FREED B", 7, TOP_COL_NUMBER},
    [TH_CROSS] = {"XFREES", 6, TOP_COL_NUMBER},
    [TH_SECONDS] = {"SECS", 6, TOP_COL_NUMBER},
    [TH_PROCESS] = {"PROC", 4, TOP_COL_NUMBER},
    [TH_DROPPED] = {"DROPPED", 7, TOP_COL_NUMBER},
};

static size_t thread_rows(const struct top_snapshot *snap)
{
    return snap->thread_count;
}

static bool thread_running(const struct top_snapshot *snap, const struct top_thread *t)
{
    return t->end_ns == 0 || t->end_ns > snap->at_ns;
}

/* Seconds the thread had lived by the time shown. */
static double thread_seconds(const struct top_snapshot *snap, const struct top_thread *t)
{
    int64_t until = thread_running(snap, t) ? snap->at_ns : t->end_ns;
    return until > t->start_ns ? (double)(until - t->start_ns) / 1e9 : 0.0;
}

static double thread_key(const struct top_snapshot *snap, size_t row, int col)
{
    const struct top_thread *t = snap->threads[row];
    switch (col) {
    case TH_TID: return (double)t->thread_id;
    case TH_ALLOCS: return (double)t->allocs;
    case TH_FREES: return (double)t->frees;
    case TH_BYTES: return (double)t->alloc_bytes;
    case TH_FREED: return (double)t->freed_bytes;
    case TH_CROSS: return (double)t->cross_thread_frees;
    case TH_SECONDS: return thread_seconds(snap, t);
    case TH_PROCESS: return (double)t->process_id;
    case TH_DROPPED: return (double)t->dropped_records;
    }
    return 0;
}

static void thread_cell(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                        size_t cap)
{
    const struct top_thread *t = snap->threads[row];
    int w = thread_columns[col].width;
    switch (col) {
    case TH_TID: snprintf(buf, cap, "%lld", (long long)t->thread_id); break;
    case TH_NAME: snprintf(buf, cap, "%s", t->name[0] ? t->name : "?"); break;
    case TH_STATE: snprintf(buf, cap, "%s", thread_running(snap, t) ? "run" : "exit"); break;
    case TH_ALLOCS: screens_number(buf, cap, t->allocs, w, exact, false); break;
    case TH_FREES: screens_number(buf, cap, t->frees, w, exact, false); break;
    case TH_BYTES: screens_number(buf, cap, t->alloc_bytes, w, exact, true); break;
    case TH_FREED: screens_number(buf, cap, t->freed_bytes, w, exact, true); break;
    case TH_CROSS: screens_number(buf, cap, t->cross_thread_frees, w, exact, false); break;
    case TH_SECONDS: snprintf(buf, cap, exact ? "%.3f" : "%.1f", thread_seconds(snap, t)); break;
    case TH_PROCESS: snprintf(buf, cap, "%lld", (long long)t->process_id); break;
    case TH_DROPPED: screens_number(buf, cap, t->dropped_records, w, exact, false); break;
    default: buf[0] = '\0';
    }
}

/* ---- corruption ------------------------------------------------------- */

enum { CO_TIME, CO_KIND, CO_CALL, CO_ADDRESS, CO_CLASS, CO_FUNCTION, CO_FILE, CO_TID,
       CO_PROCESS, CO_COUNT };

static const struct top_column event_columns[CO_COUNT] = {
    [CO_TIME] = {"TIME", 8, TOP_COL_NUMBER},
    [CO_KIND] = {"KIND", 12, TOP_COL_TEXT},
    [CO_CALL] = {"CALL", 7, TOP_COL_TEXT},
    [CO_ADDRESS] = {"ADDRESS", 14, TOP_COL_TEXT},
    [CO_CLASS] = {"CLASS", 6, TOP_COL_TEXT},
    [CO_FUNCTION] = {"FUNCTION", 14, TOP_COL_TEXT},
    [CO_FILE] = {"FILE:LINE", 18, TOP_COL_TEXT},
    [CO_TID] = {"TID", 7, TOP_COL_NUMBER},
    [CO_PROCESS] = {"PROC", 4, TOP_COL_NUMBER},
};

static size_t event_rows(const struct top_snapshot *snap)
{
    return snap->event_count;
}

static double event_key(const struct top_snapshot *snap, size_t row, int col)
{
    const struct top_event *e = snap->events[row];
    switch (col) {
    case CO_TIME: return (double)e->ts_ns;
    case CO_ADDRESS: return (double)(uint64_t)e->address;
    case CO_TID: return (double)e->thread_id;
    case CO_PROCESS: return (double)e->process_id;
    }
    return 0;
}

static void event_cell(const struct top_snapshot *snap, size_t row, int col, bool exact, char *buf,
                       size_t cap)
{
    const struct top_event *e = snap->events[row];
    switch (col) {
    case CO_TIME: top_format_offset(buf, cap, e->ts_ns, snap->begin_ns); break;
    case CO_KIND: snprintf(buf, cap, "%s", e->kind); break;
    case CO_CALL: snprintf(buf, cap, "%s", e->call[0] ? e->call : "?"); break;
    case CO_ADDRESS: snprintf(buf, cap, "0x%llx", (unsigned long long)e->address); break;
    case CO_CLASS: snprintf(buf, cap, "%s", e->class_name[0] ? e->class_name : "?"); break;
    case CO_FUNCTION: snprintf(buf, cap, "%s", e->function[0] ? e->function : "?"); break;
    case CO_FILE: screens_site(buf, cap, e->file, e->line, exact); break;
    case CO_TID: snprintf(buf, cap, "%lld", (long long)e->thread_id); break;
    case CO_PROCESS: snprintf(buf, cap, "%lld", (long long)e->process_id); break;
    default: buf[0] = '\0';
    }
}

/* ---- the table -------------------------------------------------------- */

const struct top_screen top_screens[TOP_SCREENS] = {
    [TOP_SCREEN_CLASSES] = {"classes", "Classes", class_columns, CL_COUNT, CL_NAME, false,
                            class_rows, class_cell, class_key},
    [TOP_SCREEN_FRAG] = {"fragmentation", "Fragmentation", frag_columns, FR_COUNT, FR_NAME, false,
                         frag_rows, frag_cell, frag_key},
    [TOP_SCREEN_SITES] = {"sites", "Sites", site_columns, SI_COUNT, SI_LIVE_BYTES, true,
                          site_rows, site_cell, site_key},
    [TOP_SCREEN_THREADS] = {"threads", "Threads", thread_columns, TH_COUNT, TH_ALLOCS, true,
                            thread_rows, thread_cell, thread_key},
    [TOP_SCREEN_CORRUPTION] = {"corruption", "Corruption", event_columns, CO_COUNT, CO_TIME,
                               false, event_rows, event_cell, event_key},
};

void top_screen_site_query(const struct top_screen *screen, int sort_col, bool descending,
                           const char *filter, int64_t process_id, struct top_site_query *q)
{
    memset(q, 0, sizeof *q);
    q->wanted = screen == &top_screens[TOP_SCREEN_SITES];
    if (!q->wanted)
        return;
    if (sort_col < 0 || sort_col >= SI_COUNT)
        sort_col = screen->default_sort;
    q->process_id = process_id;
    q->order = site_orders[sort_col];
    q->descending = descending;
    snprintf(q->filter, sizeof q->filter, "%s", filter != NULL ? filter : "");
}

bool top_column_shown(const struct top_screen *screen, int col, bool totals)
{
    enum top_column_view view = screen->columns[col].view;
    return view == TOP_VIEW_BOTH || view == (totals ? TOP_VIEW_TOTALS : TOP_VIEW_RATES);
}

const struct top_screen *top_screen_named(const char *name)
{
    const struct top_screen *found = NULL;
    size_t n = strlen(name);
    if (n == 0)
        return NULL;
    for (int i = 0; i < TOP_SCREENS; i++) {
        if (strcmp(top_screens[i].name, name) == 0)
            return &top_screens[i];
        if (strncmp(top_screens[i].name, name, n) == 0) {
            if (found != NULL)
                return NULL;  /* ambiguous prefix */
            found = &top_screens[i];
        }
    }
    return found;
}

/* qsort has no context argument in C11: the comparison reads it from here.
 * Only one sort runs at a time (the viewer has one thread). */
static struct {
    const struct top_screen *screen;
    const struct top_snapshot *snap;
    int col;
    bool descending;
} screens_sort;

static int screens_compare(const void *a, const void *b)
{
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    const struct top_screen *s = screens_sort.screen;
    int cmp = 0;
    if (s->columns[screens_sort.col].kind == TOP_COL_TEXT) {
        char ta[256], tb[256];
        s->cell(screens_sort.snap, ra, screens_sort.col, true, ta, sizeof ta);
        s->cell(screens_sort.snap, rb, screens_sort.col, true, tb, sizeof tb);
        cmp = strcmp(ta, tb);
        /* Text with a natural order (class names) sorts by its key. */
        if (screens_sort.col == s->default_sort) {
            double ka = s->key(screens_sort.snap, ra, screens_sort.col);
            double kb = s->key(screens_sort.snap, rb, screens_sort.col);
            if (ka != kb)
                cmp = ka < kb ? -1 : 1;
        }
    } else {
        double ka = s->key(screens_sort.snap, ra, screens_sort.col);
        double kb = s->key(screens_sort.snap, rb, screens_sort.col);
        cmp = ka < kb ? -1 : ka > kb ? 1 : 0;
    }
    if (screens_sort.descending)
        cmp = -cmp;
    /* Ties keep the model's order, so equal rows never swap on refresh. */
    return cmp != 0 ? cmp : (ra < rb ? -1 : ra > rb ? 1 : 0);
}

static bool screens_matches(const struct top_screen *screen, const struct top_snapshot *snap,
                            size_t row, const char *filter)
{
    if (filter == NULL || filter[0] == '\0')
        return true;
    for (int col = 0; col < screen->column_count; col++) {
        if (screen->columns[col].kind != TOP_COL_TEXT)
            continue;
        char text[512];
        screen->cell(snap, row, col, true, text, sizeof text);
        if (strcasestr(text, filter) != NULL)
            return true;
    }
    return false;
}

size_t top_screen_order(const struct top_screen *screen, const struct top_snapshot *snap,
                        int sort_col, bool descending, const char *filter, size_t *order)
{
    size_t rows = screen->rows(snap), n = 0;
    for (size_t r = 0; r < rows; r++)
        if (screens_matches(screen, snap, r, filter))
            order[n++] = r;
    if (sort_col < 0 || sort_col >= screen->column_count)
        sort_col = screen->default_sort;
    screens_sort.screen = screen;
    screens_sort.snap = snap;
    screens_sort.col = sort_col;
    screens_sort.descending = descending;
    qsort(order, n, sizeof *order, screens_compare);
    return n;
}
