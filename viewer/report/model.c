/* model.c - fills struct model from a trace database (see model.h). One
 * query per kind of row, each run through model_each_row, which turns a
 * failing query into the one-line error the caller prints. The database is
 * read as it is, even while the collector still writes it (WAL): the model
 * is then a snapshot, and model.live says so. Names of C library functions
 * may carry a symbol version (pthread_create@@GLIBC_2.34); the model drops
 * it, because the version is noise to a reader and splits one function
 * into two rows. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_mem.h"

typedef void (*model_row_fn)(struct model *m, sqlite3_stmt *row, void *ctx);

/* Runs sql and calls fn for each row. 0, or -1 with the reason in err. */
static int model_each_row(struct model *m, struct tracedb *db, const char *sql, model_row_fn fn,
                          void *ctx, char *err, size_t err_cap)
{
    sqlite3_stmt *stmt = tracedb_prepare(db, sql, err, err_cap);
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
        snprintf(err, err_cap, "%s: reading failed (%s)", m->path_shown, sqlite3_errmsg(db->conn));
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
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

/* Drops a symbol version ("@GLIBC_2.2.5", "@@GLIBC_2.34") from a function name. */
static char *model_clean_function(char *name)
{
    if (name != NULL) {
        char *at = strchr(name, '@');
        if (at != NULL && at != name)
            *at = '\0';
    }
    return name;
}

/* ---- rows -------------------------------------------------------------- */

static void row_class(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    int64_t id = col_int(row, 0);
    if (id < 0 || id >= MODEL_CLASS_SLOTS)
        return; /* a class this build does not know; the version check guards the rest */
    m->class_names[id] = col_text(row, 1);
    m->payload_bytes[id] = col_int(row, 2);
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
    int64_t id = col_int(row, 1);
    if (p == NULL || id < 0 || id >= MODEL_CLASS_SLOTS)
        return;
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

static void row_site(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->sites, m->site_count, sizeof *m->sites);
    m->sites[m->site_count++] = (struct model_site){
        .process_id = col_int(row, 0), .function = col_text(row, 1), .file = col_text(row, 2),
        .line = col_int(row, 3), .stacks = col_int(row, 4), .allocs = col_int(row, 5),
        .alloc_bytes = col_int(row, 6), .frees = col_int(row, 7), .live_blocks = col_int(row, 8),
        .live_bytes = col_int(row, 9), .peak_live_bytes = col_int(row, 10),
        .est_allocs = sqlite3_column_double(row, 11), .est_bytes = sqlite3_column_double(row, 12),
        .has_stack = col_int(row, 13) != 0};
}

static void row_stack_site(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->stack_sites, m->stack_site_count, sizeof *m->stack_sites);
    m->stack_sites[m->stack_site_count++] = (struct model_stack_site){
        .process_id = col_int(row, 0), .stack_id = col_int(row, 1), .allocs = col_int(row, 2),
        .alloc_bytes = col_int(row, 3), .live_blocks = col_int(row, 4),
        .live_bytes = col_int(row, 5), .est_allocs = sqlite3_column_double(row, 6),
        .est_bytes = sqlite3_column_double(row, 7)};
}

/* Frames arrive ordered by process, stack, level: a new stack starts when
 * the key changes. */
static void row_frame(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    int64_t process_id = col_int(row, 0), stack_id = col_int(row, 1);
    struct model_stack *s = m->stack_count ? &m->stacks[m->stack_count - 1] : NULL;
    if (s == NULL || s->process_id != process_id || s->stack_id != stack_id) {
        mem_push((void **)&m->stacks, m->stack_count, sizeof *m->stacks);
        s = &m->stacks[m->stack_count++];
        *s = (struct model_stack){.process_id = process_id, .stack_id = stack_id,
                                  .truncated = col_int(row, 2) != 0};
    }
    mem_push((void **)&s->frames, s->frame_count, sizeof *s->frames);
    s->frames[s->frame_count++] = (struct model_frame){
        .pc = (uint64_t)col_int(row, 4), .function = model_clean_function(col_text(row, 5)),
        .module = col_text(row, 6), .file = col_text(row, 7), .line = col_int(row, 8)};
}

