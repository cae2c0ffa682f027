/* model.c - fills struct model from a trace database (see model.h). One
 * query per kind of row loaded whole, each run through model_each_row,
 * which turns a failing query into the one-line error the caller prints;
 * sites and stacks are read later, when a formatter asks, through
 * model_stream. The database is read as it is, even while the collector
 * still writes it (WAL): the model is then a snapshot, and model.live says
 * so. Every string read goes through col_text, which makes it safe to
 * print (safetext.h). */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_mem.h"
#include "strmap.h"

/* The stacks model_stack has read: their numbers by "process:stack" in
 * `index` (1-based; a stack without frames is kept as NULL so it is asked
 * for once), and the statement that reads one. */
struct model_stack_cache {
    struct strmap index;
    struct model_stack **stacks;
    size_t count;
    sqlite3_stmt *read;
};

typedef void (*model_row_fn)(struct model *m, sqlite3_stmt *row, void *ctx);

/* Runs sql and calls fn for each row. 0, or -1 with the reason in err. */
static int model_each_row(struct model *m, const char *sql, model_row_fn fn, void *ctx, char *err,
                          size_t err_cap)
{
    sqlite3_stmt *stmt = tracedb_prepare(&m->db, sql, err, err_cap);
    if (stmt == NULL) {
        /* Add the file: "query failed" alone does not say which database. */
        char reason[384];
        snprintf(reason, sizeof reason, "%s", err);
        snprintf(err, err_cap, "%s: %s; is it a complete trace database?", m->path_shown, reason);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        fn(m, stmt, ctx);
    if (rc != SQLITE_DONE) {
        snprintf(err, err_cap, "%s: reading failed (%s)", m->path_shown,
                 sqlite3_errmsg(m->db.conn));
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

/* A read after the load failed (the file changed under us, a disk error):
 * one line and exit status 2, like running out of memory. */
static _Noreturn void model_read_failed(const struct model *m, const char *what)
{
    fprintf(stderr, "ortho-report: %s: reading the %s failed (%s); is the file still there?\n",
            m->path_shown, what, sqlite3_errmsg(m->db.conn));
    exit(2);
}

/* Text of a column, made safe to print: every name in the model went
 * through safetext, so no output format can pass an escape sequence on. */
static char *col_text(sqlite3_stmt *row, int col)
{
    return mem_safedup((const char *)sqlite3_column_text(row, col));
}

static int64_t col_int(sqlite3_stmt *row, int col)
{
    return sqlite3_column_int64(row, col);
}

/* ---- rows -------------------------------------------------------------- */

/* One row of `classes` as read, before the classes of all processes are
 * merged (model_merge_classes). */
struct class_row {
    int64_t process_id, class_id, payload_bytes;
    bool large;
    char *name;
};

struct class_rows {
    struct class_row *rows;
    size_t count;
};

static void row_class(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)m;
    struct class_rows *r = ctx;
    int64_t id = col_int(row, 1);
    if (id < 0 || id > ORTHO_CLASS_MAX)
        return; /* no table has so many: a damaged row */
    mem_push((void **)&r->rows, r->count, sizeof *r->rows);
    bool large = sqlite3_column_type(row, 3) == SQLITE_NULL;
    r->rows[r->count++] = (struct class_row){
        .process_id = col_int(row, 0), .class_id = id, .large = large,
        .payload_bytes = large ? 0 : col_int(row, 3), .name = col_text(row, 2)};
}

/* The model's order of classes: by payload, LARGE after all. */
static int class_row_cmp(const void *a, const void *b)
{
    const struct class_row *x = a, *y = b;
    if (x->large != y->large)
        return x->large ? 1 : -1;
    return (x->payload_bytes > y->payload_bytes) - (x->payload_bytes < y->payload_bytes);
}

static int class_row_by_process(const void *a, const void *b)
{
    const struct class_row *x = a, *y = b;
    if (x->process_id != y->process_id)
        return x->process_id < y->process_id ? -1 : 1;
    return (x->class_id > y->class_id) - (x->class_id < y->class_id);
}

/* Merges every process's classes into the model's list and gives each
 * process its maps and its (zeroed) numbers. */
static void model_merge_classes(struct model *m, struct class_rows *r)
{
    struct class_row *sorted = mem_zalloc(r->count ? r->count : 1, sizeof *sorted);
    memcpy(sorted, r->rows, r->count * sizeof *sorted);
    qsort(sorted, r->count, sizeof *sorted, class_row_cmp);
    m->classes = mem_zalloc(r->count ? r->count : 1, sizeof *m->classes);
    for (size_t i = 0; i < r->count; i++) {
        if (m->class_count > 0 && class_row_cmp(&sorted[i], &sorted[i - 1]) == 0) {
            struct model_class_info *last = &m->classes[m->class_count - 1];
            if (last->class_id != sorted[i].class_id)
                last->class_id = -1;
            continue;
        }
        m->classes[m->class_count++] = (struct model_class_info){
            .name = mem_safedup(sorted[i].name), .payload_bytes = sorted[i].payload_bytes,
            .large = sorted[i].large, .class_id = sorted[i].class_id};
    }
    free(sorted);
    m->totals = mem_zalloc(m->class_count ? m->class_count : 1, sizeof *m->totals);
    qsort(r->rows, r->count, sizeof *r->rows, class_row_by_process);
    size_t at = 0;
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_process *p = &m->processes[i];
        p->classes = mem_zalloc(m->class_count ? m->class_count : 1, sizeof *p->classes);
        p->class_ids = mem_zalloc(m->class_count ? m->class_count : 1, sizeof *p->class_ids);
        for (size_t c = 0; c < m->class_count; c++)
            p->class_ids[c] = -1;
        while (at < r->count && r->rows[at].process_id < p->process_id)
            at++;
        size_t first = at;
        while (at < r->count && r->rows[at].process_id == p->process_id)
            at++;
        p->own_class_count = at > first ? (size_t)r->rows[at - 1].class_id + 1 : 0;
        p->model_class = mem_zalloc(p->own_class_count ? p->own_class_count : 1,
                                    sizeof *p->model_class);
        for (size_t c = 0; c < p->own_class_count; c++)
            p->model_class[c] = -1;
        for (size_t k = first; k < at; k++) {
            const struct class_row *row = &r->rows[k];
            size_t lo = 0, hi = m->class_count;
            while (lo < hi) { /* the first model class not below the row's */
                size_t mid = lo + (hi - lo) / 2;
                struct class_row probe = {.large = m->classes[mid].large,
                                          .payload_bytes = m->classes[mid].payload_bytes};
                if (class_row_cmp(&probe, row) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            p->model_class[row->class_id] = (int)lo;
            p->class_ids[lo] = (int)row->class_id;
        }
    }
}

static int model_read_classes(struct model *m, char *err, size_t err_cap)
{
    struct class_rows r = {0};
    int rc = model_each_row(m,
                            "SELECT process_id, class_id, class_name, payload_size FROM classes"
                            " ORDER BY process_id, class_id",
                            row_class, &r, err, err_cap);
    if (rc == 0)
        model_merge_classes(m, &r);
    for (size_t i = 0; i < r.count; i++)
        free(r.rows[i].name);
    free(r.rows);
    if (rc == 0 && m->class_count == 0) {
        snprintf(err, err_cap, "%s: its classes table names no size class of any process; the "
                 "file is damaged, trace the program again", m->path_shown);
        return -1;
    }
    return rc;
}

static void row_process(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->processes, m->process_count, sizeof *m->processes);
    struct model_process *p = &m->processes[m->process_count++];
    *p = (struct model_process){
        .process_id = col_int(row, 0), .pid = col_int(row, 1), .ppid = col_int(row, 2),
        .parent_process_id = col_int(row, 3), .via = col_text(row, 4), .exe = col_text(row, 5),
        .cmdline = col_text(row, 6), .start_ns = col_int(row, 7), .end_ns = col_int(row, 8),
        .end_reason = col_text(row, 9), .mode = col_text(row, 10),
        .sample_bytes = col_int(row, 11), .stack_depth = col_int(row, 12),
        .overflow = col_text(row, 13), .records = col_int(row, 14),
        .dropped_records = col_int(row, 15), .lost_no_slot = col_int(row, 16),
        .stacks = col_int(row, 17), .stacks_truncated = col_int(row, 18),
        .untracked_frees = col_int(row, 19), .start_unix_ns = col_int(row, 20)};
}

static void row_class_stats(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    struct model_process *p = (struct model_process *)model_process(m, col_int(row, 0));
    int64_t own = col_int(row, 1);
    if (p == NULL || own < 0 || (size_t)own >= p->own_class_count || p->model_class[own] < 0)
        return;
    int id = p->model_class[own];
    struct model_class c = {
        .allocs = col_int(row, 2), .frees = col_int(row, 3), .requested_bytes = col_int(row, 4),
        .usable_bytes = col_int(row, 5), .live_blocks = col_int(row, 6),
        .live_requested_bytes = col_int(row, 7), .live_usable_bytes = col_int(row, 8),
        .cached_blocks = col_int(row, 9), .pooled_blocks = col_int(row, 10),
        .cached_bytes = col_int(row, 11), .pooled_bytes = col_int(row, 12),
        .peak_live_usable_bytes = col_int(row, 13)};
    p->classes[id] = c;
    struct model_class *t = &m->totals[id];
    t->allocs += c.allocs;
    t->frees += c.frees;
    t->requested_bytes += c.requested_bytes;
    t->usable_bytes += c.usable_bytes;
    t->live_blocks += c.live_blocks;
    t->live_requested_bytes += c.live_requested_bytes;
    t->live_usable_bytes += c.live_usable_bytes;
    t->cached_blocks += c.cached_blocks;
    t->pooled_blocks += c.pooled_blocks;
    t->cached_bytes += c.cached_bytes;
    t->pooled_bytes += c.pooled_bytes;
    /* Processes run at different times: the sum of their peaks bounds the tree's. */
    t->peak_live_usable_bytes += c.peak_live_usable_bytes;
}

/* Leak stacks arrive grouped by site, each with its site's rank (model_queries). */
static void row_leak(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->leaks, m->leak_count, sizeof *m->leaks);
    struct model_leak *l = &m->leaks[m->leak_count];
    *l = (struct model_leak){
        .process_id = col_int(row, 0), .stack_id = col_int(row, 1), .blocks = col_int(row, 2),
        .bytes = col_int(row, 3), .function = col_text(row, 4), .file = col_text(row, 5),
        .line = col_int(row, 6), .class_names = col_text(row, 7),
        .suppressed_by = col_text(row, 9)};
    l->site = (size_t)col_int(row, 8) - 1; /* dense_rank counts sites from 1 */
    bool new_site = m->leak_count == 0 || m->leaks[m->leak_count - 1].site != l->site;
    if (new_site && l->suppressed_by == NULL)
        m->leak_site_count++;
    else if (new_site)
        m->suppressed_site_count++;
    m->leak_count++;
}

static void row_corruption_group(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->corruption_groups, m->corruption_group_count,
             sizeof *m->corruption_groups);
    struct model_corruption_group *g = &m->corruption_groups[m->corruption_group_count++];
    *g = (struct model_corruption_group){
        .process_id = col_int(row, 0), .kind = col_text(row, 1), .call = col_text(row, 2),
        .function = col_text(row, 3), .file = col_text(row, 4), .line = col_int(row, 5),
        .class_name = col_text(row, 6), .events = col_int(row, 7),
        .stored_events = col_int(row, 8), .first_ns = col_int(row, 9), .last_ns = col_int(row, 10),
        .stack_id = col_int(row, 11), .first_address = (uint64_t)col_int(row, 12),
        .last_address = (uint64_t)col_int(row, 13)};
    m->corruption_events += g->events;
}

