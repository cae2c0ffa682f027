/* describe.c - the text lines of ortho-top's screens (see describe.h).
 * Stacks are read from the frames table ordered by level (innermost
 * first), not from the stack_text view, whose frame order is not
 * guaranteed (group_concat over a subquery's order). */
#include "describe.h"

#include <stdio.h>
#include <string.h>

#include "screens.h"

#define DESCRIBE_MAX_FRAMES 64  /* the collector's deepest stacks are 32..64 frames */

void top_describe_time(char *buf, size_t cap, const struct top_snapshot *snap, const char *path)
{
    char at[32], end[32];
    top_format_offset(at, sizeof at, snap->at_ns, snap->begin_ns);
    top_format_offset(end, sizeof end, snap->end_ns, snap->begin_ns);
    snprintf(buf, cap, "%s: %s run, time %s of %s", path, snap->live ? "live" : "finished", at,
             end);
}

static int64_t describe_held_total(const struct top_frag *f)
{
    int64_t total = 0;
    for (int p = 0; p < TOP_FRAG_PARTS; p++) {
        int64_t v = top_frag_part(f, (enum top_frag_part)p);
        if (v > 0)
            total += v;
    }
    return total;
}

void top_describe_frag_part(char *buf, size_t cap, const struct top_snapshot *snap,
                            enum top_frag_part part, bool exact, int bar_width)
{
    int64_t v = top_frag_part(&snap->frag_total, part);
    const char *name = top_frag_part_name(part);
    if (v < 0) {
        snprintf(buf, cap, "%-18s %12s  only known at the end of the data", name, "-");
        return;
    }
    int64_t total = describe_held_total(&snap->frag_total);
    double share = total > 0 ? 100.0 * (double)v / (double)total : 0.0;
    char num[32], bar[256];
    if (exact)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else
        top_format_bytes(num, sizeof num, v, 8);
    if (bar_width > (int)sizeof bar - 1)
        bar_width = (int)sizeof bar - 1;
    int marks = total > 0 ? (int)((double)v * bar_width / (double)total + 0.5) : 0;
    if (marks == 0 && v > 0 && bar_width > 0)
        marks = 1;
    memset(bar, '#', (size_t)marks);
    bar[marks] = '\0';
    snprintf(buf, cap, "%-18s %12s %6.1f%%  %s", name, num, share, bar);
}

/* Appends the frames of one stack as lines; "(no stack recorded)" when the
 * database has none. */
static size_t describe_stack(const struct top_model *m, int64_t process_id, int64_t stack_id,
                             char (*lines)[TOP_LINE_BYTES], size_t n, size_t max)
{
    struct top_frame frames[DESCRIBE_MAX_FRAMES];
    int count = stack_id != 0 ? top_model_stack(m, process_id, stack_id, frames,
                                                DESCRIBE_MAX_FRAMES) : 0;
    if (count < 0 && n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "    (cannot read the stack: query failed)");
    else if (count == 0 && n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "    (no stack recorded)");
    for (int i = 0; i < count && n < max; i++) {
        const struct top_frame *f = &frames[i];
        char where[200] = "";
        if (f->file[0] != '\0')
            snprintf(where, sizeof where, " at %s:%lld", f->file, (long long)f->line);
        snprintf(lines[n++], TOP_LINE_BYTES, "    #%-2lld %s%s%s%s", (long long)f->level,
                 f->function[0] ? f->function : "??", where, f->module[0] ? " in " : "",
                 f->module);
    }
    return n;
}

size_t top_describe_event(const struct top_model *m, const struct top_snapshot *snap,
                          const struct top_event *e, char (*lines)[TOP_LINE_BYTES], size_t max)
{
    size_t n = 0;
    char at[32];
    top_format_offset(at, sizeof at, e->ts_ns, snap->begin_ns);
    if (n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "event %lld: %s in %s() of 0x%llx (class %s)",
                 (long long)e->event_id, e->kind, e->call[0] ? e->call : "?",
                 (unsigned long long)e->address, e->class_name[0] ? e->class_name : "?");
    if (n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "at %s, process %lld, thread %lld; allocated by thread %s",
                 at, (long long)e->process_id, (long long)e->thread_id,
                 e->alloc_thread_id ? "" : "(unknown)");
    if (e->alloc_thread_id != 0)
        snprintf(lines[n - 1] + strlen(lines[n - 1]), TOP_LINE_BYTES - strlen(lines[n - 1]),
                 "%lld", (long long)e->alloc_thread_id);
    for (int off = 0; off < e->header_bytes && n < max; off += 16) {
        char *line = lines[n++];
        int len = snprintf(line, TOP_LINE_BYTES, "%s +%02d:", off == 0 ? "header" : "      ", off);
        for (int i = off; i < off + 16 && i < e->header_bytes; i++)
            len += snprintf(line + len, (size_t)(TOP_LINE_BYTES - len), " %02x", e->header[i]);
    }
    if (n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "detected at (innermost first):");
    n = describe_stack(m, e->process_id, e->stack_id, lines, n, max);
    if (n < max)
        snprintf(lines[n++], TOP_LINE_BYTES, "allocated at:");
    n = describe_stack(m, e->process_id, e->alloc_stack_id, lines, n, max);
    return n;
}
