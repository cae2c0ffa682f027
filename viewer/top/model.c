/* model.c - reads a trace database into ortho-top's structs (see model.h).
 * One refresh is one read transaction, so every table is seen as of the
 * same collector commit. A refresh reads into fresh arrays first and swaps
 * them in only when every query succeeded: a database that is locked or
 * half-written at the wrong moment leaves the previous model intact, which
 * is what lets the live view report a failed refresh and carry on. Timeline
 * rows (class_timeline) are appended per process from a watermark (the
 * newest ts_ns loaded): the collector stamps all rows of one commit with
 * the process's newest event time, which only grows, and rewrites a row of
 * the same ts_ns with INSERT OR REPLACE; the view's last row of a class
 * (class_stats') moves on with each commit; so rows at the watermark
 * replace, newer ones append. A process's classes are read once, the
 * refresh it first appears in, and the model's list of classes (the union
 * over processes) is rebuilt only when a process brought new ones. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetext.h"

/* One new class_timeline row: which process (index into the load's procs)
 * and class it belongs to. */
struct top_load_row {
    size_t proc;
    int64_t class_id;
    struct top_sample sample;
};

/* What one refresh reads before it is swapped into the model. */
struct top_load {
    struct top_process *procs;
    size_t proc_count, proc_cap;
    struct top_site *sites;
    size_t site_count, site_cap;
    int64_t site_total;         /* how many sites the query matches */
    struct top_thread *threads;
    size_t thread_count, thread_cap;
    struct top_event *events;
    size_t event_count, event_cap;
    struct top_load_row *rows;  /* new series rows */
    size_t row_count, row_cap;
    bool new_classes;           /* some process's classes were read for the first time */
};

/* Text from the database, "" for NULL, made safe to print (safetext.h):
 * every name on every screen went through one of these two. NULL when out
 * of memory. */
static char *model_strdup(const unsigned char *text)
{
    return safetext_dup(text != NULL ? (const char *)text : "");
}

static void model_copy_text(char *dst, size_t cap, const unsigned char *text)
{
    safetext_copy(dst, cap, (const char *)text);
}

/* The index of process_id in procs (read ORDER BY process_id, so
 * ascending), or -1: a binary search, as a tree has thousands. */
static int model_proc_index(const struct top_process *procs, size_t count, int64_t process_id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (procs[mid].process_id < process_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && procs[lo].process_id == process_id ? (int)lo : -1;
}

/* Grows *array (of elem bytes each) so it holds one more than *count. */
static int model_grow(void **array, size_t *cap, size_t count, size_t elem)
{
    if (count < *cap)
        return 0;
    size_t next = *cap ? *cap * 2 : 16;
    void *bigger = realloc(*array, next * elem);
    if (bigger == NULL)
        return -1;
    *array = bigger;
    *cap = next;
    return 0;
}

/* Frees what a process holds of its classes and leaves it none. */
static void model_free_proc_classes(struct top_process *p)
{
    for (size_t c = 0; p->series != NULL && c < p->class_count; c++)
        free(p->series[c].samples);
    free(p->series);
    free(p->classes);
    free(p->model_class);
    free(p->class_of);
    p->series = NULL;
    p->classes = NULL;
    p->model_class = p->class_of = NULL;
    p->class_count = 0;
}

static void model_free_procs(struct top_process *procs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(procs[i].exe);
        free(procs[i].cmdline);
        model_free_proc_classes(&procs[i]);
    }
    free(procs);
}

static void model_free_sites(struct top_site *sites, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(sites[i].function);
        free(sites[i].file);
    }
    free(sites);
}

static void model_free_events(struct top_event *events, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(events[i].function);
        free(events[i].file);
    }
    free(events);
}

static void model_load_free(struct top_load *l)
{
    /* procs of a load own their strings, and the classes of processes read
     * for the first time; known processes' classes and series are moved in
     * from the model by model_load_commit, never duplicated. */
    model_free_procs(l->procs, l->proc_count);
    model_free_sites(l->sites, l->site_count);
    free(l->threads);
    model_free_events(l->events, l->event_count);
    free(l->rows);
    memset(l, 0, sizeof *l);
}

static int model_fail_step(struct top_model *m, sqlite3_stmt *stmt, char *err, size_t cap)
{
    snprintf(err, cap, "query failed: %s", sqlite3_errmsg(m->db->conn));
    sqlite3_finalize(stmt);
    return -1;
}