static void row_corruption_kind(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->corruption_kinds, m->corruption_kind_count,
             sizeof *m->corruption_kinds);
    m->corruption_kinds[m->corruption_kind_count++] =
        (struct model_corruption_kind){.kind = col_text(row, 0), .events = col_int(row, 1)};
}

static void row_count(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)m;
    *(int64_t *)ctx = col_int(row, 0);
}

/* The corruption groups, as corruption_summary gives them (function
 * without a symbol version, as everywhere); a file from before the
 * collector counted events (version 2 without corruption_groups) has only
 * the stored events, grouped the same way here. Columns: process, kind,
 * call, function, file, line, class, events, stored events, first and last
 * time, stack, first and last address. */
#define MODEL_GROUPS_COUNTED                                                                 \
    "SELECT process_id, kind, call, CASE WHEN instr(function, '@') > 1"                      \
    " THEN substr(function, 1, instr(function, '@') - 1) ELSE function END, file,"           \
    " coalesce(line, 0), class_name, events, stored_events, first_ns, last_ns,"              \
    " coalesce(stack_id, 0), coalesce(first_address, 0), coalesce(last_address, 0)"          \
    " FROM corruption_summary"
#define MODEL_GROUPS_STORED                                                                  \
    "SELECT process_id, kind, min(call), function, file, coalesce(line, 0), class_name,"     \
    " count(*), count(*), min(ts_ns), max(ts_ns), coalesce(stack_id, 0),"                    \
    " coalesce(min(address), 0), coalesce(max(address), 0) FROM corruption"                 \
    " GROUP BY process_id, kind, stack_id, class_name"

