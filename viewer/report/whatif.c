/* whatif.c - see whatif.h. The replay is a walk over the histogram with a
 * binary search of the table per distinct size. The suggestion is the
 * classic 1-D partition problem: with the distinct request sizes rounded up
 * to WHATIF_ALIGN_BYTES as the only payloads worth considering (lowering a
 * class to the largest rounded size it serves never adds waste), the best
 * k classes over the first j sizes are the best k-1 over some i < j plus one
 * class at size j serving i+1..j. That cost satisfies the quadrangle
 * inequality, so the best i grows with j and each layer is solved by divide
 * and conquer in O(m log m) rather than O(m^2): a few milliseconds even for
 * tens of thousands of distinct sizes. */
#include "whatif.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "options.h"
#include "report_mem.h"

/* ---- tables ------------------------------------------------------------ */

static int whatif_compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int whatif_table_parse(struct whatif_table *t, const char *text, const char *origin, char *err,
                       size_t err_cap)
{
    *t = (struct whatif_table){0};
    const char *p = text;
    int line = 1;
    while (*p != '\0') {
        if (*p == '#') {
            while (*p != '\0' && *p != '\n')
                p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',' || *p == '\n') {
            line += *p == '\n';
            p++;
            continue;
        }
        size_t len = strcspn(p, " \t\r\n,#");
        char word[64];
        uint64_t value = 0;
        bool ok = len < sizeof word;
        if (ok) {
            memcpy(word, p, len);
            word[len] = '\0';
            ok = options_parse_number(word, true, &value) && value > 0 && value <= INT64_MAX;
        }
        if (!ok) {
            snprintf(err, err_cap,
                     "%s:%d: \"%.*s\" is not a class size; write sizes in bytes such as 64, 5120 "
                     "or 6K, one or more per line",
                     origin, line, (int)(len > 40 ? 40 : len), p);
            whatif_table_free(t);
            return -1;
        }
        mem_push((void **)&t->payload_bytes, t->count, sizeof *t->payload_bytes);
        t->payload_bytes[t->count++] = (int64_t)value;
        p += len;
    }
    if (t->count == 0) {
        snprintf(err, err_cap, "%s: lists no class sizes; write sizes in bytes such as 64 256 4K",
                 origin);
        whatif_table_free(t);
        return -1;
    }
    qsort(t->payload_bytes, t->count, sizeof *t->payload_bytes, whatif_compare_i64);
    for (size_t i = 1; i < t->count; i++) {
        if (t->payload_bytes[i] == t->payload_bytes[i - 1]) {
            snprintf(err, err_cap, "%s: lists the size %lld twice; list each class once", origin,
                     (long long)t->payload_bytes[i]);
            whatif_table_free(t);
            return -1;
        }
    }
    return 0;
}

int whatif_table_read(struct whatif_table *t, const char *path, char *err, size_t err_cap)
{
    *t = (struct whatif_table){0};
    char *text = mem_read_text(path);
    if (text == NULL) {
        snprintf(err, err_cap, "%s: %s; give a file of class sizes for --what-if", path,
                 strerror(errno));
        return -1;
    }
    int rc = whatif_table_parse(t, text, path, err, err_cap);
    free(text);
    return rc;
}

void whatif_table_of_model(struct whatif_table *t, const struct model *m)
{
    *t = (struct whatif_table){0};
    t->payload_bytes = mem_zalloc(m->class_count + 1, sizeof *t->payload_bytes);
    for (size_t c = 0; c < m->class_count; c++) {
        if (!m->classes[c].large)
            t->payload_bytes[t->count++] = m->classes[c].payload_bytes;
    }
}

/* The small classes of one process's own table. */
static void whatif_table_of_process(struct whatif_table *t, const struct model *m,
                                    const struct model_process *p)
{
    *t = (struct whatif_table){0};
    t->payload_bytes = mem_zalloc(m->class_count + 1, sizeof *t->payload_bytes);
    for (size_t c = 0; c < m->class_count; c++) {
        if (!m->classes[c].large && p->class_ids[c] >= 0)
            t->payload_bytes[t->count++] = m->classes[c].payload_bytes;
    }
}

int whatif_table_option(const struct whatif_table *t, char out[WHATIF_OPTION_BYTES],
                        const char **why)
{
    out[0] = '\0';
    if (t->count > CLASS_TABLE_MAX) {
        *why = "lists too many classes for the allocator (at most " ORTHO_STRINGIFY(
            ORTHO_CLASS_MAX) ")";
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i < t->count; i++) {
        int64_t v = t->payload_bytes[i];
        const char *unit = "";
        if (v >= (1 << 20) && v % (1 << 20) == 0)
            v >>= 20, unit = "M";
        else if (v >= 1024 && v % 1024 == 0)
            v >>= 10, unit = "K";
        int n = snprintf(out + at, WHATIF_OPTION_BYTES - at, "%s%lld%s", i ? "," : "",
                         (long long)v, unit);
        if (n < 0 || (size_t)n >= WHATIF_OPTION_BYTES - at) {
            *why = "does not fit in one option value";  /* not with <= 96 sizes of 16M */
            return -1;
        }
        at += (size_t)n;
    }
    /* The allocator's own parser is the judge of what it will accept. */
    struct class_table parsed;
    if (!class_table_parse_list(out, &parsed, why))
        return -1;
    return 0;
}

