/* format_text.c - the report for a person: an overview that reads in ten
 * seconds (program, duration, bytes, live memory, leaks, corruption, how
 * complete the trace is), then the classes, the top sites, the leaks with
 * their stacks and the corruption events. Byte counts use units.h's rule;
 * counts are exact. Each section can be printed alone (--classes, ...). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "report_mem.h"
#include "weights.h"
#include "text_common.h"
#include "units.h"

/* ---- overview ---------------------------------------------------------- */

/* The allocations over the tree by the entry point called, most first
 * ("malloc 20065, calloc 1"); no line for a database that does not split
 * them. */
static void text_calls(FILE *out, const struct model *m)
{
    if (!m->has_calls)
        return;
    fprintf(out, "  by call      ");
    size_t shown = 0;
    for (size_t i = 0; i < m->call_count && m->calls[i].process_id == 0; i++)
        fprintf(out, "%s%s %lld", shown++ > 0 ? ", " : "", m->calls[i].call,
                (long long)m->calls[i].allocs);
    fprintf(out, "%s\n", shown == 0 ? "none" : "");
}

static void text_overview(FILE *out, const struct model *m)
{
    char a[UNITS_BUF], b[UNITS_BUF], c[UNITS_BUF];
    const struct model_process *root = &m->processes[0];
    fprintf(out, "ortho-report: %s%s\n", m->path_shown, m->live ? " (still being written: a snapshot)" : "");
    fprintf(out, "  program      %s (pid %lld)", root->cmdline ? root->cmdline : "?",
            (long long)root->pid);
    if (m->process_count > 1)
        fprintf(out, ", %zu process images", m->process_count);
    fputc('\n', out);
    fprintf(out, "  duration     %s", units_duration(a, sizeof a, model_duration_ns(m)));
    if (root->end_reason != NULL)
        fprintf(out, " (the root ended by %s)", root->end_reason);
    fputc('\n', out);

    struct model_class all = model_sum_classes(m->totals, m->class_count);
    fprintf(out, "  allocated    %lld blocks, %s requested, %s usable (%.2f%% waste)\n",
            (long long)all.allocs, units_bytes(a, sizeof a, (double)all.requested_bytes),
            units_bytes(b, sizeof b, (double)all.usable_bytes),
            model_waste_pct(all.requested_bytes, all.usable_bytes));
    text_calls(out, m);

    const struct model_process *peak = root;
    for (size_t i = 0; i < m->process_count; i++) {
        if (m->processes[i].peak_high_bytes > peak->peak_high_bytes)
            peak = &m->processes[i];
    }
    fprintf(out, "  peak live    ");
    text_peak(out, peak);
    if (m->process_count > 1)
        fprintf(out, " in process %lld", (long long)peak->process_id);
    fputc('\n', out);
    char count[64];
    fprintf(out, "  live at end  %s, %s requested, %s usable\n",
            text_count(count, sizeof count, all.live_blocks, "block", "blocks"),
            units_bytes(a, sizeof a, (double)all.live_requested_bytes),
            units_bytes(b, sizeof b, (double)all.live_usable_bytes));
    if (m->leak_site_count == 0)
        fprintf(out, "  leaks        none");
    else
        fprintf(out, "  leaks        %s, %s, from %s",
                text_count(a, sizeof a, model_total_leak_blocks(m), "block", "blocks"),
                units_bytes(c, sizeof c, (double)model_total_leak_bytes(m)),
                text_count(b, sizeof b, (int64_t)m->leak_site_count, "site", "sites"));
    if (m->suppressed_site_count > 0)
        fprintf(out, "; suppressed: %s, %s",
                text_count(a, sizeof a, model_total_suppressed_blocks(m), "block", "blocks"),
                units_bytes(c, sizeof c, (double)model_total_suppressed_bytes(m)));
    fputc('\n', out);
    fprintf(out, "  corruption   ");
    text_corruption_kinds(out, m);
    fputc('\n', out);
    fprintf(out, "  trace        ");
    text_health(out, m);
    fputc('\n', out);
}

/* ---- processes --------------------------------------------------------- */