/* Counts, groups and kinds: linear in the groups, whatever the events. */
static int model_read_corruption(struct model *m, char *err, size_t err_cap)
{
    int64_t counted = 0;
    if (model_each_row(m, "SELECT count(*) FROM sqlite_master WHERE name = 'corruption_summary'",
                       row_count, &counted, err, err_cap) != 0)
        return -1;
    const char *groups = counted ? MODEL_GROUPS_COUNTED : MODEL_GROUPS_STORED;
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT * FROM (%s) ORDER BY 8 DESC, 10, 1, 2, 12", groups);
    if (model_each_row(m, sql, row_corruption_group, NULL, err, err_cap) != 0)
        return -1;
    /* Columns 2, 8 and 10 of the groups: kind, events, first time. */
    snprintf(sql, sizeof sql,
             "WITH g(p, kind, c, f, fl, l, cl, events, st, first_ns, ln, sk, fa, la) AS (%s)"
             " SELECT kind, sum(events) FROM g GROUP BY kind ORDER BY min(first_ns), kind",
             groups);
    if (model_each_row(m, sql, row_corruption_kind, NULL, err, err_cap) != 0)
        return -1;
    return model_each_row(m, "SELECT count(*) FROM corruption_events", row_count,
                          &m->corruption_stored, err, err_cap);
}

static void row_call(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->calls, m->call_count, sizeof *m->calls);
    m->calls[m->call_count++] = (struct model_call){
        .process_id = col_int(row, 0), .call = col_text(row, 1), .allocs = col_int(row, 2),
        .requested_bytes = col_int(row, 3)};
}

/* The allocations by entry point, over the tree and per process, from
 * call_totals: a handful of rows per process. A file written before the
 * collector counted them has no such view: has_calls stays false. */
