/* snapshot.c - derives what ortho-top shows at one time for one process
 * selection (see snapshot.h). The per-class state at time T is each
 * process's newest class_timeline row at or before T (the collector writes
 * a row only when a class changed, so the previous value holds until the
 * next row), summed over the selected processes. Rates are differences of
 * those cumulative counters over the rate window ending at T, so a replay
 * at T shows what the live view showed at T. Pure computation over the
 * model: no I/O, no ncurses. */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool snapshot_selected(int selection, size_t index)
{
    return selection == TOP_ALL_PROCESSES || (size_t)selection == index;
}

/* Sum of field f over the selected processes' series of model class c at
 * t (processes without the class add nothing). */
static int64_t snapshot_sum(const struct top_model *m, int selection, size_t c, enum top_field f,
                            int64_t t_ns)
{
    int64_t sum = 0;
    for (size_t i = 0; i < m->proc_count; i++) {
        if (!snapshot_selected(selection, i))
            continue;
        const struct top_series *s = top_process_series(&m->procs[i], c);
        if (s != NULL)
            sum += top_series_at(s, f, t_ns);
    }
    return sum;
}

/* Whether some selected process has model class c. */
static bool snapshot_has_class(const struct top_model *m, int selection, size_t c)
{
    for (size_t i = 0; i < m->proc_count; i++)
        if (snapshot_selected(selection, i) && top_process_series(&m->procs[i], c) != NULL)
            return true;
    return false;
}

/* The earliest start among the selected processes (rates never reach back
 * before it). */
static int64_t snapshot_start(const struct top_model *m, int selection)
{
    int64_t start = 0;
    for (size_t i = 0; i < m->proc_count; i++)
        if (snapshot_selected(selection, i) && m->procs[i].start_ns != 0 &&
            (start == 0 || m->procs[i].start_ns < start))
            start = m->procs[i].start_ns;
    return start != 0 ? start : top_model_begin_ns(m);
}

static double snapshot_rate(const struct top_model *m, int selection, size_t c, enum top_field f,
                            int64_t from_ns, int64_t to_ns)
{
    if (to_ns <= from_ns)
        return 0.0;
    int64_t delta = snapshot_sum(m, selection, c, f, to_ns) - snapshot_sum(m, selection, c, f, from_ns);
    return (double)delta * 1e9 / (double)(to_ns - from_ns);
}

static void snapshot_label(struct top_snapshot *snap, const struct top_model *m, int selection)
{
    const struct top_process *root = &m->procs[0];
    for (size_t i = 0; i < m->proc_count; i++)
        if (m->procs[i].parent_process_id == 0) {
            root = &m->procs[i];
            break;
        }
    if (selection == TOP_ALL_PROCESSES) {
        snprintf(snap->process_label, sizeof snap->process_label,
                 "all %zu process%s (root pid %lld: %s)", m->proc_count,
                 m->proc_count == 1 ? "" : "es", (long long)root->pid, root->cmdline);
    } else {
        const struct top_process *p = &m->procs[selection];
        snprintf(snap->process_label, sizeof snap->process_label, "process %lld (pid %lld, %s%s%s): %s",
                 (long long)p->process_id, (long long)p->pid, p->via,
                 p->end_ns ? ", " : ", running", p->end_reason, p->cmdline);
    }
}