/* Every reader below is a query plus a function that takes one row: 0 to
 * go on, -1 when out of memory. This steps s through its rows; on failure
 * it finalizes s and says in err what went wrong (reading `what`). On
 * success s is left for the caller (to re-bind, or finalize). */
typedef int (*model_row_fn)(sqlite3_stmt *s, void *arg);

static int model_each_row(struct top_model *m, sqlite3_stmt *s, const char *what,
                          model_row_fn row, void *arg, char *err, size_t cap)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (row(s, arg) != 0) {
            sqlite3_finalize(s);
            snprintf(err, cap, "out of memory reading %s", what);
            return -1;
        }
    }
    if (rc != SQLITE_DONE)
        return model_fail_step(m, s, err, cap);
    return 0;
}

/* Prepares sql, hands each row to row, finalizes. */
static int model_query(struct top_model *m, const char *sql, const char *what, model_row_fn row,
                       void *arg, char *err, size_t cap)
{
    sqlite3_stmt *s = tracedb_prepare(m->db, sql, err, cap);
    if (s == NULL)
        return -1;
    if (model_each_row(m, s, what, row, arg, err, cap) != 0)
        return -1;
    sqlite3_finalize(s);
    return 0;
}

struct model_classes_read {
    struct top_class_info *classes;
    size_t count, cap;
};

static int model_class_row(sqlite3_stmt *s, void *arg)
{
    struct model_classes_read *r = arg;
    /* class_id runs 0 .. n-1 then LARGE (schema.sql): a row out of that
     * order means a damaged table, which ends the list where it breaks. */
    if (sqlite3_column_int64(s, 0) != (int64_t)r->count)
        return 0;
    if (model_grow((void **)&r->classes, &r->cap, r->count, sizeof *r->classes) != 0)
        return -1;
    struct top_class_info *c = &r->classes[r->count++];
    memset(c, 0, sizeof *c);
    model_copy_text(c->name, sizeof c->name, sqlite3_column_text(s, 1));
    c->large = sqlite3_column_type(s, 2) == SQLITE_NULL;
    c->payload_bytes = c->large ? 0 : sqlite3_column_int64(s, 2);
    c->block_bytes = c->large ? 0 : sqlite3_column_int64(s, 3);
    return 0;
}

/* The classes of each process the model does not know yet (those it knows
 * keep theirs: a process's table is fixed at its start). */
static int model_read_proc_classes(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    sqlite3_stmt *s = tracedb_prepare(m->db,
        "SELECT class_id, class_name, payload_size, coalesce(block_size, 0) FROM classes "
        "WHERE process_id = ?1 ORDER BY class_id", err, cap);
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < l->proc_count; i++) {
        struct top_process *p = &l->procs[i];
        int old = top_model_find_process(m, p->process_id);
        if (old >= 0 && m->procs[old].class_count > 0)
            continue;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, p->process_id);
        struct model_classes_read r = {0};
        if (model_each_row(m, s, "size classes", model_class_row, &r, err, cap) != 0) {
            free(r.classes);
            return -1;
        }
        if (r.count == 0)
            continue;
        p->series = calloc(r.count, sizeof *p->series);
        p->model_class = calloc(r.count, sizeof *p->model_class);
        if (p->series == NULL || p->model_class == NULL) {
            free(r.classes);
            sqlite3_finalize(s);
            snprintf(err, cap, "out of memory reading size classes");
            return -1;
        }
        p->classes = r.classes;
        p->class_count = r.count;
        l->new_classes = true;
    }
    sqlite3_finalize(s);
    return 0;
}

/* The model's order of classes: by payload, LARGE after all. */
static int model_class_cmp(const void *a, const void *b)
{
    const struct top_class_info *x = a, *y = b;
    if (x->large != y->large)
        return x->large ? 1 : -1;
    return (x->payload_bytes > y->payload_bytes) - (x->payload_bytes < y->payload_bytes);
}

/* Rebuilds the model's classes as the union of procs' classes, and each
 * process's maps to and from it. -1 when out of memory (the model keeps
 * its previous list; processes whose maps could not be made show no
 * classes until the next refresh). */