static int model_read_calls(struct model *m, char *err, size_t err_cap)
{
    int64_t present = 0;
    if (model_each_row(m, "SELECT count(*) FROM sqlite_master WHERE name = 'call_totals'",
                       row_count, &present, err, err_cap) != 0)
        return -1;
    m->has_calls = present > 0;
    if (!m->has_calls)
        return 0;
    return model_each_row(m,
                          "SELECT 0, call, sum(allocs), sum(requested_bytes) FROM call_totals"
                          " GROUP BY call"
                          " UNION ALL SELECT process_id, call, sum(allocs), sum(requested_bytes)"
                          " FROM call_totals GROUP BY process_id, call"
                          " ORDER BY 1, 3 DESC, 2",
                          row_call, NULL, err, err_cap);
}

static void row_size(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->sizes, m->size_count, sizeof *m->sizes);
    m->sizes[m->size_count++] = (struct model_size){
        .process_id = col_int(row, 0), .requested_size = col_int(row, 1),
        .class_id = (int)col_int(row, 2), .allocs = col_int(row, 3)};
}

/* The class timeline gives each class's live bytes at sample points (a
 * row only when the class changed, and the exact end state last): walking
 * it in time order with each class's latest value gives the process's
 * total at every sample point. */
struct series_walk {
    int64_t process_id;
    struct model_process *process;   /* NULL: not in processes */
    int64_t ts_ns;
    int64_t *live;                   /* latest live usable bytes per own class */
    int64_t total;                   /* their sum */
};

static void series_close_point(const struct series_walk *w)
{
    struct model_process *p = w->process;
    if (p != NULL && w->total > p->peak_low_bytes)
        p->peak_low_bytes = w->total;
}

static void row_series(struct model *m, sqlite3_stmt *row, void *ctx)
{
    struct series_walk *w = ctx;
    int64_t process_id = col_int(row, 0), class_id = col_int(row, 1), ts_ns = col_int(row, 2);
    if (process_id != w->process_id || w->live == NULL) {
        series_close_point(w);
        free(w->live);
        *w = (struct series_walk){
            .process_id = process_id,
            .process = (struct model_process *)model_process(m, process_id)};
        size_t n = w->process != NULL ? w->process->own_class_count : 0;
        w->live = mem_zalloc(n ? n : 1, sizeof *w->live);
    } else if (ts_ns != w->ts_ns) {
        series_close_point(w);
    }
    if (w->process == NULL || class_id < 0 || (size_t)class_id >= w->process->own_class_count)
        return;
    w->ts_ns = ts_ns;
    w->total += col_int(row, 3) - w->live[class_id];
    w->live[class_id] = col_int(row, 3);
}

/* Full mode: the exact peak, by running sum over allocations and frees in
 * time order (frees first at equal times). */
static int model_exact_peak(struct model *m, struct model_process *p, char *err, size_t err_cap)
{
    sqlite3_stmt *stmt = tracedb_prepare(
        &m->db,
        "SELECT max(live) FROM (SELECT sum(d) OVER (ORDER BY ts, d ROWS UNBOUNDED PRECEDING)"
        " AS live FROM (SELECT alloc_ns AS ts, usable_size AS d FROM allocations"
        " WHERE process_id = ?1 UNION ALL SELECT free_ns, -usable_size FROM allocations"
        " WHERE process_id = ?1 AND free_ns IS NOT NULL))",
        err, err_cap);
    if (stmt == NULL) {
        char reason[384];
        snprintf(reason, sizeof reason, "%s", err);
        snprintf(err, err_cap, "%s: %s", m->path_shown, reason);
        return -1;
    }
    sqlite3_bind_int64(stmt, 1, p->process_id);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        p->peak_low_bytes = p->peak_high_bytes = sqlite3_column_int64(stmt, 0);
        p->peak_exact = true;
    }
    sqlite3_finalize(stmt);
    return 0;
}

static int model_peaks(struct model *m, char *err, size_t err_cap)
{
    struct series_walk walk = {0};
    if (model_each_row(m,
                       "SELECT process_id, class_id, ts_ns, live_usable_bytes FROM class_timeline"
                       " ORDER BY process_id, ts_ns, class_id",
                       row_series, &walk, err, err_cap) != 0) {
        free(walk.live);
        return -1;
    }
    series_close_point(&walk);
    free(walk.live);
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_process *p = &m->processes[i];
        int64_t high = 0;
        for (size_t c = 0; c < m->class_count; c++)
            high += p->classes[c].peak_live_usable_bytes;
        p->peak_high_bytes = high < p->peak_low_bytes ? p->peak_low_bytes : high;
        if (p->mode != NULL && strcmp(p->mode, "full") == 0 &&
            model_exact_peak(m, p, err, err_cap) != 0)
            return -1;
    }
    return 0;
}

/* ---- sites and stacks, read when asked ----------------------------------- */

static void model_stack_free(struct model_stack *s)
{
    if (s == NULL)
        return;
    for (size_t f = 0; f < s->frame_count; f++)
        free(s->frames[f].function), free(s->frames[f].module), free(s->frames[f].file);
    free(s->frames);
    free(s);
}

