/* diff.c - see diff.h. Each side is first reduced to keyed rows (site key
 * -> counts), found through a hash map of the keys (a run may have millions
 * of sites; they are streamed from each database once), then the rows
 * that differ are kept. */
#include "diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_mem.h"
#include "strmap.h"
#include "weights.h"

static const char *diff_file_name(const char *path)
{
    return path != NULL ? mem_basename(path) : NULL;
}

/* The key of a (function, file) row: both may be NULL, which "" must not
 * be mistaken for. */
static void diff_key(char *key, size_t cap, const char *function, const char *file)
{
    snprintf(key, cap, "%c%s\x1f%c%s", function ? 'f' : '-', function ? function : "",
             file ? 'f' : '-', file ? file : "");
}

/* The index of the (function, file) row in rows; a new key gets `next`
 * and sets *added (the caller then appends the row). */
static size_t diff_row(struct strmap *rows, const char *function, const char *file, size_t next,
                       bool *added)
{
    char key[2048];
    diff_key(key, sizeof key, function, file);
    return (size_t)strmap_get(rows, key, next, added);
}

/* The site row for (function, file) in d, added with zero counts if new. */
static struct diff_site *diff_site_row(struct diff *d, struct strmap *rows, const char *function,
                                       const char *file)
{
    bool added;
    size_t row = diff_row(rows, function, file, d->site_count, &added);
    if (added) {
        mem_push((void **)&d->sites, d->site_count++, sizeof *d->sites);
        d->sites[row] = (struct diff_site){.function = mem_strdup(function),
                                           .file = mem_strdup(file)};
    }
    return &d->sites[row];
}

static struct diff_leak *diff_leak_row(struct diff *d, struct strmap *rows, const char *function,
                                       const char *file)
{
    bool added;
    size_t row = diff_row(rows, function, file, d->leak_count, &added);
    if (added) {
        mem_push((void **)&d->leaks, d->leak_count++, sizeof *d->leaks);
        d->leaks[row] = (struct diff_leak){.function = mem_strdup(function),
                                           .file = mem_strdup(file)};
    }
    return &d->leaks[row];
}

static struct diff_kind *diff_kind_row(struct diff *d, const char *kind)
{
    for (size_t i = 0; i < d->kind_count; i++) {
        if (strcmp(d->kinds[i].kind, kind) == 0)
            return &d->kinds[i];
    }
    mem_push((void **)&d->kinds, d->kind_count, sizeof *d->kinds);
    struct diff_kind *k = &d->kinds[d->kind_count++];
    *k = (struct diff_kind){.kind = mem_strdup(kind)};
    return k;
}

/* What diff_add_site needs to file a site of one run. */
struct diff_run {
    struct diff *d;
    struct strmap *rows;
    const struct model *m;
    bool after;
};

static void diff_add_site(const struct model_site *s, void *ctx)
{
    struct diff_run *run = ctx;
    const struct model *m = run->m;
    struct diff_site *row = diff_site_row(run->d, run->rows, s->function, diff_file_name(s->file));
    struct diff_site_counts *c = run->after ? &row->after : &row->before;
    c->allocs += llround(weight_site(m, s, WEIGHT_ALLOCS));
    c->bytes += llround(weight_site(m, s, WEIGHT_ALLOC_BYTES));
    c->live_blocks += llround(weight_site(m, s, WEIGHT_LIVE_BLOCKS));
    c->live_bytes += llround(weight_site(m, s, WEIGHT_LIVE_BYTES));
}

/* Adds one run's sites, leaks and corruption to the rows (after: which side). */
static void diff_add_run(struct diff *d, struct strmap *site_rows, struct strmap *leak_rows,
                         const struct model *m, bool after)
{
    char where[256];
    snprintf(where, sizeof where, "%s > 0", weight_site_sql(WEIGHT_ALLOCS));
    struct diff_run run = {d, site_rows, m, after};
    model_each_site(m, where, NULL, 0, diff_add_site, &run);
    for (size_t i = 0; i < m->leak_count; i++) {
        const struct model_leak *l = &m->leaks[i];
        if (l->suppressed_by != NULL)
            continue; /* the runtime's own blocks: no regression to hunt */
        struct diff_leak *row = diff_leak_row(d, leak_rows, l->function, diff_file_name(l->file));
        *(after ? &row->after_blocks : &row->before_blocks) += l->blocks;
        *(after ? &row->after_bytes : &row->before_bytes) += l->bytes;
    }
    for (size_t i = 0; i < m->corruption_kind_count; i++) {
        const struct model_corruption_kind *k = &m->corruption_kinds[i];
        struct diff_kind *row = diff_kind_row(d, k->kind ? k->kind : "?");
        *(after ? &row->after : &row->before) += k->events;
    }
}

static bool diff_site_same(const struct diff_site *s)
{
    return memcmp(&s->before, &s->after, sizeof s->before) == 0;
}

static bool diff_class_same(const struct model_class *a, const struct model_class *b)
{
    return a->allocs == b->allocs && a->frees == b->frees &&
           a->requested_bytes == b->requested_bytes && a->usable_bytes == b->usable_bytes &&
           a->live_blocks == b->live_blocks && a->live_requested_bytes == b->live_requested_bytes;
}

static int64_t diff_abs(int64_t v)
{
    return v < 0 ? -v : v;
}

static int diff_site_order(const void *a, const void *b)
{
    const struct diff_site *x = a, *y = b;
    int64_t dx = diff_abs(x->after.bytes - x->before.bytes);
    int64_t dy = diff_abs(y->after.bytes - y->before.bytes);
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->function ? x->function : "", y->function ? y->function : "");
}