static int model_build_classes(struct top_model *m, struct top_process *procs, size_t count)
{
    size_t all = 0;
    for (size_t i = 0; i < count; i++)
        all += procs[i].class_count;
    struct top_class_info *u = malloc((all ? all : 1) * sizeof *u);
    if (u == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        for (size_t c = 0; c < procs[i].class_count; c++)
            u[n++] = procs[i].classes[c];
    qsort(u, n, sizeof *u, model_class_cmp);
    size_t distinct = 0;
    for (size_t k = 0; k < n; k++)
        if (distinct == 0 || model_class_cmp(&u[distinct - 1], &u[k]) != 0)
            u[distinct++] = u[k];
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        struct top_process *p = &procs[i];
        free(p->class_of);
        p->class_of = malloc((distinct ? distinct : 1) * sizeof *p->class_of);
        if (p->class_of == NULL) {
            failed = 1;
            continue;
        }
        for (size_t k = 0; k < distinct; k++)
            p->class_of[k] = -1;
        for (size_t c = 0; c < p->class_count; c++) {
            const struct top_class_info *hit =
                bsearch(&p->classes[c], u, distinct, sizeof *u, model_class_cmp);
            p->model_class[c] = (int)(hit - u);
            p->class_of[hit - u] = (int)c;
        }
    }
    free(m->classes);
    m->classes = u;
    m->class_count = distinct;
    return failed ? -1 : 0;
}

const struct top_series *top_process_series(const struct top_process *p, size_t c)
{
    if (p->class_of == NULL || p->class_count == 0)
        return NULL;
    int local = p->class_of[c];
    return local >= 0 ? &p->series[local] : NULL;
}

static int model_process_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    if (model_grow((void **)&l->procs, &l->proc_cap, l->proc_count, sizeof *l->procs) != 0)
        return -1;
    struct top_process *p = &l->procs[l->proc_count];
    memset(p, 0, sizeof *p);
    l->proc_count++;
    p->process_id = sqlite3_column_int64(s, 0);
    p->pid = sqlite3_column_int64(s, 1);
    p->parent_process_id = sqlite3_column_int64(s, 2);
    model_copy_text(p->via, sizeof p->via, sqlite3_column_text(s, 3));
    p->exe = model_strdup(sqlite3_column_text(s, 4));
    p->cmdline = model_strdup(sqlite3_column_text(s, 5));
    if (p->exe == NULL || p->cmdline == NULL)
        return -1;
    p->start_ns = sqlite3_column_int64(s, 6);
    p->end_ns = sqlite3_column_int64(s, 7);
    model_copy_text(p->end_reason, sizeof p->end_reason, sqlite3_column_text(s, 8));
    p->last_ts_ns = sqlite3_column_int64(s, 9);
    return 0;
}

static int model_read_processes(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    return model_query(m,
                       "SELECT process_id, pid, coalesce(parent_process_id, 0), via, exe, cmdline, "
                       "coalesce(start_ns, 0), coalesce(end_ns, 0), end_reason, "
                       "coalesce(last_ts_ns, 0) FROM processes ORDER BY process_id",
                       "processes", model_process_row, l, err, cap);
}

struct model_series_read {
    struct top_load *l;
    size_t proc; /* index into l->procs of the process being read */
};

static int model_series_row(sqlite3_stmt *s, void *arg)
{
    struct model_series_read *r = arg;
    struct top_load *l = r->l;
    if (model_grow((void **)&l->rows, &l->row_cap, l->row_count, sizeof *l->rows) != 0)
        return -1;
    struct top_load_row *row = &l->rows[l->row_count];
    row->proc = r->proc;
    row->class_id = sqlite3_column_int64(s, 0);
    row->sample.ts_ns = sqlite3_column_int64(s, 1);
    for (int f = 0; f < TOP_FIELDS; f++)
        row->sample.v[f] = sqlite3_column_int64(s, 2 + f);
    l->row_count++;
    return 0;
}

/* Timeline rows of each process at or after what the model already holds
 * (the view ends each class with class_stats' exact row). */