/* Appends the frame of row (columns from `first`: level, pc, function,
 * module, file, line) to s. */
static void model_add_frame(struct model_stack *s, sqlite3_stmt *row, int first)
{
    mem_push((void **)&s->frames, s->frame_count, sizeof *s->frames);
    s->frames[s->frame_count++] = (struct model_frame){
        .pc = (uint64_t)col_int(row, first + 1), .function = col_text(row, first + 2),
        .module = col_text(row, first + 3), .file = col_text(row, first + 4),
        .line = col_int(row, first + 5)};
}

const struct model_stack *model_stack(const struct model *m, int64_t process_id,
                                      int64_t stack_id)
{
    struct model_stack_cache *cache = m->stacks;
    if (stack_id == 0 || cache == NULL)
        return NULL;
    char key[48];
    snprintf(key, sizeof key, "%lld:%lld", (long long)process_id, (long long)stack_id);
    bool added;
    uint64_t slot = strmap_get(&cache->index, key, cache->count + 1, &added);
    if (!added)
        return cache->stacks[slot - 1];
    if (cache->read == NULL) {
        char err[256];
        cache->read = tracedb_prepare(
            (struct tracedb *)&m->db,
            "SELECT coalesce(st.truncated, 0), f.level, f.pc, f.function, f.module, f.file,"
            " coalesce(f.line, 0) FROM stack_frames f LEFT JOIN stacks st"
            " ON st.process_id = f.process_id AND st.stack_id = f.stack_id"
            " WHERE f.process_id = ?1 AND f.stack_id = ?2 ORDER BY f.level",
            err, sizeof err);
        if (cache->read == NULL)
            model_read_failed(m, "stacks");
    }
    sqlite3_reset(cache->read);
    sqlite3_bind_int64(cache->read, 1, process_id);
    sqlite3_bind_int64(cache->read, 2, stack_id);
    struct model_stack *s = mem_zalloc(1, sizeof *s);
    *s = (struct model_stack){.process_id = process_id, .stack_id = stack_id};
    int rc;
    while ((rc = sqlite3_step(cache->read)) == SQLITE_ROW) {
        s->truncated = col_int(cache->read, 0) != 0;
        model_add_frame(s, cache->read, 1);
    }
    if (rc != SQLITE_DONE)
        model_read_failed(m, "stacks");
    if (s->frame_count == 0) {
        model_stack_free(s);
        s = NULL;
    }
    mem_push((void **)&cache->stacks, cache->count, sizeof *cache->stacks);
    cache->stacks[cache->count++] = s;
    return s;
}

/* Prepares the text sql (a read after the load): failure ends the program. */
static sqlite3_stmt *model_stream(const struct model *m, const char *sql, const char *what)
{
    char err[512];
    sqlite3_stmt *stmt = tracedb_prepare((struct tracedb *)&m->db, sql, err, sizeof err);
    if (stmt == NULL)
        model_read_failed(m, what);
    return stmt;
}

/* The query of model_each_site and model_count_sites: the view as t, its
 * process as p. */
#define MODEL_SITES_FROM " FROM top_sites t JOIN processes p USING (process_id)"

/* model_each_site and model_top_sites; with count, a window counts the
 * rows before the limit (which makes SQLite hold them all, on disk when
 * they are many: a stream does without). Returns that count, or 0. */
static int64_t model_sites(const struct model *m, const char *where_sql, const char *order_sql,
                           size_t limit, bool count, model_site_fn fn, void *ctx)
{
    char sql[2048], limit_sql[32] = "";
    if (limit > 0)
        snprintf(limit_sql, sizeof limit_sql, " LIMIT %zu", limit);
    snprintf(sql, sizeof sql,
             "SELECT t.process_id, t.function, t.file, coalesce(t.line, 0), t.stacks, t.allocs,"
             " t.alloc_bytes, t.frees, t.live_blocks, t.live_bytes, t.peak_live_bytes,"
             " t.est_allocs, t.est_bytes, t.has_stack, %s" MODEL_SITES_FROM
             " WHERE %s ORDER BY %s%s",
             count ? "count(*) OVER ()" : "0", where_sql ? where_sql : "1",
             order_sql ? order_sql
                       : "t.process_id, t.alloc_bytes DESC, t.allocs DESC, t.function, t.file, "
                         "t.line",
             limit_sql);
    sqlite3_stmt *row = model_stream(m, sql, "sites");
    int64_t total = 0;
    int rc;
    while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
        total = col_int(row, 14);
        struct model_site site = {
            .process_id = col_int(row, 0), .function = col_text(row, 1), .file = col_text(row, 2),
            .line = col_int(row, 3), .stacks = col_int(row, 4), .allocs = col_int(row, 5),
            .alloc_bytes = col_int(row, 6), .frees = col_int(row, 7),
            .live_blocks = col_int(row, 8), .live_bytes = col_int(row, 9),
            .peak_live_bytes = col_int(row, 10), .est_allocs = sqlite3_column_double(row, 11),
            .est_bytes = sqlite3_column_double(row, 12), .has_stack = col_int(row, 13) != 0};
        fn(&site, ctx);
        free(site.function);
        free(site.file);
    }
    if (rc != SQLITE_DONE)
        model_read_failed(m, "sites");
    sqlite3_finalize(row);
    return total;
}