static int snapshot_classes(struct top_snapshot *snap, const struct top_model *m, int selection)
{
    int64_t t = snap->at_ns;
    int64_t start = snapshot_start(m, selection);
    int64_t from = t - TOP_RATE_WINDOW_NS < start ? start : t - TOP_RATE_WINDOW_NS;
    snap->rate_window_ns = t > from ? t - from : 0;
    const int64_t bucket_ns = TOP_SPARK_WINDOW_NS / TOP_SPARK_BUCKETS;
    size_t n = m->class_count ? m->class_count : 1;
    snap->classes = calloc(n, sizeof *snap->classes);
    snap->frag = calloc(n, sizeof *snap->frag);
    if (snap->classes == NULL || snap->frag == NULL)
        return -1;
    for (size_t c = 0; c < m->class_count; c++) {
        if (!snapshot_has_class(m, selection, c))
            continue;
        struct top_class_row *r = &snap->classes[snap->class_count++];
        r->class_id = (int)c;
        snprintf(r->name, sizeof r->name, "%s", m->classes[c].name);
        r->large = m->classes[c].large;
        r->allocs_per_s = snapshot_rate(m, selection, c, TOP_F_ALLOCS, from, t);
        r->frees_per_s = snapshot_rate(m, selection, c, TOP_F_FREES, from, t);
        r->refills_per_s = snapshot_rate(m, selection, c, TOP_F_REFILLS, from, t);
        r->drains_per_s = snapshot_rate(m, selection, c, TOP_F_DRAINS, from, t);
        r->allocs = snapshot_sum(m, selection, c, TOP_F_ALLOCS, t);
        r->frees = snapshot_sum(m, selection, c, TOP_F_FREES, t);
        r->live_blocks = snapshot_sum(m, selection, c, TOP_F_LIVE_BLOCKS, t);
        r->live_requested_bytes = snapshot_sum(m, selection, c, TOP_F_LIVE_REQUESTED, t);
        r->live_usable_bytes = snapshot_sum(m, selection, c, TOP_F_LIVE_USABLE, t);
        r->waste_pct = r->live_usable_bytes > 0
                           ? 100.0 * (double)(r->live_usable_bytes - r->live_requested_bytes) /
                                 (double)r->live_usable_bytes
                           : 0.0;
        r->cached_blocks = snapshot_sum(m, selection, c, TOP_F_CACHED_BLOCKS, t);
        r->pooled_blocks = snapshot_sum(m, selection, c, TOP_F_POOLED_BLOCKS, t);
        r->carved_blocks = snapshot_sum(m, selection, c, TOP_F_CARVED_BLOCKS, t);
        /* Bucket b covers (t - (B-b) * w, t - (B-b-1) * w]; parts before
         * the run started stay 0. */
        for (int b = 0; b < TOP_SPARK_BUCKETS; b++) {
            int64_t hi = t - (int64_t)(TOP_SPARK_BUCKETS - 1 - b) * bucket_ns;
            int64_t lo = hi - bucket_ns;
            r->spark[b] = hi <= start ? 0.0 : snapshot_rate(m, selection, c, TOP_F_ALLOCS, lo, hi);
        }
    }
    return 0;
}

static void snapshot_frag(struct top_snapshot *snap, const struct top_model *m, int selection)
{
    memset(&snap->frag_total, 0, sizeof snap->frag_total);
    /* The large path's free bytes come from the fragmentation view, not
     * the timeline: known for the newest data only. */
    bool at_end = snap->at_ns >= snap->end_ns, large_unknown = false;
    for (size_t k = 0; k < snap->class_count; k++) {
        const struct top_class_row *r = &snap->classes[k];
        const struct top_class_info *info = &m->classes[r->class_id];
        struct top_frag *f = &snap->frag[k];
        memset(f, 0, sizeof *f);
        if (r->large) {
            large_unknown = !at_end;
            f->large_live = r->live_usable_bytes;
            f->large_free = -1;
            if (at_end) {
                f->large_free = 0;
                for (size_t i = 0; i < m->proc_count; i++)
                    if (snapshot_selected(selection, i))
                        f->large_free += m->procs[i].large_free_bytes;
            }
        } else {
            int64_t held = r->live_blocks + r->cached_blocks + r->pooled_blocks;
            f->requested = r->live_requested_bytes;
            f->waste = r->live_usable_bytes - r->live_requested_bytes;
            f->headers = held * TOP_HEADER_BYTES;
            f->cached = r->cached_blocks * info->payload_bytes;
            f->pooled = r->pooled_blocks * info->payload_bytes;
            f->arena_unused = r->carved_blocks > held ? (r->carved_blocks - held) * info->block_bytes : 0;
        }
        struct top_frag *t = &snap->frag_total;
        t->requested += f->requested;
        t->waste += f->waste;
        t->headers += f->headers;
        t->cached += f->cached;
        t->pooled += f->pooled;
        t->arena_unused += f->arena_unused;
        t->large_live += f->large_live;
        if (f->large_free > 0)
            t->large_free += f->large_free;
    }
    if (large_unknown)
        snap->frag_total.large_free = -1;
}

/* The sites the model read for its site query (top_model_set_site_query:
 * the database already summed them over the selection). The strings stay
 * the model's: the snapshot never frees them. */
static int snapshot_sites(struct top_snapshot *snap, const struct top_model *m)
{
    snap->sites = calloc(m->site_count ? m->site_count : 1, sizeof *snap->sites);
    if (snap->sites == NULL)
        return -1;
    if (m->site_count > 0) /* m->sites is NULL when no site was asked for */
        memcpy(snap->sites, m->sites, m->site_count * sizeof *snap->sites);
    snap->site_count = m->site_count;
    snap->site_total = m->site_total;
    return 0;
}