static int model_read_series(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    sqlite3_stmt *s = tracedb_prepare(m->db,
        "SELECT class_id, ts_ns, allocs, frees, live_blocks, live_requested_bytes, "
        "live_usable_bytes, cached_blocks, pooled_blocks, cache_refills, cache_drains, "
        "carved_blocks FROM class_timeline WHERE process_id = ?1 AND ts_ns >= ?2 "
        "ORDER BY class_id, ts_ns", err, cap);
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < l->proc_count; i++) {
        int old = top_model_find_process(m, l->procs[i].process_id);
        int64_t watermark = old >= 0 ? m->procs[old].series_ts_ns : 0;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, l->procs[i].process_id);
        sqlite3_bind_int64(s, 2, watermark);
        struct model_series_read r = {l, i};
        if (model_each_row(m, s, "the class series", model_series_row, &r, err, cap) != 0)
            return -1;
    }
    sqlite3_finalize(s);
    return 0;
}

static int model_large_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    int64_t pid = sqlite3_column_int64(s, 0);
    for (size_t i = 0; i < l->proc_count; i++)
        if (l->procs[i].process_id == pid)
            l->procs[i].large_free_bytes = sqlite3_column_int64(s, 1);
    return 0;
}

static int model_read_large(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    return model_query(m,
        "SELECT process_id, sum(large_free_bytes) FROM fragmentation GROUP BY process_id",
        "the large path", model_large_row, l, err, cap);
}

static int model_site_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    if (model_grow((void **)&l->sites, &l->site_cap, l->site_count, sizeof *l->sites) != 0)
        return -1;
    struct top_site *t = &l->sites[l->site_count];
    memset(t, 0, sizeof *t);
    l->site_count++;
    t->process_id = sqlite3_column_int64(s, 0);
    t->function = model_strdup(sqlite3_column_text(s, 1));
    t->file = model_strdup(sqlite3_column_text(s, 2));
    if (t->function == NULL || t->file == NULL)
        return -1;
    t->line = sqlite3_column_int64(s, 3);
    t->allocs = sqlite3_column_int64(s, 4);
    t->alloc_bytes = sqlite3_column_int64(s, 5);
    t->frees = sqlite3_column_int64(s, 6);
    t->live_blocks = sqlite3_column_int64(s, 7);
    t->live_bytes = sqlite3_column_int64(s, 8);
    t->peak_live_bytes = sqlite3_column_int64(s, 9);
    t->stacks = sqlite3_column_int64(s, 10);
    t->allocs_per_s = sqlite3_column_double(s, 11); /* the lifetime rate; live runs redo it */
    l->site_total = sqlite3_column_int64(s, 12);
    return 0;
}

/* The site rows of a query: the top_sites view, one process's rows or
 * every process's summed per site, with the names the screen shows
 * (screens.c matches its filter against the same text). Columns: process
 * (0 when several), function, file, line, the counters, each site's
 * allocations per second over its processes' lifetimes, and (added by
 * model_read_sites) how many rows the query has in all. */
#define MODEL_SITE_NAME                                                                     \
    "CASE WHEN t.has_stack = 0 THEN '(no stack)' ELSE coalesce(t.function, '(unknown)') END"
#define MODEL_SITE_WHERE                                                                    \
    " WHERE (?1 = 0 OR t.process_id = ?1) AND (?2 = ''"                                      \
    "   OR instr(lower(" MODEL_SITE_NAME "), lower(?2)) > 0"                                 \
    "   OR instr(lower(CASE WHEN coalesce(t.file, '') = '' THEN '?'"                         \
    "                  ELSE t.file || ':' || coalesce(t.line, 0) END), lower(?2)) > 0)"
#define MODEL_SITE_RATE                                                                     \
    "CASE WHEN p.end_ns > p.start_ns THEN t.allocs * 1e9 / (p.end_ns - p.start_ns) ELSE 0 END"
/* One process's rows (or the only process's) are the view's own. */
#define MODEL_SITES_OF_ONE                                                                  \
    "SELECT t.process_id, " MODEL_SITE_NAME ", coalesce(t.file, ''), coalesce(t.line, 0),"   \
    " t.allocs, t.alloc_bytes, t.frees, t.live_blocks, t.live_bytes, t.peak_live_bytes,"     \
    " t.stacks, " MODEL_SITE_RATE " FROM top_sites t JOIN processes p USING (process_id)"    \
    MODEL_SITE_WHERE