void model_each_site(const struct model *m, const char *where_sql, const char *order_sql,
                     size_t limit, model_site_fn fn, void *ctx)
{
    model_sites(m, where_sql, order_sql, limit, false, fn, ctx);
}

int64_t model_top_sites(const struct model *m, const char *where_sql, const char *order_sql,
                        size_t limit, model_site_fn fn, void *ctx)
{
    return model_sites(m, where_sql, order_sql, limit, true, fn, ctx);
}

int64_t model_count_sites(const struct model *m, const char *where_sql, bool processes)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s" MODEL_SITES_FROM " WHERE %s",
             processes ? "count(DISTINCT t.process_id)" : "count(*)", where_sql ? where_sql : "1");
    sqlite3_stmt *row = model_stream(m, sql, "sites");
    if (sqlite3_step(row) != SQLITE_ROW)
        model_read_failed(m, "sites");
    int64_t n = col_int(row, 0);
    sqlite3_finalize(row);
    return n;
}

void model_each_corruption(const struct model *m, size_t limit, model_corruption_fn fn, void *ctx)
{
    char sql[1024], limit_sql[32] = "";
    if (limit > 0)
        snprintf(limit_sql, sizeof limit_sql, " LIMIT %zu", limit);
    snprintf(sql, sizeof sql,
             "SELECT event_id, process_id, coalesce(thread_id, 0), ts_ns, kind, call, class_name,"
             " function, file, coalesce(line, 0), coalesce(address, 0), coalesce(stack_id, 0),"
             " coalesce(alloc_thread_id, 0), coalesce(alloc_stack_id, 0) FROM corruption"
             " ORDER BY process_id, ts_ns, event_id%s",
             limit_sql);
    sqlite3_stmt *row = model_stream(m, sql, "corruption events");
    int rc;
    while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
        struct model_corruption c = {
            .event_id = col_int(row, 0), .process_id = col_int(row, 1),
            .thread_id = col_int(row, 2), .ts_ns = col_int(row, 3), .kind = col_text(row, 4),
            .call = col_text(row, 5), .class_name = col_text(row, 6),
            .function = col_text(row, 7), .file = col_text(row, 8), .line = col_int(row, 9),
            .address = (uint64_t)col_int(row, 10), .stack_id = col_int(row, 11),
            .alloc_thread_id = col_int(row, 12), .alloc_stack_id = col_int(row, 13)};
        fn(&c, ctx);
        free(c.kind), free(c.call), free(c.class_name), free(c.function), free(c.file);
    }
    if (rc != SQLITE_DONE)
        model_read_failed(m, "corruption events");
    sqlite3_finalize(row);
}

void model_each_stack(const struct model *m, model_stack_fn fn, void *ctx)
{
    /* sites in key order, each stack's frames by level through the
     * primary keys: no sort, one stack at a time. */
    sqlite3_stmt *row = model_stream(
        m,
        "SELECT si.process_id, si.stack_id, si.allocs, si.alloc_bytes, si.live_blocks,"
        " si.live_bytes, si.est_allocs, si.est_bytes, coalesce(st.truncated, 0), f.level, f.pc,"
        " f.function, f.module, f.file, coalesce(f.line, 0) FROM sites si"
        " LEFT JOIN stacks st ON st.process_id = si.process_id AND st.stack_id = si.stack_id"
        " LEFT JOIN stack_frames f ON f.process_id = si.process_id AND f.stack_id = si.stack_id"
        "   AND si.stack_id <> 0"
        " ORDER BY si.process_id, si.stack_id, f.level",
        "stacks");
    struct model_stack_site site = {0};
    struct model_stack stack = {0};
    bool open = false;
    int rc;
    while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
        int64_t process_id = col_int(row, 0), stack_id = col_int(row, 1);
        if (!open || process_id != site.process_id || stack_id != site.stack_id) {
            if (open)
                fn(&site, stack.frame_count ? &stack : NULL, ctx);
            for (size_t f = 0; f < stack.frame_count; f++)
                free(stack.frames[f].function), free(stack.frames[f].module),
                    free(stack.frames[f].file);
            free(stack.frames);
            site = (struct model_stack_site){
                .process_id = process_id, .stack_id = stack_id, .allocs = col_int(row, 2),
                .alloc_bytes = col_int(row, 3), .live_blocks = col_int(row, 4),
                .live_bytes = col_int(row, 5), .est_allocs = sqlite3_column_double(row, 6),
                .est_bytes = sqlite3_column_double(row, 7)};
            stack = (struct model_stack){.process_id = process_id, .stack_id = stack_id,
                                         .truncated = col_int(row, 8) != 0};
            open = true;
        }
        if (sqlite3_column_type(row, 9) != SQLITE_NULL)
            model_add_frame(&stack, row, 9);
    }
    if (rc != SQLITE_DONE)
        model_read_failed(m, "stacks");
    if (open)
        fn(&site, stack.frame_count ? &stack : NULL, ctx);
    for (size_t f = 0; f < stack.frame_count; f++)
        free(stack.frames[f].function), free(stack.frames[f].module), free(stack.frames[f].file);
    free(stack.frames);
    sqlite3_finalize(row);
}