void whatif_table_free(struct whatif_table *t)
{
    free(t->payload_bytes);
    *t = (struct whatif_table){0};
}

/* ---- replay ------------------------------------------------------------ */

/* Index of the first class holding n bytes, or t->count when none does. */
static size_t whatif_class_for(const struct whatif_table *t, int64_t n)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->payload_bytes[mid] < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int64_t whatif_large_waste(int64_t n)
{
    int64_t mapped = (n + WHATIF_HEADER_BYTES + WHATIF_PAGE_BYTES - 1) / WHATIF_PAGE_BYTES *
                     WHATIF_PAGE_BYTES;
    return mapped - WHATIF_HEADER_BYTES - n;
}

/* Replays the histogram rows of process_id (0: all) against t into r,
 * whose classes are those of `into` (t's payloads are all in it). */
static void whatif_replay_into(const struct model *m, int64_t process_id,
                               const struct whatif_table *t, const struct whatif_table *into,
                               struct whatif_result *r)
{
    for (size_t i = 0; i < m->size_count; i++) {
        const struct model_size *s = &m->sizes[i];
        if (process_id != 0 && s->process_id != process_id)
            continue;
        /* Above the largest class any table may have, every table takes
         * the large path: out of scope, whatever class the run used. */
        if (s->requested_size > (int64_t)WHATIF_SCOPE_BYTES) {
            r->large_allocs += s->allocs;
            continue;
        }
        int64_t requested = s->allocs * s->requested_size, waste;
        size_t c = whatif_class_for(t, s->requested_size);
        if (c < t->count) {
            waste = s->allocs * (t->payload_bytes[c] - s->requested_size);
            size_t k = into == t ? c : whatif_class_for(into, t->payload_bytes[c]);
            r->classes[k].allocs += s->allocs;
            r->classes[k].requested_bytes += requested;
            r->classes[k].waste_bytes += waste;
        } else {
            waste = s->allocs * whatif_large_waste(s->requested_size);
            r->above_allocs += s->allocs;
            r->above_requested_bytes += requested;
            r->above_waste_bytes += waste;
        }
        r->allocs += s->allocs;
        r->requested_bytes += requested;
        r->waste_bytes += waste;
    }
}

static void whatif_result_init(struct whatif_result *r, const struct whatif_table *t)
{
    *r = (struct whatif_result){.class_count = t->count};
    r->classes = mem_zalloc(t->count + 1, sizeof *r->classes);
    for (size_t i = 0; i < t->count; i++)
        r->classes[i].payload_bytes = t->payload_bytes[i];
}

void whatif_replay(const struct model *m, int64_t process_id, const struct whatif_table *t,
                   struct whatif_result *r)
{
    whatif_result_init(r, t);
    whatif_replay_into(m, process_id, t, t, r);
}

void whatif_replay_own(const struct model *m, int64_t process_id, struct whatif_result *r)
{
    struct whatif_table all;
    whatif_table_of_model(&all, m);
    whatif_result_init(r, &all);
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        if (process_id != 0 && p->process_id != process_id)
            continue;
        struct whatif_table own;
        whatif_table_of_process(&own, m, p);
        whatif_replay_into(m, p->process_id, &own, &all, r);
        whatif_table_free(&own);
    }
    whatif_table_free(&all);
}

void whatif_result_free(struct whatif_result *r)
{
    free(r->classes);
    *r = (struct whatif_result){0};
}

double whatif_waste_pct(int64_t requested_bytes, int64_t waste_bytes)
{
    int64_t handed = requested_bytes + waste_bytes;
    return handed > 0 ? 100.0 * (double)waste_bytes / (double)handed : 0.0;
}

/* ---- suggestion -------------------------------------------------------- */

/* The histogram over candidate payloads: prefix sums of allocations and of
 * requested bytes, so the waste of one class over a range is O(1). */
struct whatif_points {
    size_t m;              /* candidate payloads */
    int64_t *payload;      /* [m], ascending */
    int64_t *prefix_allocs; /* [m + 1]: allocations of the first k candidates */
    int64_t *prefix_bytes; /* [m + 1]: their requested bytes */
};

/* Waste of one class at candidate j-1 serving candidates i..j-1. */
static int64_t points_cost(const struct whatif_points *pt, size_t i, size_t j)
{
    return pt->payload[j - 1] * (pt->prefix_allocs[j] - pt->prefix_allocs[i]) -
           (pt->prefix_bytes[j] - pt->prefix_bytes[i]);
}

/* One layer of the DP: cur[j] = min over i in [opt_lo, opt_hi] (i < j) of
 * prev[i] + cost(i, j), for j in [lo, hi], recording the argmin. */