/* Every process: a site found in several processes is one row. */
#define MODEL_SITES_OF_ALL                                                                  \
    "SELECT CASE WHEN count(DISTINCT t.process_id) = 1 THEN min(t.process_id) ELSE 0 END,"   \
    " " MODEL_SITE_NAME ", coalesce(t.file, ''), coalesce(t.line, 0), sum(t.allocs),"        \
    " sum(t.alloc_bytes), sum(t.frees), sum(t.live_blocks), sum(t.live_bytes),"              \
    " max(t.peak_live_bytes), sum(t.stacks), sum(" MODEL_SITE_RATE ")"                       \
    " FROM top_sites t JOIN processes p USING (process_id)" MODEL_SITE_WHERE                 \
    " GROUP BY t.function, t.file, t.line, t.has_stack"

/* ORDER BY of each enum top_site_order, by result column (1-based, as in
 * MODEL_SITES_OF_*); live runs rank ALLOC/s by allocations (rates since
 * the last refresh are the model's own, see model_load_commit). */
static const char *const model_site_orders[TOP_SITES_ORDERS] = {
    [TOP_SITES_BY_LIVE_BYTES] = "9", [TOP_SITES_BY_LIVE_BLOCKS] = "8",
    [TOP_SITES_BY_RATE] = "12",      [TOP_SITES_BY_ALLOCS] = "5",
    [TOP_SITES_BY_BYTES] = "6",      [TOP_SITES_BY_FUNCTION] = "2",
    [TOP_SITES_BY_FILE] = "3",       [TOP_SITES_BY_FREES] = "7",
    [TOP_SITES_BY_PEAK] = "10",      [TOP_SITES_BY_STACKS] = "11",
    [TOP_SITES_BY_PROCESS] = "1",
};

static bool model_load_is_live(const struct top_load *l)
{
    for (size_t i = 0; i < l->proc_count; i++)
        if (l->procs[i].end_ns == 0)
            return true;
    return false;
}

/* The sites of m->site_query: the first TOP_SITES_MAX in its order, and
 * how many there are (counted in the same pass: a window over the rows,
 * which SQLite keeps on disk when they are many). */
static int model_read_sites(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    const struct top_site_query *q = &m->site_query;
    l->site_total = 0;
    if (!q->wanted)
        return 0;
    enum top_site_order order = q->order < TOP_SITES_ORDERS ? q->order : TOP_SITES_BY_LIVE_BYTES;
    const char *key = order == TOP_SITES_BY_RATE && model_load_is_live(l)
                          ? model_site_orders[TOP_SITES_BY_ALLOCS]
                          : model_site_orders[order];
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT *, count(*) OVER () FROM (%s) ORDER BY %s %s, 9 DESC, 6 DESC, 2, 3, 4 LIMIT %d",
             q->process_id != 0 || l->proc_count == 1 ? MODEL_SITES_OF_ONE : MODEL_SITES_OF_ALL,
             key, q->descending ? "DESC" : "ASC", TOP_SITES_MAX);
    sqlite3_stmt *s = tracedb_prepare(m->db, sql, err, cap);
    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, q->process_id);
    sqlite3_bind_text(s, 2, q->filter, -1, SQLITE_STATIC);
    if (model_each_row(m, s, "sites", model_site_row, l, err, cap) != 0)
        return -1;
    sqlite3_finalize(s);
    return 0;
}

bool top_model_set_site_query(struct top_model *m, const struct top_site_query *q)
{
    const struct top_site_query *o = &m->site_query;
    bool changed = o->wanted != q->wanted || o->process_id != q->process_id ||
                   o->order != q->order || o->descending != q->descending ||
                   strcmp(o->filter, q->filter) != 0;
    m->site_query = *q;
    return changed;
}

static int model_thread_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    if (model_grow((void **)&l->threads, &l->thread_cap, l->thread_count, sizeof *l->threads) != 0)
        return -1;
    struct top_thread *t = &l->threads[l->thread_count++];
    memset(t, 0, sizeof *t);
    t->process_id = sqlite3_column_int64(s, 0);
    t->thread_id = sqlite3_column_int64(s, 1);
    t->start_ns = sqlite3_column_int64(s, 2);
    t->end_ns = sqlite3_column_int64(s, 3);
    model_copy_text(t->name, sizeof t->name, sqlite3_column_text(s, 4));
    t->allocs = sqlite3_column_int64(s, 5);
    t->frees = sqlite3_column_int64(s, 6);
    t->alloc_bytes = sqlite3_column_int64(s, 7);
    t->freed_bytes = sqlite3_column_int64(s, 8);
    t->cross_thread_frees = sqlite3_column_int64(s, 9);
    t->dropped_records = sqlite3_column_int64(s, 10);
    return 0;
}