/* ---- loading ----------------------------------------------------------- */

/* The queries, in load order: processes first, then (model_read_classes
 * between the first two) the classes, as the class rows are attached to
 * their process. Leaks: one row per stack with the first
 * suppression rule it matches (suppress.h: temp.suppressions), the stacks
 * of a site together, sites by their bytes and the suppressed ones last;
 * the ninth column numbers the site (dense_rank), which row_leak turns
 * into model_leak.site. */
static const struct {
    const char *sql;
    model_row_fn fn;
} model_queries[] = {
    {"SELECT process_id, pid, coalesce(ppid, 0), coalesce(parent_process_id, 0), via, exe,"
     " cmdline, coalesce(start_ns, 0), coalesce(end_ns, 0), end_reason, mode,"
     " coalesce(sample_bytes, 0), coalesce(stack_depth, 0), overflow, records, dropped_records,"
     " lost_no_slot, stacks, stacks_truncated, untracked_frees, coalesce(start_unix_ns, 0)"
     " FROM processes"
     " ORDER BY process_id",
     row_process},
    {"SELECT t.process_id, t.class_id, t.allocs, t.frees, t.requested_bytes, t.usable_bytes,"
     " f.live_blocks, f.live_requested_bytes, f.live_usable_bytes, f.cached_blocks,"
     " f.pooled_blocks, coalesce(f.cached_bytes, 0), coalesce(f.pooled_bytes, 0),"
     " t.peak_live_usable_bytes"
     " FROM class_totals t JOIN fragmentation f USING (process_id, class_id)"
     " ORDER BY t.process_id, t.class_id",
     row_class_stats},
    {"WITH stacks AS (SELECT process_id, stack_id, count(*) AS blocks,"
     "   sum(requested_size) AS bytes, function, file, coalesce(line, 0) AS line,"
     "   group_concat(DISTINCT class_name) AS classes, stack_id = 0 AS bare"
     "   FROM leaks GROUP BY process_id, stack_id),"
     " judged AS (SELECT *, (SELECT s.origin || ' ' || s.kind || ':' || s.pattern"
     "   FROM temp.suppressions s"
     "   WHERE (s.kind = 'site' AND x.function GLOB s.pattern)"
     "     OR (s.kind = 'frame' AND EXISTS (SELECT 1 FROM stack_frames f"
     "       WHERE f.process_id = x.process_id AND f.stack_id = x.stack_id"
     "         AND (f.function GLOB s.pattern OR f.module GLOB s.pattern"
     "           OR f.module GLOB '*/' || s.pattern OR f.file GLOB s.pattern"
     "           OR f.file GLOB '*/' || s.pattern)))"
     "   ORDER BY s.rowid LIMIT 1) AS suppressed_by FROM stacks x),"
     " sites AS (SELECT *, sum(bytes) OVER site AS site_bytes, sum(blocks) OVER site AS site_blocks"
     "   FROM judged WINDOW site AS (PARTITION BY suppressed_by IS NOT NULL, process_id, bare,"
     "     function, file, line))"
     " SELECT process_id, stack_id, blocks, bytes, function, file, line, classes,"
     "   dense_rank() OVER (ORDER BY suppressed_by IS NOT NULL, site_bytes DESC,"
     "     site_blocks DESC, process_id, bare, function, file, line), suppressed_by"
     " FROM sites ORDER BY 9, bytes DESC, blocks DESC, stack_id",
     row_leak},
    {"SELECT process_id, requested_size, class_id, allocs FROM size_histogram"
     " ORDER BY process_id, requested_size",
     row_size},
};

static int model_load(struct model *m, char *err, size_t err_cap)
{
    for (size_t i = 0; i < sizeof model_queries / sizeof model_queries[0]; i++) {
        if (model_each_row(m, model_queries[i].sql, model_queries[i].fn, NULL, err, err_cap) != 0)
            return -1;
        if (i == 0 && model_read_classes(m, err, err_cap) != 0)
            return -1;
    }
    if (model_peaks(m, err, err_cap) != 0 || model_read_corruption(m, err, err_cap) != 0 ||
        model_read_calls(m, err, err_cap) != 0)
        return -1;
    m->stacks_off = m->process_count > 0;
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        if (p->stack_depth > 0)
            m->stacks_off = false;
        if (p->sample_bytes > 0)
            m->sampled = true;
        if (p->end_ns == 0)
            m->live = true;
    }
    return 0;
}

int model_load_path(struct model *m, const char *path, const struct suppress_list *suppressions,
                    char *err, size_t err_cap)
{
    *m = (struct model){.path = path, .path_shown = mem_safedup(path)};
    m->stacks = mem_zalloc(1, sizeof *m->stacks);
    if (tracedb_open(&m->db, path, err, err_cap) != 0)
        return -1;
    if (tracedb_process_count(&m->db) == 0) {
        snprintf(err, err_cap,
                 "%s: holds no traced process yet; wait for the program to start, or trace it "
                 "again",
                 m->path_shown);
        return -1;
    }
    if (suppress_install(suppressions, m->db.conn, err, err_cap) != 0)
        return -1;
    return model_load(m, err, err_cap);
}