static void row_leak(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->leaks, m->leak_count, sizeof *m->leaks);
    m->leaks[m->leak_count++] = (struct model_leak){
        .process_id = col_int(row, 0), .stack_id = col_int(row, 1), .blocks = col_int(row, 2),
        .bytes = col_int(row, 3), .function = model_clean_function(col_text(row, 4)),
        .file = col_text(row, 5), .line = col_int(row, 6), .class_names = col_text(row, 7)};
}

static void row_corruption(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->corruption, m->corruption_count, sizeof *m->corruption);
    m->corruption[m->corruption_count++] = (struct model_corruption){
        .event_id = col_int(row, 0), .process_id = col_int(row, 1), .thread_id = col_int(row, 2),
        .ts_ns = col_int(row, 3), .kind = col_text(row, 4), .call = col_text(row, 5),
        .class_name = col_text(row, 6), .function = model_clean_function(col_text(row, 7)),
        .file = col_text(row, 8), .line = col_int(row, 9), .address = (uint64_t)col_int(row, 10),
        .stack_id = col_int(row, 11), .alloc_thread_id = col_int(row, 12),
        .alloc_stack_id = col_int(row, 13)};
}

static void row_size(struct model *m, sqlite3_stmt *row, void *ctx)
{
    (void)ctx;
    mem_push((void **)&m->sizes, m->size_count, sizeof *m->sizes);
    m->sizes[m->size_count++] = (struct model_size){
        .process_id = col_int(row, 0), .requested_size = col_int(row, 1),
        .class_id = (int)col_int(row, 2), .allocs = col_int(row, 3)};
}

/* The series gives each class's live bytes at sample points (a row only
 * when the class changed): walking it in time order with each class's
 * latest value gives the process's total at every sample point. */
struct series_walk {
    int64_t process_id;
    int64_t ts_ns;
    int64_t live[MODEL_CLASS_SLOTS]; /* latest live usable bytes per class */
    int64_t total;                   /* their sum */
};

static void series_close_point(struct model *m, const struct series_walk *w)
{
    struct model_process *p = (struct model_process *)model_process(m, w->process_id);
    if (p != NULL && w->total > p->peak_low_bytes)
        p->peak_low_bytes = w->total;
}

static void row_series(struct model *m, sqlite3_stmt *row, void *ctx)
{
    struct series_walk *w = ctx;
    int64_t process_id = col_int(row, 0), class_id = col_int(row, 1), ts_ns = col_int(row, 2);
    if (class_id < 0 || class_id >= MODEL_CLASS_SLOTS)
        return;
    if (process_id != w->process_id) {
        series_close_point(m, w);
        *w = (struct series_walk){.process_id = process_id};
    } else if (ts_ns != w->ts_ns) {
        series_close_point(m, w);
    }
    w->ts_ns = ts_ns;
    w->total += col_int(row, 3) - w->live[class_id];
    w->live[class_id] = col_int(row, 3);
}

/* Full mode: the exact peak, by running sum over allocations and frees in
 * time order (frees first at equal times). */