static void text_processes(FILE *out, const struct model *m)
{
    char a[UNITS_BUF], b[UNITS_BUF], c[UNITS_BUF];
    fprintf(out, "\nProcesses\n");
    fprintf(out, "  %4s %8s %6s %6s %10s %10s %10s %10s  %s\n", "id", "pid", "via", "ended",
            "duration", "allocs", "requested", "live", "command");
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        struct model_class sum = model_sum_classes(p->classes, m->class_count);
        fprintf(out, "  %4lld %8lld %6s %6s %10s %10lld %10s %10s  %s\n", (long long)p->process_id,
                (long long)p->pid, p->via ? p->via : "?",
                p->end_ns ? (p->end_reason ? p->end_reason : "?") : "no",
                p->end_ns ? units_duration(a, sizeof a, p->end_ns - p->start_ns) : "-",
                (long long)sum.allocs, units_bytes(b, sizeof b, (double)sum.requested_bytes),
                units_bytes(c, sizeof c, (double)sum.live_requested_bytes),
                p->cmdline ? p->cmdline : "?");
    }
}

/* ---- classes ----------------------------------------------------------- */

static void text_class_table(FILE *out, const struct model *m, const struct model_class *classes,
                             const char *title)
{
    char a[UNITS_BUF], b[UNITS_BUF], c[UNITS_BUF], d[UNITS_BUF], e[UNITS_BUF], f[UNITS_BUF];
    fprintf(out, "\n%s\n", title);
    fprintf(out, "  %-6s %10s %10s %10s %10s %10s %7s %8s %10s %10s %10s\n", "class", "allocs",
            "frees", "requested", "usable", "waste", "waste%", "live", "live use", "peak live",
            "cached");
    bool any = false;
    for (size_t i = 0; i < m->class_count; i++) {
        const struct model_class *k = &classes[i];
        if (!model_class_active(k))
            continue;
        any = true;
        fprintf(out, "  %-6s %10lld %10lld %10s %10s %10s %6.2f%% %8lld %10s %10s %10s\n",
                m->classes[i].name, (long long)k->allocs, (long long)k->frees,
                units_bytes(a, sizeof a, (double)k->requested_bytes),
                units_bytes(b, sizeof b, (double)k->usable_bytes),
                units_bytes(c, sizeof c, (double)(k->usable_bytes - k->requested_bytes)),
                model_waste_pct(k->requested_bytes, k->usable_bytes), (long long)k->live_blocks,
                units_bytes(d, sizeof d, (double)k->live_usable_bytes),
                units_bytes(e, sizeof e, (double)k->peak_live_usable_bytes),
                units_bytes(f, sizeof f, (double)(k->cached_bytes + k->pooled_bytes)));
    }
    if (!any)
        fprintf(out, "  (nothing allocated)\n");
}

static void text_classes(FILE *out, const struct model *m)
{
    size_t active = 0;
    for (size_t i = 0; i < m->process_count; i++) {
        struct model_class sum = model_sum_classes(m->processes[i].classes, m->class_count);
        active += sum.allocs > 0 || sum.live_blocks > 0;
    }
    text_class_table(out, m, m->totals,
                     m->process_count > 1 ? "Classes (all processes)" : "Classes");
    if (active <= 1)
        return;
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        struct model_class sum = model_sum_classes(p->classes, m->class_count);
        if (sum.allocs == 0 && sum.live_blocks == 0)
            continue;
        char title[128];
        snprintf(title, sizeof title, "Classes of process %lld (pid %lld, %s)",
                 (long long)p->process_id, (long long)p->pid, p->via ? p->via : "?");
        text_class_table(out, m, p->classes, title);
    }
}

/* ---- sites ------------------------------------------------------------- */

/* The sites of one table, copied out of model_each_site's stream. */
struct text_site_list {
    size_t count;
    struct model_site *sites;
};

static void text_collect_site(const struct model_site *site, void *ctx)
{
    struct text_site_list *list = ctx;
    mem_push((void **)&list->sites, list->count, sizeof *list->sites);
    struct model_site *copy = &list->sites[list->count++];
    *copy = *site;
    copy->function = mem_strdup(site->function);
    copy->file = mem_strdup(site->file);
}

/* The `top` sites that weigh most under kind, SQL doing the ranking (the
 * database may hold millions), heaviest first; sites that weigh nothing
 * as allocations are left out of both tables. */
