/* text_common.c - see text_common.h. */
#include "text_common.h"

#include <string.h>

#include "report_mem.h"
#include "units.h"
#include "weights.h"

const char *text_site_name(char *buf, size_t cap, const char *function, const char *file,
                           int64_t line)
{
    if (function == NULL)
        snprintf(buf, cap, "%s", WEIGHT_NO_STACK);
    else if (file != NULL && line > 0)
        snprintf(buf, cap, "%s (%s:%lld)", function, mem_basename(file), (long long)line);
    else if (file != NULL)
        snprintf(buf, cap, "%s (%s)", function, mem_basename(file));
    else
        snprintf(buf, cap, "%s", function);
    return buf;
}

void text_stack(FILE *out, const struct model_stack *s, const char *indent, size_t max_frames)
{
    if (s == NULL)
        return;
    char name[256];
    for (size_t i = 0; i < s->frame_count && i < max_frames; i++) {
        const struct model_frame *f = &s->frames[i];
        fprintf(out, "%s#%zu %s", indent, i, weight_frame_name(f, name, sizeof name));
        if (f->file != NULL && f->line > 0)
            fprintf(out, "  %s:%lld", mem_basename(f->file), (long long)f->line);
        else if (f->module != NULL && f->function != NULL)
            fprintf(out, "  (%s)", mem_basename(f->module));
        fputc('\n', out);
    }
    if (s->frame_count > max_frames)
        fprintf(out, "%s... %zu more frames\n", indent, s->frame_count - max_frames);
    if (s->truncated)
        fprintf(out, "%s(cut at the stack depth limit)\n", indent);
}

void text_peak(FILE *out, const struct model_process *p)
{
    char a[UNITS_BUF], b[UNITS_BUF];
    if (p->peak_exact) {
        fprintf(out, "%s usable (exact)",
                units_bytes(a, sizeof a, (double)p->peak_low_bytes));
        return;
    }
    if (p->peak_low_bytes == p->peak_high_bytes) {
        fprintf(out, "%s usable", units_bytes(a, sizeof a, (double)p->peak_low_bytes));
        return;
    }
    fprintf(out, "between %s and %s usable (ORTHO_TRACE=full measures it exactly)",
            units_bytes(a, sizeof a, (double)p->peak_low_bytes),
            units_bytes(b, sizeof b, (double)p->peak_high_bytes));
}

const char *text_count(char *buf, size_t cap, int64_t n, const char *one, const char *many)
{
    snprintf(buf, cap, "%lld %s", (long long)n, n == 1 ? one : many);
    return buf;
}

void text_corruption_kinds(FILE *out, const struct model *m)
{
    if (m->corruption_events == 0) {
        fputs("none", out);
        return;
    }
    char count[48];
    fprintf(out, "%s:", text_count(count, sizeof count, m->corruption_events, "event", "events"));
    /* Kinds in order of first appearance, each with its count (summed by
     * the database over the groups: linear in them, whatever the events). */
    for (size_t i = 0; i < m->corruption_kind_count; i++) {
        const struct model_corruption_kind *k = &m->corruption_kinds[i];
        fprintf(out, "%s %s x%lld", i ? "," : "", k->kind ? k->kind : "?", (long long)k->events);
    }
}

void text_health(FILE *out, const struct model *m)
{
    int64_t dropped = 0, no_slot = 0, truncated = 0, untracked = 0, depth = 0, sample = 0;
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        dropped += p->dropped_records;
        no_slot += p->lost_no_slot;
        truncated += p->stacks_truncated;
        untracked += p->untracked_frees;
        if (p->stack_depth > depth)
            depth = p->stack_depth;
        if (p->sample_bytes > sample)
            sample = p->sample_bytes;
    }
    if (dropped + no_slot > 0)
        fprintf(out, "INCOMPLETE: %lld records dropped, %lld events of threads without a ring; "
                     "counts are low",
                (long long)dropped, (long long)no_slot);
    else
        fputs("complete (no records dropped)", out);
    char a[UNITS_BUF];
    if (m->stacks_off)
        fputs("; stacks off (ORTHO_TRACE_STACKS=0): no sites or stacks", out);
    else if (sample > 0)
        fprintf(out, "; stacks sampled every %s (ORTHO_TRACE_SAMPLE): site figures are estimates",
                units_bytes(a, sizeof a, (double)sample));
    else
        fprintf(out, "; stacks on (%lld frames)", (long long)depth);
    if (truncated > 0)
        fprintf(out, "; %lld stacks cut at the depth limit", (long long)truncated);
    if (untracked > 0)
        fprintf(out, "; %lld frees of blocks from before tracing", (long long)untracked);
}