static void points_layer(const struct whatif_points *pt, const int64_t *prev, int64_t *cur,
                         size_t *arg, size_t lo, size_t hi, size_t opt_lo, size_t opt_hi)
{
    while (lo <= hi) {
        size_t j = lo + (hi - lo) / 2;
        size_t best_i = opt_lo, last = opt_hi < j - 1 ? opt_hi : j - 1;
        int64_t best = INT64_MAX;
        for (size_t i = opt_lo; i <= last; i++) {
            if (prev[i] == INT64_MAX)
                continue;
            int64_t v = prev[i] + points_cost(pt, i, j);
            if (v < best) {
                best = v;
                best_i = i;
            }
        }
        cur[j] = best;
        arg[j] = best_i;
        /* Left half recursively, right half by looping: depth O(log m). */
        if (j > lo)
            points_layer(pt, prev, cur, arg, lo, j - 1, opt_lo, best_i);
        lo = j + 1;
        opt_lo = best_i;
    }
}

static void points_solve(const struct whatif_points *pt, size_t wanted, struct whatif_table *out)
{
    size_t m = pt->m, k_max = wanted < m ? wanted : m;
    *out = (struct whatif_table){0};
    if (m == 0 || k_max == 0)
        return;
    int64_t *prev = mem_zalloc(m + 1, sizeof *prev), *cur = mem_zalloc(m + 1, sizeof *cur);
    size_t *arg = mem_zalloc((k_max + 1) * (m + 1), sizeof *arg);
    /* Layer 0: nothing covered costs nothing; covering anything is impossible. */
    for (size_t j = 0; j <= m; j++)
        prev[j] = j == 0 ? 0 : INT64_MAX;
    for (size_t k = 1; k <= k_max; k++) {
        cur[0] = INT64_MAX;
        for (size_t j = 1; j < k; j++)
            cur[j] = INT64_MAX; /* k classes need k candidates */
        points_layer(pt, prev, cur, &arg[k * (m + 1)], k, m, k - 1, m - 1);
        int64_t *swap = prev;
        prev = cur;
        cur = swap;
    }
    out->count = k_max;
    out->payload_bytes = mem_zalloc(k_max, sizeof *out->payload_bytes);
    size_t j = m;
    for (size_t k = k_max; k >= 1; k--) {
        out->payload_bytes[k - 1] = pt->payload[j - 1];
        j = arg[k * (m + 1) + j];
    }
    free(prev);
    free(cur);
    free(arg);
}

static int64_t whatif_round_up(int64_t n)
{
    return (n + WHATIF_ALIGN_BYTES - 1) / WHATIF_ALIGN_BYTES * WHATIF_ALIGN_BYTES;
}

void whatif_suggest_sizes(const int64_t *sizes, const int64_t *allocs, size_t n, size_t wanted,
                          struct whatif_table *out)
{
    struct whatif_points pt = {0};
    pt.payload = mem_zalloc(n, sizeof *pt.payload);
    pt.prefix_allocs = mem_zalloc(n + 1, sizeof *pt.prefix_allocs);
    pt.prefix_bytes = mem_zalloc(n + 1, sizeof *pt.prefix_bytes);
    for (size_t i = 0; i < n; i++) {
        int64_t payload = whatif_round_up(sizes[i]);
        /* Sizes are ascending, so equal rounded payloads are adjacent. */
        if (pt.m == 0 || pt.payload[pt.m - 1] != payload) {
            pt.payload[pt.m] = payload;
            pt.prefix_allocs[pt.m + 1] = pt.prefix_allocs[pt.m];
            pt.prefix_bytes[pt.m + 1] = pt.prefix_bytes[pt.m];
            pt.m++;
        }
        pt.prefix_allocs[pt.m] += allocs[i];
        pt.prefix_bytes[pt.m] += allocs[i] * sizes[i];
    }
    points_solve(&pt, wanted, out);
    free(pt.payload);
    free(pt.prefix_allocs);
    free(pt.prefix_bytes);
}

void whatif_suggest(const struct model *m, size_t wanted, struct whatif_table *out)
{
    /* The whole tree's in-scope histogram, merged over processes by size. */
    int64_t *sizes = mem_zalloc(m->size_count, sizeof *sizes);
    int64_t *allocs = mem_zalloc(m->size_count, sizeof *allocs);
    size_t n = 0;
    for (size_t i = 0; i < m->size_count; i++) {
        if (m->sizes[i].requested_size <= (int64_t)WHATIF_SCOPE_BYTES)
            sizes[n++] = m->sizes[i].requested_size;
    }
    qsort(sizes, n, sizeof *sizes, whatif_compare_i64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (distinct == 0 || sizes[distinct - 1] != sizes[i])
            sizes[distinct++] = sizes[i];
    }
    for (size_t i = 0; i < m->size_count; i++) {
        const struct model_size *s = &m->sizes[i];
        if (s->requested_size > (int64_t)WHATIF_SCOPE_BYTES)
            continue;
        int64_t *at = bsearch(&s->requested_size, sizes, distinct, sizeof *sizes,
                              whatif_compare_i64);
        allocs[at - sizes] += s->allocs;
    }
    whatif_suggest_sizes(sizes, allocs, distinct, wanted, out);
    free(sizes);
    free(allocs);
}