static void text_site_table(FILE *out, const struct model *m, size_t top, bool by_count)
{
    char a[UNITS_BUF], b[UNITS_BUF], site[512], where[512], order[512];
    enum weight_kind kind = by_count ? WEIGHT_ALLOCS : WEIGHT_ALLOC_BYTES;
    snprintf(where, sizeof where, "%s > 0", weight_site_sql(WEIGHT_ALLOCS));
    snprintf(order, sizeof order, "%s DESC, t.process_id, t.function, t.file, t.line",
             weight_site_sql(kind));
    struct text_site_list list = {0};
    size_t total = (size_t)model_top_sites(m, where, order, top, text_collect_site, &list);
    fprintf(out, "\nTop sites by %s%s\n", by_count ? "allocations" : "bytes allocated",
            m->sampled ? " (estimated from sampled stacks)" : "");
    fprintf(out, "  %12s %12s %10s %12s  %s\n", "bytes", "allocs", "live", "live bytes", "site");
    for (size_t i = 0; i < list.count; i++) {
        const struct model_site *s = &list.sites[i];
        fprintf(out, "  %12s %12.0f %10lld %12s  %s", units_bytes(a, sizeof a, weight_site(m, s, WEIGHT_ALLOC_BYTES)),
                weight_site(m, s, WEIGHT_ALLOCS), (long long)s->live_blocks,
                units_bytes(b, sizeof b, (double)s->live_bytes),
                text_site_name(site, sizeof site, s->function, s->file, s->line));
        if (m->process_count > 1)
            fprintf(out, " in process %lld", (long long)s->process_id);
        fputc('\n', out);
        free(s->function);
        free(s->file);
    }
    free(list.sites);
    if (total > top)
        fprintf(out, "  ... %zu more (--top N shows more, --format json shows all)\n", total - top);
}

static void text_sites(FILE *out, const struct model *m, size_t top)
{
    if (m->stacks_off) {
        fprintf(out, "\nSites: none, the run was traced with stacks off (ORTHO_TRACE_STACKS=0)\n");
        return;
    }
    if (m->sampled)
        fprintf(out, "\n(sampled stacks: site figures are estimates, sites.est_allocs/est_bytes)\n");
    text_site_table(out, m, top, false);
    text_site_table(out, m, top, true);
}

/* ---- leaks and corruption ---------------------------------------------- */

/* Leaks are reported per site: the stacks of one process that end in the
 * same function, file and line form one site (a loop the compiler
 * unrolled gives each copy of its malloc call a stack of its own). The
 * model has them grouped already (model_leak.site), biggest site first. */

static bool text_same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two stacks print the same lines (function, file and line of
 * each frame shown): only one of them is worth printing. */
static bool text_stacks_print_alike(const struct model_stack *a, const struct model_stack *b,
                                    size_t frames)
{
    if (a == NULL || b == NULL)
        return a == b;
    if ((a->frame_count < frames ? a->frame_count : frames) !=
        (b->frame_count < frames ? b->frame_count : frames))
        return false;
    for (size_t i = 0; i < a->frame_count && i < frames; i++) {
        const struct model_frame *x = &a->frames[i], *y = &b->frames[i];
        if (!text_same_text(x->function, y->function) || !text_same_text(x->file, y->file) ||
            x->line != y->line || (x->function == NULL && x->pc != y->pc))
            return false;
    }
    return true;
}

/* The suppressed sites: one line each, with the rule that matched, no
 * stacks (the runtime's own allocations are not the reader's to fix). */
static void text_suppressed(FILE *out, const struct model *m, size_t first)
{
    char a[UNITS_BUF], site[512], blocks[48], sites[48];
    fprintf(out, "\nSuppressed (the C runtime's own blocks, or --suppressions): %s, %s, from %s\n",
            text_count(blocks, sizeof blocks, model_total_suppressed_blocks(m), "block", "blocks"),
            units_bytes(a, sizeof a, (double)model_total_suppressed_bytes(m)),
            text_count(sites, sizeof sites, (int64_t)m->suppressed_site_count, "site", "sites"));
    for (size_t end; first < m->leak_count; first = end) {
        const struct model_leak *l = &m->leaks[first];
        int64_t site_blocks = 0, site_bytes = 0;
        for (end = first; end < m->leak_count && m->leaks[end].site == l->site; end++) {
            site_blocks += m->leaks[end].blocks;
            site_bytes += m->leaks[end].bytes;
        }
        fprintf(out, "  %s, %s (%s) from %s", text_count(blocks, sizeof blocks, site_blocks, "block", "blocks"),
                units_bytes(a, sizeof a, (double)site_bytes), l->class_names ? l->class_names : "?",
                text_site_name(site, sizeof site, l->function, l->file, l->line));
        if (m->process_count > 1)
            fprintf(out, " in process %lld", (long long)l->process_id);
        fprintf(out, ": %s\n", l->suppressed_by);
    }
}