static int model_read_threads(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    return model_query(m,
        "SELECT process_id, thread_id, start_ns, coalesce(end_ns, 0), name, allocs, frees, "
        "alloc_bytes, freed_bytes, cross_thread_frees, dropped_records "
        "FROM threads ORDER BY process_id, start_ns, thread_id",
        "threads", model_thread_row, l, err, cap);
}

static int model_event_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    if (model_grow((void **)&l->events, &l->event_cap, l->event_count, sizeof *l->events) != 0)
        return -1;
    struct top_event *e = &l->events[l->event_count];
    memset(e, 0, sizeof *e);
    l->event_count++;
    e->event_id = sqlite3_column_int64(s, 0);
    e->process_id = sqlite3_column_int64(s, 1);
    e->thread_id = sqlite3_column_int64(s, 2);
    e->ts_ns = sqlite3_column_int64(s, 3);
    model_copy_text(e->kind, sizeof e->kind, sqlite3_column_text(s, 4));
    model_copy_text(e->call, sizeof e->call, sqlite3_column_text(s, 5));
    e->address = sqlite3_column_int64(s, 6);
    model_copy_text(e->class_name, sizeof e->class_name, sqlite3_column_text(s, 7));
    e->function = model_strdup(sqlite3_column_text(s, 8));
    e->file = model_strdup(sqlite3_column_text(s, 9));
    if (e->function == NULL || e->file == NULL)
        return -1;
    e->line = sqlite3_column_int64(s, 10);
    e->stack_id = sqlite3_column_int64(s, 11);
    e->alloc_thread_id = sqlite3_column_int64(s, 12);
    e->alloc_stack_id = sqlite3_column_int64(s, 13);
    int n = sqlite3_column_bytes(s, 14);
    const void *blob = sqlite3_column_blob(s, 14);
    if (blob != NULL && n > 0) {
        e->header_bytes = n < (int)sizeof e->header ? n : (int)sizeof e->header;
        memcpy(e->header, blob, (size_t)e->header_bytes);
    }
    return 0;
}

/* Only the events newer than those already held: rows are never changed
 * once written, and a refresh must not cost what the run ever stored. */
static int model_read_events(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT event_id, process_id, coalesce(thread_id, 0), ts_ns, kind, call, "
             "coalesce(address, 0), class_name, function, file, coalesce(line, 0), "
             "coalesce(stack_id, 0), coalesce(alloc_thread_id, 0), coalesce(alloc_stack_id, 0), "
             "header FROM corruption WHERE event_id > %lld ORDER BY event_id",
             (long long)m->event_last_id);
    return model_query(m, sql, "corruption events", model_event_row, l, err, cap);
}

static int model_corruption_count_row(sqlite3_stmt *s, void *arg)
{
    struct top_load *l = arg;
    int i = model_proc_index(l->procs, l->proc_count, sqlite3_column_int64(s, 0));
    if (i >= 0)
        l->procs[i].corruption_events = sqlite3_column_int64(s, 1);
    return 0;
}

/* Every corruption event of each process: corruption_summary counts the
 * ones past the collector's per-process cap on stored rows too (files from
 * before that view count their rows). One row per process. */
static int model_read_corruption_counts(struct top_model *m, struct top_load *l, char *err,
                                        size_t cap)
{
    bool summary = tracedb_int(m->db,
                               "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND "
                               "name = 'corruption_summary'", 0) > 0;
    return model_query(m,
                       summary ? "SELECT process_id, sum(events) FROM corruption_summary "
                                 "GROUP BY process_id"
                               : "SELECT process_id, count(*) FROM corruption GROUP BY process_id",
                       "corruption counts", model_corruption_count_row, l, err, cap);
}

/* Appends or replaces one sample at the end of a series. */
static int model_series_put(struct top_series *s, const struct top_sample *row)
{
    if (s->count > 0 && s->samples[s->count - 1].ts_ns == row->ts_ns) {
        s->samples[s->count - 1] = *row;
        return 0;
    }
    if (s->count > 0 && s->samples[s->count - 1].ts_ns > row->ts_ns)
        return 0;  /* older than what we hold: already loaded */
    if (model_grow((void **)&s->samples, &s->cap, s->count, sizeof *s->samples) != 0)
        return -1;
    s->samples[s->count++] = *row;
    return 0;
}