static int model_exact_peak(struct model *m, struct tracedb *db, struct model_process *p,
                            char *err, size_t err_cap)
{
    sqlite3_stmt *stmt = tracedb_prepare(
        db,
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

static int model_peaks(struct model *m, struct tracedb *db, char *err, size_t err_cap)
{
    struct series_walk walk = {0};
    if (model_each_row(m, db,
                       "SELECT process_id, class_id, ts_ns, live_usable_bytes FROM class_series"
                       " ORDER BY process_id, ts_ns, class_id",
                       row_series, &walk, err, err_cap) != 0)
        return -1;
    series_close_point(m, &walk);
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_process *p = &m->processes[i];
        int64_t final = 0, high = 0;
        for (int c = 0; c < MODEL_CLASS_SLOTS; c++) {
            final += p->classes[c].live_usable_bytes;
            high += p->classes[c].peak_live_usable_bytes;
        }
        /* The end state is a sample point the series may not have caught. */
        if (final > p->peak_low_bytes)
            p->peak_low_bytes = final;
        p->peak_high_bytes = high < p->peak_low_bytes ? p->peak_low_bytes : high;
        if (p->mode != NULL && strcmp(p->mode, "full") == 0 &&
            model_exact_peak(m, db, p, err, err_cap) != 0)
            return -1;
    }
    return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* The queries, in load order: processes first, as the class rows are
 * attached to their process. */
static const struct {
    const char *sql;
    model_row_fn fn;
} model_queries[] = {
    {"SELECT class_id, class_name, coalesce(payload_size, 0) FROM classes ORDER BY class_id",
     row_class},
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
     " s.peak_live_usable_bytes"
     " FROM class_totals t JOIN fragmentation f USING (process_id, class_id)"
     " JOIN class_stats s USING (process_id, class_id) ORDER BY t.process_id, t.class_id",
     row_class_stats},
    {"SELECT si.process_id, fn, st.site_file, coalesce(st.site_line, 0), count(*),"
     " sum(si.allocs), sum(si.alloc_bytes), sum(si.frees), sum(si.live_blocks),"
     " sum(si.live_bytes), max(si.peak_live_bytes), sum(si.est_allocs), sum(si.est_bytes),"
     " max(si.stack_id <> 0) FROM sites si LEFT JOIN (SELECT *, CASE WHEN instr(site_function, '@') > 1"
     "   THEN substr(site_function, 1, instr(site_function, '@') - 1)"
     "   ELSE site_function END AS fn FROM stacks) st"
     " ON st.process_id = si.process_id AND st.stack_id = si.stack_id"
     " GROUP BY si.process_id, fn, st.site_file, st.site_line"
     " ORDER BY si.process_id, sum(si.alloc_bytes) DESC, sum(si.allocs) DESC, fn",
     row_site},
    {"SELECT process_id, stack_id, allocs, alloc_bytes, live_blocks, live_bytes, est_allocs,"
     " est_bytes FROM sites ORDER BY process_id, stack_id",
     row_stack_site},
    {"SELECT f.process_id, f.stack_id, coalesce(st.truncated, 0), f.level, f.pc, f.function,"
     " f.module, f.file, coalesce(f.line, 0) FROM frames f"
     " LEFT JOIN stacks st ON st.process_id = f.process_id AND st.stack_id = f.stack_id"
     " ORDER BY f.process_id, f.stack_id, f.level",
     row_frame},
    {"SELECT process_id, stack_id, count(*), sum(requested_size), function, file,"
     " coalesce(line, 0), group_concat(DISTINCT class_name) FROM leaks"
     " GROUP BY process_id, stack_id"
     " ORDER BY sum(requested_size) DESC, count(*) DESC, process_id, stack_id",
     row_leak},
    {"SELECT event_id, process_id, coalesce(thread_id, 0), ts_ns, kind, call, class_name,"
     " function, file, coalesce(line, 0), coalesce(address, 0), coalesce(stack_id, 0),"
     " coalesce(alloc_thread_id, 0), coalesce(alloc_stack_id, 0) FROM corruption"
     " ORDER BY process_id, ts_ns, event_id",
     row_corruption},
    {"SELECT process_id, requested_size, class_id, allocs FROM size_histogram"
     " ORDER BY process_id, requested_size",
     row_size},
};

int model_load(struct model *m, struct tracedb *db, char *err, size_t err_cap)
{
    *m = (struct model){.path = db->path, .path_shown = mem_safedup(db->path)};
    for (size_t i = 0; i < sizeof model_queries / sizeof model_queries[0]; i++) {
        if (model_each_row(m, db, model_queries[i].sql, model_queries[i].fn, NULL, err,
                           err_cap) != 0)
            return -1;
    }
    if (model_peaks(m, db, err, err_cap) != 0)
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
    for (int c = 0; c < MODEL_CLASS_SLOTS; c++) {
        if (m->class_names[c] == NULL) {
            snprintf(err, err_cap, "%s: its classes table lacks class %d; trace the program again",
                     m->path_shown, c);
            return -1;
        }
    }
    return 0;
}

int model_load_path(struct model *m, const char *path, char *err, size_t err_cap)
{
    struct tracedb db;
    *m = (struct model){.path = path, .path_shown = mem_safedup(path)};
    if (tracedb_open(&db, path, err, err_cap) != 0)
        return -1;
    if (tracedb_process_count(&db) == 0) {
        snprintf(err, err_cap,
                 "%s: holds no traced process yet; wait for the program to start, or trace it "
                 "again",
                 path);
        tracedb_close(&db);
        return -1;
    }
    free(m->path_shown);
    int rc = model_load(m, &db, err, err_cap);
    tracedb_close(&db);
    return rc;
}

void model_free(struct model *m)
{
    for (int c = 0; c < MODEL_CLASS_SLOTS; c++)
        free(m->class_names[c]);
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_process *p = &m->processes[i];
        free(p->via), free(p->exe), free(p->cmdline), free(p->end_reason), free(p->mode);
        free(p->overflow);
    }
    free(m->processes);
    for (size_t i = 0; i < m->site_count; i++)
        free(m->sites[i].function), free(m->sites[i].file);
    free(m->sites);
    free(m->stack_sites);
    for (size_t i = 0; i < m->stack_count; i++) {
        struct model_stack *s = &m->stacks[i];
        for (size_t f = 0; f < s->frame_count; f++)
            free(s->frames[f].function), free(s->frames[f].module), free(s->frames[f].file);
        free(s->frames);
    }
    free(m->stacks);
    for (size_t i = 0; i < m->leak_count; i++)
        free(m->leaks[i].function), free(m->leaks[i].file), free(m->leaks[i].class_names);
    free(m->leaks);
    for (size_t i = 0; i < m->corruption_count; i++) {
        struct model_corruption *c = &m->corruption[i];
        free(c->kind), free(c->call), free(c->class_name), free(c->function), free(c->file);
    }
    free(m->corruption);
    free(m->sizes);
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

const struct model_stack *model_stack(const struct model *m, int64_t process_id,
                                      int64_t stack_id)
{
    /* Stacks are sorted by (process_id, stack_id): binary search. */
    size_t lo = 0, hi = m->stack_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct model_stack *s = &m->stacks[mid];
        if (s->process_id < process_id || (s->process_id == process_id && s->stack_id < stack_id))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->stack_count && m->stacks[lo].process_id == process_id &&
        m->stacks[lo].stack_id == stack_id)
        return &m->stacks[lo];
    return NULL;
}

int64_t model_total_leak_blocks(const struct model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->leak_count; i++)
        n += m->leaks[i].blocks;
    return n;
}

int64_t model_total_leak_bytes(const struct model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->leak_count; i++)
        n += m->leaks[i].bytes;
    return n;
}

int64_t model_total_dropped(const struct model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->process_count; i++)
        n += m->processes[i].dropped_records + m->processes[i].lost_no_slot;
    return n;
}

struct model_class model_sum_classes(const struct model_class classes[MODEL_CLASS_SLOTS])
{
    struct model_class t = {0};
    for (int i = 0; i < MODEL_CLASS_SLOTS; i++) {
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
    for (size_t i = 0; i < m->stack_site_count; i++) {
        if (m->stack_sites[i].stack_id != 0)
            return NULL;
    }
    return "holds no allocation with a call stack; trace a run that allocates, with stacks on";
}