static void text_leaks(FILE *out, const struct model *m, size_t frames)
{
    char a[UNITS_BUF], site[512], blocks[48], sites[48];
    if (m->leak_site_count == 0)
        fprintf(out, "\nLeaks: none%s\n", m->live ? " so far (the run is still going)" : "");
    else
        fprintf(out, "\nLeaks: %s, %s, from %s\n",
                text_count(blocks, sizeof blocks, model_total_leak_blocks(m), "block", "blocks"),
                units_bytes(a, sizeof a, (double)model_total_leak_bytes(m)),
                text_count(sites, sizeof sites, (int64_t)m->leak_site_count, "site", "sites"));
    for (size_t first = 0, end; first < m->leak_count; first = end) {
        const struct model_leak *l = &m->leaks[first];
        if (l->suppressed_by != NULL) { /* they come last */
            text_suppressed(out, m, first);
            return;
        }
        int64_t site_blocks = 0, site_bytes = 0;
        for (end = first; end < m->leak_count && m->leaks[end].site == l->site; end++) {
            site_blocks += m->leaks[end].blocks;
            site_bytes += m->leaks[end].bytes;
        }
        fprintf(out, "  %s, %s (%s) ", text_count(blocks, sizeof blocks, site_blocks, "block", "blocks"),
                units_bytes(a, sizeof a, (double)site_bytes), l->class_names ? l->class_names : "?");
        if (l->stack_id == 0)
            fprintf(out, "without a stack%s", m->stacks_off ? " (stacks were off)" : "");
        else
            fprintf(out, "from %s", text_site_name(site, sizeof site, l->function, l->file, l->line));
        if (m->process_count > 1)
            fprintf(out, " in process %lld", (long long)l->process_id);
        if (end - first > 1)
            fprintf(out, ", %zu stacks", end - first);
        fputc('\n', out);
        /* Each stack of the site that prints differently from those before it. */
        for (size_t i = first; i < end; i++) {
            const struct model_stack *s = model_stack(m, m->leaks[i].process_id,
                                                      m->leaks[i].stack_id);
            bool shown = false;
            for (size_t j = first; j < i && !shown; j++)
                shown = text_stacks_print_alike(
                    model_stack(m, m->leaks[j].process_id, m->leaks[j].stack_id), s, frames);
            if (!shown) {
                if (i != first)
                    fprintf(out, "      and %s, %s through:\n",
                            text_count(blocks, sizeof blocks, m->leaks[i].blocks, "block",
                                       "blocks"),
                            units_bytes(a, sizeof a, (double)m->leaks[i].bytes));
                text_stack(out, s, "      ", frames);
            }
        }
    }
}

/* One stored event with where it was caught and allocated. */
struct text_event_ctx {
    FILE *out;
    const struct model *m;
    size_t frames;
};

static void text_corruption_event(const struct model_corruption *c, void *arg)
{
    const struct text_event_ctx *x = arg;
    FILE *out = x->out;
    const struct model *m = x->m;
    char a[UNITS_BUF], site[512];
    const struct model_process *p = model_process(m, c->process_id);
    fprintf(out, "  %s in %s() of 0x%" PRIx64, c->kind ? c->kind : "?", c->call ? c->call : "?",
            c->address);
    if (c->class_name != NULL)
        fprintf(out, " (%s)", c->class_name);
    fprintf(out, ", thread %lld", (long long)c->thread_id);
    if (m->process_count > 1)
        fprintf(out, " of process %lld", (long long)c->process_id);
    if (p != NULL && p->start_ns > 0)
        fprintf(out, ", %s after start", units_duration(a, sizeof a, c->ts_ns - p->start_ns));
    if (c->function != NULL)
        fprintf(out, ", in %s", text_site_name(site, sizeof site, c->function, c->file, c->line));
    fputc('\n', out);
    const struct model_stack *detected = model_stack(m, c->process_id, c->stack_id);
    const struct model_stack *allocated = model_stack(m, c->process_id, c->alloc_stack_id);
    if (detected != NULL) {
        fprintf(out, "    detected at:\n");
        text_stack(out, detected, "      ", x->frames);
    }
    if (allocated != NULL) {
        fprintf(out, "    allocated at:\n");
        text_stack(out, allocated, "      ", x->frames);
    }
}