/* Moves the model's series into the freshly read processes, appends the new
 * rows, and swaps everything in. Cannot fail half-way on the model: the
 * only failure (memory while appending) happens before the swap. */
static int model_load_commit(struct top_model *m, struct top_load *l, char *err, size_t cap)
{
    for (size_t i = 0; i < l->proc_count; i++) {
        int old = top_model_find_process(m, l->procs[i].process_id);
        if (old < 0)
            continue;
        struct top_process *from = &m->procs[old], *to = &l->procs[i];
        to->series_ts_ns = from->series_ts_ns;
        if (from->class_count == 0)
            continue; /* read afresh by this load, if the database has them now */
        /* Moved, not copied: appending may reallocate these arrays, so the
         * model's copies of the pointers are cleared at once. */
        to->class_count = from->class_count;
        to->classes = from->classes;
        to->series = from->series;
        to->model_class = from->model_class;
        to->class_of = from->class_of;
        from->class_count = 0;
        from->classes = NULL;
        from->series = NULL;
        from->model_class = from->class_of = NULL;
    }
    int failed = 0;
    if ((l->new_classes || m->classes == NULL) &&
        model_build_classes(m, l->procs, l->proc_count) != 0)
        failed = 1;
    for (size_t r = 0; !failed && r < l->row_count; r++) {
        const struct top_load_row *row = &l->rows[r];
        struct top_process *p = &l->procs[row->proc];
        if (row->class_id < 0 || (size_t)row->class_id >= p->class_count)
            continue;
        if (model_series_put(&p->series[row->class_id], &row->sample) != 0) {
            failed = 1;
            break;
        }
        if (row->sample.ts_ns > p->series_ts_ns)
            p->series_ts_ns = row->sample.ts_ns;
    }
    /* Swap even after a failed append: the series moved over are intact
     * (at worst short of the newest rows, which the watermark re-reads). */
    int64_t prev_end = m->proc_count ? top_model_data_end_ns(m) : 0;
    struct top_site *old_sites = m->sites;
    size_t old_site_count = m->site_count;
    model_free_procs(m->procs, m->proc_count);
    m->procs = l->procs;
    m->proc_count = l->proc_count;
    m->sites = l->sites;
    m->site_count = l->site_count;
    m->site_total = l->site_total;
    /* Site rates: finished, the process-lifetime average the query read;
     * live, the allocations since the previous refresh over the data time
     * that passed (0 for a site the previous refresh did not hold). */
    int64_t end = top_model_data_end_ns(m);
    if (top_model_is_live(m)) {
        for (size_t i = 0; i < m->site_count; i++) {
            struct top_site *t = &m->sites[i];
            t->allocs_per_s = 0;
            for (size_t j = 0; end > prev_end && j < old_site_count; j++) {
                const struct top_site *o = &old_sites[j];
                if (o->process_id == t->process_id && o->line == t->line &&
                    strcmp(o->function, t->function) == 0 && strcmp(o->file, t->file) == 0) {
                    t->allocs_per_s = (double)(t->allocs - o->allocs) * 1e9 / (double)(end - prev_end);
                    break;
                }
            }
        }
    }
    model_free_sites(old_sites, old_site_count);
    free(m->threads);
    m->threads = l->threads;
    m->thread_count = l->thread_count;
    if (l->event_count > 0) {
        /* Appended to the ones held (a snapshot is retaken after every
         * refresh, as for the other lists). */
        struct top_event *all = realloc(m->events, (m->event_count + l->event_count) * sizeof *all);
        if (all == NULL) {
            failed = 1;
            model_free_events(l->events, l->event_count);
        } else {
            memcpy(all + m->event_count, l->events, l->event_count * sizeof *all);
            m->events = all;
            m->event_count += l->event_count;
            m->event_last_id = all[m->event_count - 1].event_id;
            free(l->events);
        }
    } else {
        free(l->events);
    }
    m->refreshed_data_ns = end;
    free(l->rows);
    memset(l, 0, sizeof *l);
    if (failed) {
        snprintf(err, cap, "out of memory extending the class series");
        return -1;
    }
    m->refreshes++;
    return 0;
}