void model_free(struct model *m)
{
    for (size_t c = 0; c < m->class_count; c++)
        free(m->classes[c].name);
    free(m->classes);
    free(m->totals);
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_process *p = &m->processes[i];
        free(p->via), free(p->exe), free(p->cmdline), free(p->end_reason), free(p->mode);
        free(p->overflow);
        free(p->classes), free(p->model_class), free(p->class_ids);
    }
    free(m->processes);
    for (size_t i = 0; i < m->leak_count; i++) {
        struct model_leak *l = &m->leaks[i];
        free(l->function), free(l->file), free(l->class_names), free(l->suppressed_by);
    }
    free(m->leaks);
    for (size_t i = 0; i < m->corruption_group_count; i++) {
        struct model_corruption_group *g = &m->corruption_groups[i];
        free(g->kind), free(g->call), free(g->function), free(g->file), free(g->class_name);
    }
    free(m->corruption_groups);
    for (size_t i = 0; i < m->corruption_kind_count; i++)
        free(m->corruption_kinds[i].kind);
    free(m->corruption_kinds);
    free(m->sizes);
    for (size_t i = 0; i < m->call_count; i++)
        free(m->calls[i].call);
    free(m->calls);
    if (m->stacks != NULL) {
        for (size_t i = 0; i < m->stacks->count; i++)
            model_stack_free(m->stacks->stacks[i]);
        free(m->stacks->stacks);
        strmap_free(&m->stacks->index);
        sqlite3_finalize(m->stacks->read);
        free(m->stacks);
    }
    tracedb_close(&m->db);
    free(m->path_shown);
    *m = (struct model){0};
}

/* ---- lookups and whole-run figures ------------------------------------- */

const struct model_process *model_process(const struct model *m, int64_t process_id)
{
    for (size_t i = 0; i < m->process_count; i++) {
        if (m->processes[i].process_id == process_id)
            return &m->processes[i];
    }
    return NULL;
}

/* The blocks (or bytes) of the leaks that are suppressed or not. */
static int64_t model_leak_sum(const struct model *m, bool suppressed, bool bytes)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->leak_count; i++) {
        const struct model_leak *l = &m->leaks[i];
        if ((l->suppressed_by != NULL) == suppressed)
            n += bytes ? l->bytes : l->blocks;
    }
    return n;
}

int64_t model_total_leak_blocks(const struct model *m) { return model_leak_sum(m, false, false); }
int64_t model_total_leak_bytes(const struct model *m) { return model_leak_sum(m, false, true); }
int64_t model_total_suppressed_blocks(const struct model *m) { return model_leak_sum(m, true, false); }
int64_t model_total_suppressed_bytes(const struct model *m) { return model_leak_sum(m, true, true); }

int64_t model_total_dropped(const struct model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->process_count; i++)
        n += m->processes[i].dropped_records + m->processes[i].lost_no_slot;
    return n;
}

struct model_class model_sum_classes(const struct model_class *classes, size_t count)
{
    struct model_class t = {0};
    for (size_t i = 0; classes != NULL && i < count; i++) {
        const struct model_class *c = &classes[i];
        t.allocs += c->allocs;
        t.frees += c->frees;
        t.requested_bytes += c->requested_bytes;
        t.usable_bytes += c->usable_bytes;
        t.live_blocks += c->live_blocks;
        t.live_requested_bytes += c->live_requested_bytes;
        t.live_usable_bytes += c->live_usable_bytes;
        t.cached_blocks += c->cached_blocks;
        t.pooled_blocks += c->pooled_blocks;
        t.cached_bytes += c->cached_bytes;
        t.pooled_bytes += c->pooled_bytes;
        t.peak_live_usable_bytes += c->peak_live_usable_bytes;
    }
    return t;
}

bool model_class_active(const struct model_class *c)
{
    return c->allocs > 0 || c->live_blocks > 0 || c->cached_blocks > 0 || c->pooled_blocks > 0;
}

double model_waste_pct(int64_t requested_bytes, int64_t usable_bytes)
{
    return usable_bytes > 0 ? 100.0 * (double)(usable_bytes - requested_bytes) / (double)usable_bytes
                            : 0.0;
}

int64_t model_duration_ns(const struct model *m)
{
    int64_t first = 0, last = 0;
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        if (p->start_ns != 0 && (first == 0 || p->start_ns < first))
            first = p->start_ns;
        if (p->end_ns > last)
            last = p->end_ns;
    }
    return first != 0 && last > first ? last - first : 0;
}

const char *model_no_stacks_reason(const struct model *m)
{
    if (m->stacks_off)
        return "was traced with stacks off (ORTHO_TRACE_STACKS=0); trace it again with stacks on "
               "(ortho-run --stacks 32)";
    if (model_count_sites(m, "t.has_stack", false) > 0)
        return NULL;
    return "holds no allocation with a call stack; trace a run that allocates, with stacks on";
}