static int diff_leak_order(const void *a, const void *b)
{
    const struct diff_leak *x = a, *y = b;
    int64_t dx = x->after_bytes - x->before_bytes, dy = y->after_bytes - y->before_bytes;
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->function ? x->function : "", y->function ? y->function : "");
}

static int diff_kind_order(const void *a, const void *b)
{
    return strcmp(((const struct diff_kind *)a)->kind, ((const struct diff_kind *)b)->kind);
}

/* Classes in the models' order: by payload, LARGE last. */
static int diff_class_order(const struct model_class_info *x, const struct model_class_info *y)
{
    if (x->large != y->large)
        return x->large ? 1 : -1;
    return (x->payload_bytes > y->payload_bytes) - (x->payload_bytes < y->payload_bytes);
}

void diff_compute(struct diff *d, const struct model *before, const struct model *after)
{
    *d = (struct diff){.before_path = before->path_shown, .after_path = after->path_shown,
                       .sampled = before->sampled || after->sampled};
    /* The two runs may have had different tables: walk both class lists
     * (each by payload, LARGE last) together, a class of one run alone
     * comparing with zeros. */
    d->classes = mem_zalloc(before->class_count + after->class_count + 1, sizeof *d->classes);
    static const struct model_class none;
    size_t b = 0, a = 0;
    while (b < before->class_count || a < after->class_count) {
        const struct model_class_info *x = b < before->class_count ? &before->classes[b] : NULL;
        const struct model_class_info *y = a < after->class_count ? &after->classes[a] : NULL;
        int order = x == NULL ? 1 : y == NULL ? -1 : diff_class_order(x, y);
        const struct model_class *was = order <= 0 ? &before->totals[b] : &none;
        const struct model_class *now = order >= 0 ? &after->totals[a] : &none;
        const char *name = order >= 0 ? y->name : x->name;
        b += order <= 0;
        a += order >= 0;
        if (diff_class_same(was, now))
            continue;
        d->classes[d->class_count++] =
            (struct diff_class){.name = name, .before = *was, .after = *now};
    }
    struct strmap site_rows = {0}, leak_rows = {0};
    diff_add_run(d, &site_rows, &leak_rows, before, false);
    diff_add_run(d, &site_rows, &leak_rows, after, true);
    strmap_free(&site_rows);
    strmap_free(&leak_rows);

    /* Keep only rows that differ. */
    size_t kept = 0;
    for (size_t i = 0; i < d->site_count; i++) {
        if (diff_site_same(&d->sites[i]))
            free(d->sites[i].function), free(d->sites[i].file);
        else
            d->sites[kept++] = d->sites[i];
    }
    d->site_count = kept;
    kept = 0;
    for (size_t i = 0; i < d->leak_count; i++) {
        struct diff_leak *l = &d->leaks[i];
        if (l->before_blocks == l->after_blocks && l->before_bytes == l->after_bytes)
            free(l->function), free(l->file);
        else
            d->leaks[kept++] = *l;
    }
    d->leak_count = kept;
    kept = 0;
    for (size_t i = 0; i < d->kind_count; i++) {
        if (d->kinds[i].before == d->kinds[i].after)
            free(d->kinds[i].kind);
        else
            d->kinds[kept++] = d->kinds[i];
    }
    d->kind_count = kept;
    if (d->site_count > 0)
        qsort(d->sites, d->site_count, sizeof *d->sites, diff_site_order);
    if (d->leak_count > 0)
        qsort(d->leaks, d->leak_count, sizeof *d->leaks, diff_leak_order);
    if (d->kind_count > 0)
        qsort(d->kinds, d->kind_count, sizeof *d->kinds, diff_kind_order);
}

void diff_free(struct diff *d)
{
    for (size_t i = 0; i < d->site_count; i++)
        free(d->sites[i].function), free(d->sites[i].file);
    for (size_t i = 0; i < d->leak_count; i++)
        free(d->leaks[i].function), free(d->leaks[i].file);
    for (size_t i = 0; i < d->kind_count; i++)
        free(d->kinds[i].kind);
    free(d->classes);
    free(d->sites);
    free(d->leaks);
    free(d->kinds);
    *d = (struct diff){0};
}

bool diff_is_empty(const struct diff *d)
{
    return d->class_count == 0 && d->site_count == 0 && d->leak_count == 0 && d->kind_count == 0;
}

bool diff_has_new_leaks(const struct diff *d)
{
    for (size_t i = 0; i < d->leak_count; i++) {
        if (d->leaks[i].after_bytes > d->leaks[i].before_bytes ||
            d->leaks[i].after_blocks > d->leaks[i].before_blocks)
            return true;
    }
    return false;
}

bool diff_has_new_corruption(const struct diff *d)
{
    for (size_t i = 0; i < d->kind_count; i++) {
        if (d->kinds[i].after > d->kinds[i].before)
            return true;
    }
    return false;
}

const char *diff_site_change(const struct diff_site *s)
{
    if (s->before.allocs == 0)
        return "new";
    if (s->after.allocs == 0)
        return "gone";
    if (s->after.bytes > s->before.bytes)
        return "more";
    if (s->after.bytes < s->before.bytes)
        return "less";
    return "changed";
}

const char *diff_leak_change(const struct diff_leak *l)
{
    if (l->before_blocks == 0)
        return "new";
    if (l->after_blocks == 0)
        return "fixed";
    return l->after_bytes > l->before_bytes ||
                   (l->after_bytes == l->before_bytes && l->after_blocks > l->before_blocks)
               ? "more"
               : "less";
}