int top_model_refresh(struct top_model *m, char *err, size_t err_cap)
{
    struct top_load l = {0};
    if (sqlite3_exec(m->db->conn, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot read: %s", sqlite3_errmsg(m->db->conn));
        return -1;
    }
    int rc = model_read_processes(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_proc_classes(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_series(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_large(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_sites(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_threads(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_events(m, &l, err, err_cap);
    if (rc == 0)
        rc = model_read_corruption_counts(m, &l, err, err_cap);
    sqlite3_exec(m->db->conn, "COMMIT", NULL, NULL, NULL);
    if (rc != 0) {
        model_load_free(&l);
        return -1;
    }
    return model_load_commit(m, &l, err, err_cap);
}

int top_model_open(struct top_model *m, struct tracedb *db, char *err, size_t err_cap)
{
    memset(m, 0, sizeof *m);
    m->db = db;
    if (tracedb_process_count(db) <= 0) {
        snprintf(err, err_cap,
                 "%s: holds no traced process yet (an empty run); wait until the traced "
                 "program has started, or trace it again",
                 db->path);
        return -1;
    }
    if (top_model_refresh(m, err, err_cap) != 0) {
        top_model_free(m);
        return -1;
    }
    if (m->class_count == 0) {
        snprintf(err, err_cap, "%s: its classes table names no size class of any process; "
                 "the file is damaged, trace the program again", m->db->path);
        top_model_free(m);
        return -1;
    }
    return 0;
}

void top_model_free(struct top_model *m)
{
    model_free_procs(m->procs, m->proc_count);
    model_free_sites(m->sites, m->site_count);
    free(m->threads);
    model_free_events(m->events, m->event_count);
    free(m->classes);
    struct tracedb *db = m->db;
    memset(m, 0, sizeof *m);
    m->db = db;
}

bool top_model_is_live(const struct top_model *m)
{
    for (size_t i = 0; i < m->proc_count; i++)
        if (m->procs[i].end_ns == 0)
            return true;
    return false;
}

int64_t top_model_begin_ns(const struct top_model *m)
{
    int64_t begin = 0;
    for (size_t i = 0; i < m->proc_count; i++)
        if (m->procs[i].start_ns != 0 && (begin == 0 || m->procs[i].start_ns < begin))
            begin = m->procs[i].start_ns;
    return begin;
}

int64_t top_model_data_end_ns(const struct top_model *m)
{
    int64_t end = top_model_begin_ns(m);
    for (size_t i = 0; i < m->proc_count; i++) {
        const struct top_process *p = &m->procs[i];
        int64_t e = p->end_ns;
        if (p->last_ts_ns > e)
            e = p->last_ts_ns;
        if (p->series_ts_ns > e)
            e = p->series_ts_ns;
        if (e > end)
            end = e;
    }
    return end;
}

int top_model_find_process(const struct top_model *m, int64_t process_id)
{
    return model_proc_index(m->procs, m->proc_count, process_id);
}

int top_model_stack(const struct top_model *m, int64_t process_id, int64_t stack_id,
                    struct top_frame *out, int cap)
{
    char err[256];
    sqlite3_stmt *s = tracedb_prepare(m->db,
        "SELECT level, pc, function, module, file, coalesce(line, 0) FROM stack_frames "
        "WHERE process_id = ?1 AND stack_id = ?2 ORDER BY level", err, sizeof err);
    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, process_id);
    sqlite3_bind_int64(s, 2, stack_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < cap) {
        struct top_frame *f = &out[n++];
        f->level = sqlite3_column_int64(s, 0);
        f->pc = sqlite3_column_int64(s, 1);
        model_copy_text(f->function, sizeof f->function, sqlite3_column_text(s, 2));
        model_copy_text(f->module, sizeof f->module, sqlite3_column_text(s, 3));
        model_copy_text(f->file, sizeof f->file, sqlite3_column_text(s, 4));
        f->line = sqlite3_column_int64(s, 5);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int64_t top_series_at(const struct top_series *s, enum top_field f, int64_t t_ns)
{
    /* Binary search for the last sample with ts_ns <= t_ns. */
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->samples[mid].ts_ns <= t_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : s->samples[lo - 1].v[f];
}
