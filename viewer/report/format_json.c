/* format_json.c - the report for scripts: the same sections as the text,
 * with exact numbers (bytes as integers, estimates as numbers) and every
 * row rather than a top N. Keys follow the database's column names, so a
 * script can check one against the other. Documented in docs/ortho-report.md. */
#include "format.h"
#include "json.h"

static void json_stack(struct json *j, const char *key, const struct model_stack *s)
{
    if (s == NULL) {
        json_string(j, key, NULL);
        return;
    }
    json_begin_array(j, key);
    for (size_t i = 0; i < s->frame_count; i++) {
        const struct model_frame *f = &s->frames[i];
        json_begin_object(j, NULL);
        json_string(j, "function", f->function);
        json_string(j, "file", f->file);
        if (f->line > 0)
            json_int(j, "line", f->line);
        else
            json_string(j, "line", NULL);
        json_string(j, "module", f->module);
        json_int(j, "pc", (int64_t)f->pc);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_class_fields(struct json *j, const struct model_class *c)
{
    json_int(j, "allocs", c->allocs);
    json_int(j, "frees", c->frees);
    json_int(j, "requested_bytes", c->requested_bytes);
    json_int(j, "usable_bytes", c->usable_bytes);
    json_int(j, "waste_bytes", c->usable_bytes - c->requested_bytes);
    json_number(j, "waste_pct", model_waste_pct(c->requested_bytes, c->usable_bytes));
    json_int(j, "live_blocks", c->live_blocks);
    json_int(j, "live_requested_bytes", c->live_requested_bytes);
    json_int(j, "live_usable_bytes", c->live_usable_bytes);
}

/* The active classes of a process (p) or of the whole tree (p NULL).
 * class_id is the process's own; over the tree, the one every process
 * gives the class, or null when their tables number it differently. */
static void json_classes(struct json *j, const struct model *m, const struct model_process *p,
                         const struct model_class *classes)
{
    json_begin_array(j, "classes");
    for (size_t i = 0; i < m->class_count; i++) {
        const struct model_class *c = &classes[i];
        const struct model_class_info *info = &m->classes[i];
        if (!model_class_active(c))
            continue;
        json_begin_object(j, NULL);
        json_string(j, "class_name", info->name);
        int64_t id = p != NULL ? p->class_ids[i] : info->class_id;
        if (id >= 0)
            json_int(j, "class_id", id);
        else
            json_string(j, "class_id", NULL);
        if (!info->large)
            json_int(j, "payload_size", info->payload_bytes);
        else
            json_string(j, "payload_size", NULL);
        json_class_fields(j, c);
        json_int(j, "cached_blocks", c->cached_blocks);
        json_int(j, "pooled_blocks", c->pooled_blocks);
        json_int(j, "cached_bytes", c->cached_bytes);
        json_int(j, "pooled_bytes", c->pooled_bytes);
        json_int(j, "peak_live_usable_bytes", c->peak_live_usable_bytes);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_peak(struct json *j, const struct model_process *p)
{
    json_begin_object(j, "peak_live_usable_bytes");
    json_bool(j, "exact", p->peak_exact);
    json_int(j, "low", p->peak_low_bytes);
    json_int(j, "high", p->peak_high_bytes);
    json_end_object(j);
}

/* "calls": the allocations of process_id (0: the tree) by entry point,
 * {"malloc": {"allocs": n, "requested_bytes": b}, ...}, most first; null
 * when the database does not split them. */
static void json_calls(struct json *j, const struct model *m, int64_t process_id)
{
    if (!m->has_calls) {
        json_string(j, "calls", NULL);
        return;
    }
    json_begin_object(j, "calls");
    for (size_t i = 0; i < m->call_count; i++) {
        const struct model_call *c = &m->calls[i];
        if (c->process_id != process_id)
            continue;
        json_begin_object(j, c->call);
        json_int(j, "allocs", c->allocs);
        json_int(j, "requested_bytes", c->requested_bytes);
        json_end_object(j);
    }
    json_end_object(j);
}

static void json_processes(struct json *j, const struct model *m, bool with_classes)
{
    json_begin_array(j, "processes");
    for (size_t i = 0; i < m->process_count; i++) {
        const struct model_process *p = &m->processes[i];
        json_begin_object(j, NULL);
        json_int(j, "process_id", p->process_id);
        json_int(j, "pid", p->pid);
        json_int(j, "ppid", p->ppid);
        if (p->parent_process_id > 0)
            json_int(j, "parent_process_id", p->parent_process_id);
        else
            json_string(j, "parent_process_id", NULL);
        json_string(j, "via", p->via);
        json_string(j, "exe", p->exe);
        json_string(j, "cmdline", p->cmdline);
        json_int(j, "start_ns", p->start_ns);
        if (p->end_ns > 0)
            json_int(j, "end_ns", p->end_ns);
        else
            json_string(j, "end_ns", NULL);
        json_string(j, "end_reason", p->end_reason);
        json_string(j, "mode", p->mode);
        json_int(j, "sample_bytes", p->sample_bytes);
        json_int(j, "stack_depth", p->stack_depth);
        json_int(j, "records", p->records);
        json_int(j, "dropped_records", p->dropped_records);
        json_int(j, "lost_no_slot", p->lost_no_slot);
        json_int(j, "stacks_truncated", p->stacks_truncated);
        json_int(j, "untracked_frees", p->untracked_frees);
        json_peak(j, p);
        struct model_class sum = model_sum_classes(p->classes, m->class_count);
        json_begin_object(j, "totals");
        json_class_fields(j, &sum);
        json_calls(j, m, p->process_id);
        json_end_object(j);
        if (with_classes)
            json_classes(j, m, p, p->classes);
        json_end_object(j);
    }
    json_end_array(j);
}

static void json_overview(struct json *j, const struct model *m)
{
    json_int(j, "duration_ns", model_duration_ns(m));
    json_bool(j, "live", m->live);
    json_bool(j, "stacks_off", m->stacks_off);
    json_bool(j, "sampled", m->sampled);
    struct model_class all = model_sum_classes(m->totals, m->class_count);
    json_begin_object(j, "totals");
    json_class_fields(j, &all);
    json_int(j, "leaked_blocks", model_total_leak_blocks(m));
    json_int(j, "leaked_bytes", model_total_leak_bytes(m));
    json_int(j, "suppressed_blocks", model_total_suppressed_blocks(m));
    json_int(j, "suppressed_bytes", model_total_suppressed_bytes(m));
    json_int(j, "corruption_events", m->corruption_events);
    json_int(j, "dropped_records", model_total_dropped(m));
    json_calls(j, m, 0);
    json_end_object(j);
}

static void json_site(const struct model_site *s, void *ctx)
{
    struct json *j = ctx;
    json_begin_object(j, NULL);
    json_int(j, "process_id", s->process_id);
    json_string(j, "function", s->function);
    json_string(j, "file", s->file);
    if (s->line > 0)
        json_int(j, "line", s->line);
    else
        json_string(j, "line", NULL);
    json_int(j, "stacks", s->stacks);
    json_int(j, "allocs", s->allocs);
    json_int(j, "alloc_bytes", s->alloc_bytes);
    json_int(j, "frees", s->frees);
    json_int(j, "live_blocks", s->live_blocks);
    json_int(j, "live_bytes", s->live_bytes);
    json_int(j, "peak_live_bytes", s->peak_live_bytes);
    json_number(j, "est_allocs", s->est_allocs);
    json_number(j, "est_bytes", s->est_bytes);
    json_end_object(j);
}

/* Every site, streamed from the database as it is written out. */
static void json_sites(struct json *j, const struct model *m)
{
    json_begin_array(j, "sites");
    model_each_site(m, NULL, NULL, 0, json_site, j);
    json_end_array(j);
}

static void json_leaks(struct json *j, const struct model *m)
{
    json_begin_array(j, "leaks");
    for (size_t i = 0; i < m->leak_count; i++) {
        const struct model_leak *l = &m->leaks[i];
        json_begin_object(j, NULL);
        json_int(j, "process_id", l->process_id);
        json_int(j, "stack_id", l->stack_id);
        json_int(j, "blocks", l->blocks);
        json_int(j, "bytes", l->bytes);
        json_string(j, "classes", l->class_names);
        json_string(j, "suppressed_by", l->suppressed_by);
        json_string(j, "function", l->function);
        json_string(j, "file", l->file);
        if (l->line > 0)
            json_int(j, "line", l->line);
        else
            json_string(j, "line", NULL);
        json_stack(j, "stack", model_stack(m, l->process_id, l->stack_id));
        json_end_object(j);
    }
    json_end_array(j);
}

struct json_event_ctx {
    struct json *j;
    const struct model *m;
};

static void json_corruption_event(const struct model_corruption *c, void *ctx)
{
    struct json_event_ctx *x = ctx;
    struct json *j = x->j;
    const struct model *m = x->m;
    json_begin_object(j, NULL);
    json_int(j, "event_id", c->event_id);
    json_int(j, "process_id", c->process_id);
    json_int(j, "thread_id", c->thread_id);
    json_int(j, "ts_ns", c->ts_ns);
    json_string(j, "kind", c->kind);
    json_string(j, "call", c->call);
    json_int(j, "address", (int64_t)c->address);
    json_string(j, "class_name", c->class_name);
    json_string(j, "function", c->function);
    json_string(j, "file", c->file);
    if (c->line > 0)
        json_int(j, "line", c->line);
    else
        json_string(j, "line", NULL);
    json_stack(j, "stack", model_stack(m, c->process_id, c->stack_id));
    json_stack(j, "alloc_stack", model_stack(m, c->process_id, c->alloc_stack_id));
    json_end_object(j);
}

/* "corruption": the stored events, the first `limit` unless all;
 * "corruption_summary": every event counted, by kind and by group (the
 * top `limit` groups unless all), and what the lists left out. */
static void json_corruption(struct json *j, const struct model *m, size_t limit, bool all)
{
    size_t listed = all || m->corruption_stored <= (int64_t)limit ? (size_t)m->corruption_stored
                                                                   : limit;
    json_begin_array(j, "corruption");
    struct json_event_ctx ctx = {j, m};
    if (listed > 0)
        model_each_corruption(m, all ? 0 : listed, json_corruption_event, &ctx);
    json_end_array(j);

    size_t groups = all || m->corruption_group_count <= limit ? m->corruption_group_count : limit;
    json_begin_object(j, "corruption_summary");
    json_int(j, "events", m->corruption_events);
    json_int(j, "stored_events", m->corruption_stored);
    json_int(j, "aggregated_events", m->corruption_events - m->corruption_stored);
    json_int(j, "listed_events", (int64_t)listed);
    json_int(j, "groups", (int64_t)m->corruption_group_count);
    json_int(j, "listed_groups", (int64_t)groups);
    json_bool(j, "complete", listed == (size_t)m->corruption_stored &&
                                 groups == m->corruption_group_count);
    json_begin_array(j, "kinds");
    for (size_t i = 0; i < m->corruption_kind_count; i++) {
        json_begin_object(j, NULL);
        json_string(j, "kind", m->corruption_kinds[i].kind);
        json_int(j, "events", m->corruption_kinds[i].events);
        json_end_object(j);
    }
    json_end_array(j);
    json_begin_array(j, "by_site");
    for (size_t i = 0; i < groups; i++) {
        const struct model_corruption_group *g = &m->corruption_groups[i];
        json_begin_object(j, NULL);
        json_int(j, "process_id", g->process_id);
        json_string(j, "kind", g->kind);
        json_string(j, "call", g->call);
        json_string(j, "function", g->function);
        json_string(j, "file", g->file);
        if (g->line > 0)
            json_int(j, "line", g->line);
        else
            json_string(j, "line", NULL);
        json_string(j, "class_name", g->class_name);
        json_int(j, "events", g->events);
        json_int(j, "stored_events", g->stored_events);
        json_int(j, "first_ns", g->first_ns);
        json_int(j, "last_ns", g->last_ns);
        json_int(j, "first_address", (int64_t)g->first_address);
        json_int(j, "last_address", (int64_t)g->last_address);
        json_stack(j, "stack", model_stack(m, g->process_id, g->stack_id));
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

void format_json(FILE *out, const struct model *m, const struct format_options *o)
{
    struct json j;
    json_init(&j, out);
    json_begin_document(&j);
    json_string(&j, "database", m->path_shown);
    if (o->sections & FORMAT_OVERVIEW) {
        json_overview(&j, m);
        json_processes(&j, m, (o->sections & FORMAT_CLASSES) != 0);
    }
    if (o->sections & FORMAT_CLASSES)
        json_classes(&j, m, NULL, m->totals);
    if (o->sections & FORMAT_SITES)
        json_sites(&j, m);
    if (o->sections & FORMAT_LEAKS)
        json_leaks(&j, m);
    if (o->sections & FORMAT_CORRUPTION)
        json_corruption(&j, m, o->top, o->all);
    json_end_object(&j);
    json_finish(&j);
}