static int snapshot_lists(struct top_snapshot *snap, const struct top_model *m, int selection)
{
    int64_t only = selection == TOP_ALL_PROCESSES ? -1 : m->procs[selection].process_id;
    snap->threads = calloc(m->thread_count ? m->thread_count : 1, sizeof *snap->threads);
    snap->events = calloc(m->event_count ? m->event_count : 1, sizeof *snap->events);
    if (snap->threads == NULL || snap->events == NULL)
        return -1;
    /* A thread shows once it has started by the time shown; its counters
     * are the whole run's (the threads table has no series). */
    for (size_t i = 0; i < m->thread_count; i++) {
        const struct top_thread *t = &m->threads[i];
        if ((only < 0 || t->process_id == only) && t->start_ns <= snap->at_ns)
            snap->threads[snap->thread_count++] = t;
    }
    for (size_t i = 0; i < m->proc_count; i++) {
        if (only < 0 || m->procs[i].process_id == only)
            snap->event_total += m->procs[i].corruption_events;
    }
    for (size_t i = 0; i < m->event_count; i++) {
        const struct top_event *e = &m->events[i];
        if ((only < 0 || e->process_id == only) && e->ts_ns <= snap->at_ns)
            snap->events[snap->event_count++] = e;
    }
    return 0;
}

int top_snapshot_take(struct top_snapshot *snap, const struct top_model *m, int selection,
                      int64_t at_ns)
{
    memset(snap, 0, sizeof *snap);
    if (selection < 0 || (size_t)selection >= m->proc_count)
        selection = TOP_ALL_PROCESSES;
    snap->selection = selection;
    snap->begin_ns = top_model_begin_ns(m);
    snap->end_ns = top_model_data_end_ns(m);
    snap->live = top_model_is_live(m);
    /* A live run may be shown past its newest event: time goes on while a
     * program sits idle, and its rates must fall to 0. */
    if (snap->live && at_ns > snap->end_ns)
        snap->end_ns = at_ns;
    snap->at_ns = at_ns < snap->begin_ns ? snap->begin_ns : at_ns > snap->end_ns ? snap->end_ns : at_ns;
    snapshot_label(snap, m, selection);
    if (snapshot_classes(snap, m, selection) != 0) {
        top_snapshot_free(snap);
        return -1;
    }
    snapshot_frag(snap, m, selection);
    if (snapshot_sites(snap, m) != 0 || snapshot_lists(snap, m, selection) != 0) {
        top_snapshot_free(snap);
        return -1;
    }
    return 0;
}

void top_snapshot_free(struct top_snapshot *snap)
{
    free(snap->classes);
    free(snap->frag);
    free(snap->sites);
    free(snap->threads);
    free(snap->events);
    memset(snap, 0, sizeof *snap);
}

int64_t top_snapshot_peak_ns(const struct top_model *m, int selection)
{
    /* Every sample time of the selection is a candidate: between samples
     * the carried-forward totals cannot change. */
    int64_t best_ns = top_model_begin_ns(m), best = 0;
    for (size_t i = 0; i < m->proc_count; i++) {
        if (!snapshot_selected(selection, i))
            continue;
        const struct top_process *p = &m->procs[i];
        for (size_t c = 0; c < p->class_count; c++) {
            const struct top_series *s = &p->series[c];
            for (size_t k = 0; k < s->count; k++) {
                int64_t t = s->samples[k].ts_ns, total = 0;
                for (size_t j = 0; j < m->proc_count; j++) {
                    if (!snapshot_selected(selection, j))
                        continue;
                    const struct top_process *q = &m->procs[j];
                    for (size_t cc = 0; cc < q->class_count; cc++)
                        total += top_series_at(&q->series[cc], TOP_F_LIVE_USABLE, t);
                }
                if (total > best || (total == best && total > 0 && t < best_ns)) {
                    best = total;
                    best_ns = t;
                }
            }
        }
    }
    return best_ns;
}

int64_t top_frag_part(const struct top_frag *f, enum top_frag_part part)
{
    switch (part) {
    case TOP_FRAG_REQUESTED: return f->requested;
    case TOP_FRAG_WASTE: return f->waste;
    case TOP_FRAG_HEADERS: return f->headers;
    case TOP_FRAG_CACHED: return f->cached;
    case TOP_FRAG_POOLED: return f->pooled;
    case TOP_FRAG_ARENA_UNUSED: return f->arena_unused;
    case TOP_FRAG_LARGE_LIVE: return f->large_live;
    case TOP_FRAG_LARGE_FREE: return f->large_free;
    case TOP_FRAG_PARTS: break;
    }
    return 0;
}

const char *top_frag_part_name(enum top_frag_part part)
{
    static const char *const names[TOP_FRAG_PARTS] = {
        "requested (live)",  "internal waste",  "block headers", "thread caches",
        "central pool",      "carved, unused",  "large live",    "large free",
    };
    return part < TOP_FRAG_PARTS ? names[part] : "?";
}