/* The groups (every event counted, most first), then the stored events
 * one by one: `limit` of each unless all, saying what was left out and
 * how to see it. */
static void text_corruption(FILE *out, const struct model *m, size_t frames, size_t limit,
                            bool all)
{
    char a[UNITS_BUF], b[UNITS_BUF], site[512], n1[48], n2[48];
    if (m->corruption_events == 0) {
        fprintf(out, "\nCorruption: none\n");
        return;
    }
    fprintf(out, "\nCorruption: %s", text_count(n1, sizeof n1, m->corruption_events, "event", "events"));
    if (m->corruption_stored < m->corruption_events)
        fprintf(out, " (%lld stored one by one, %lld counted only, past the collector's cap "
                     "per process)",
                (long long)m->corruption_stored,
                (long long)(m->corruption_events - m->corruption_stored));
    fputc('\n', out);
    fprintf(out, "  ");
    text_corruption_kinds(out, m);
    fputc('\n', out);

    size_t groups = m->corruption_group_count;
    size_t shown = all || groups <= limit ? groups : limit;
    fprintf(out, "\n  By where they were caught (%s%s):\n",
            text_count(n1, sizeof n1, (int64_t)groups, "group", "groups"),
            shown < groups ? ", the most events first" : "");
    fprintf(out, "  %10s  %s\n", "events", "kind, call, site, class, process, first .. last");
    int64_t left_events = 0;
    for (size_t i = 0; i < groups; i++) {
        const struct model_corruption_group *g = &m->corruption_groups[i];
        if (i >= shown) {
            left_events += g->events;
            continue;
        }
        const struct model_process *p = model_process(m, g->process_id);
        int64_t start = p != NULL ? p->start_ns : 0;
        fprintf(out, "  %10lld  %s in %s()", (long long)g->events, g->kind ? g->kind : "?",
                g->call ? g->call : "?");
        if (g->function != NULL)
            fprintf(out, " at %s", text_site_name(site, sizeof site, g->function, g->file, g->line));
        if (g->class_name != NULL)
            fprintf(out, " (%s)", g->class_name);
        if (m->process_count > 1)
            fprintf(out, ", process %lld", (long long)g->process_id);
        if (start > 0 && g->last_ns > g->first_ns)
            fprintf(out, ", %s .. %s after start",
                    units_duration(a, sizeof a, g->first_ns - start),
                    units_duration(b, sizeof b, g->last_ns - start));
        else if (start > 0)
            fprintf(out, ", %s after start", units_duration(a, sizeof a, g->first_ns - start));
        fputc('\n', out);
    }
    if (shown < groups)
        fprintf(out, "  (%zu more groups with %s left out; ortho-report --corruption --all lists "
                     "every group)\n",
                groups - shown, text_count(n2, sizeof n2, left_events, "event", "events"));

    int64_t stored = m->corruption_stored;
    size_t listed = all || stored <= (int64_t)limit ? (size_t)stored : limit;
    if (stored == 0)
        return;
    if ((int64_t)listed < stored)
        fprintf(out, "\n  The first %zu of %s, by process and time:\n", listed,
                text_count(n1, sizeof n1, stored, "stored event", "stored events"));
    else
        fprintf(out, "\n  %s:\n", (size_t)stored == 1 ? "The stored event" : "The stored events");
    struct text_event_ctx ctx = {out, m, frames};
    model_each_corruption(m, all ? 0 : listed, text_corruption_event, &ctx);
    if ((int64_t)listed < stored)
        fprintf(out, "  (%lld more stored events left out; ortho-report --corruption --all lists "
                     "them all)\n",
                (long long)(stored - (int64_t)listed));
}

void format_text(FILE *out, const struct model *m, const struct format_options *o)
{
    unsigned s = o->sections;
    if (s & FORMAT_OVERVIEW) {
        text_overview(out, m);
        if (m->process_count > 1)
            text_processes(out, m);
    }
    if (s & FORMAT_CLASSES)
        text_classes(out, m);
    if (s & FORMAT_SITES)
        text_sites(out, m, o->top);
    if (s & FORMAT_LEAKS)
        text_leaks(out, m, o->stack_frames);
    if (s & FORMAT_CORRUPTION)
        text_corruption(out, m, o->stack_frames, o->top, o->all);
}
