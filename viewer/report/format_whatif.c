/* format_whatif.c - the what-if results (whatif.h) as text and JSON: the
 * run's own table and the other one (or the suggestion) side by side,
 * whole run first, then the other table class by class, then per process
 * when the run has several. */
#include <stdbool.h>
#include <stdio.h>

#include "json.h"
#include "units.h"
#include "whatif.h"

static void whatif_text_total(FILE *out, const char *label, const struct whatif_result *r)
{
    char a[UNITS_BUF], b[UNITS_BUF];
    fprintf(out, "  %-28s %12lld %12s %12s %7.2f%%\n", label, (long long)r->allocs,
            units_bytes(a, sizeof a, (double)r->requested_bytes),
            units_bytes(b, sizeof b, (double)r->waste_bytes),
            whatif_waste_pct(r->requested_bytes, r->waste_bytes));
}

static void whatif_text_one(FILE *out, const struct model *m, const struct whatif_table *own,
                            const struct whatif_table *other, const char *name)
{
    char a[UNITS_BUF], b[UNITS_BUF], label[64];
    struct whatif_result mine, theirs;
    whatif_replay_own(m, 0, &mine);
    whatif_replay(m, 0, other, &theirs);
    fprintf(out, "  %-28s %12s %12s %12s %8s\n", "table", "allocs", "requested", "waste", "waste%");
    snprintf(label, sizeof label, "the run's (%zu classes)", own->count);
    whatif_text_total(out, label, &mine);
    snprintf(label, sizeof label, "%.16s (%zu classes)", name, other->count);
    whatif_text_total(out, label, &theirs);
    fprintf(out, "  change in waste: %s\n",
            units_bytes_delta(a, sizeof a, (double)(theirs.waste_bytes - mine.waste_bytes)));
    if (mine.large_allocs > 0)
        fprintf(out, "  (%lld allocations above 16 MiB take the large path under any table: "
                     "left out)\n",
                (long long)mine.large_allocs);

    fprintf(out, "\n  %-12s %12s %12s %12s %8s\n", "payload", "allocs", "requested", "waste",
            "waste%");
    for (size_t i = 0; i < theirs.class_count; i++) {
        const struct whatif_class *c = &theirs.classes[i];
        fprintf(out, "  %-12lld %12lld %12s %12s %7.2f%%\n", (long long)c->payload_bytes,
                (long long)c->allocs,
                units_bytes(a, sizeof a, (double)c->requested_bytes),
                units_bytes(b, sizeof b, (double)c->waste_bytes),
                whatif_waste_pct(c->requested_bytes, c->waste_bytes));
    }
    if (theirs.above_allocs > 0)
        fprintf(out, "  %-12s %12lld %12s %12s   (above the largest class: large path, pages)\n",
                "larger", (long long)theirs.above_allocs,
                units_bytes(a, sizeof a, (double)theirs.above_requested_bytes),
                units_bytes(b, sizeof b, (double)theirs.above_waste_bytes));
    if (m->process_count > 1) {
        fprintf(out, "\n  per process: waste under the run's table -> under %s\n", name);
        for (size_t i = 0; i < m->process_count; i++) {
            struct whatif_result pm, pt;
            whatif_replay_own(m, m->processes[i].process_id, &pm);
            whatif_replay(m, m->processes[i].process_id, other, &pt);
            if (pm.allocs > 0)
                fprintf(out, "    process %lld: %s -> %s\n", (long long)m->processes[i].process_id,
                        units_bytes(a, sizeof a, (double)pm.waste_bytes),
                        units_bytes(b, sizeof b, (double)pt.waste_bytes));
            whatif_result_free(&pm);
            whatif_result_free(&pt);
        }
    }
    whatif_result_free(&mine);
    whatif_result_free(&theirs);
}

void format_whatif_text(FILE *out, const struct model *m, const struct whatif_request *r)
{
    struct whatif_table own;
    whatif_table_of_model(&own, m);
    if (r->table != NULL) {
        fprintf(out, "What if %s had been the size-class table of %s\n", r->table_name, m->path_shown);
        whatif_text_one(out, m, &own, r->table, "what-if");
    }
    if (r->suggested != NULL) {
        if (r->table != NULL)
            fputc('\n', out);
        fprintf(out, "Suggested table of %zu classes for %s (least waste; payloads multiples of %d)\n",
                r->wanted, m->path_shown, WHATIF_ALIGN_BYTES);
        if (r->suggested->count == 0) {
            fprintf(out, "  nothing to suggest: no allocation up to 16 MiB in this run\n");
        } else {
            fprintf(out, "  sizes:");
            for (size_t i = 0; i < r->suggested->count; i++)
                fprintf(out, " %lld", (long long)r->suggested->payload_bytes[i]);
            fputc('\n', out);
            if (r->suggested_option != NULL)
                fprintf(out, "  run with: ORTHO_CLASSES=%s\n", r->suggested_option);
            if (r->output != NULL)
                fprintf(out, "  written to %s: run with ORTHO_CLASSES=@%s\n", r->output, r->output);
            if (r->suggested->count < r->wanted)
                fprintf(out, "  (only %zu distinct sizes to serve: one class each)\n",
                        r->suggested->count);
            whatif_text_one(out, m, &own, r->suggested, "suggested");
        }
    }
    whatif_table_free(&own);
}

/* One table's replay; own: the run's own tables (t is their union). */
static void whatif_json_result(struct json *j, const char *key, const struct model *m,
                               const struct whatif_table *t, bool own)
{
    struct whatif_result r;
    if (own)
        whatif_replay_own(m, 0, &r);
    else
        whatif_replay(m, 0, t, &r);
    json_begin_object(j, key);
    json_begin_array(j, "payload_sizes");
    for (size_t i = 0; i < t->count; i++)
        json_int(j, NULL, t->payload_bytes[i]);
    json_end_array(j);
    json_int(j, "allocs", r.allocs);
    json_int(j, "requested_bytes", r.requested_bytes);
    json_int(j, "waste_bytes", r.waste_bytes);
    json_number(j, "waste_pct", whatif_waste_pct(r.requested_bytes, r.waste_bytes));
    json_int(j, "large_allocs", r.large_allocs);
    json_begin_array(j, "classes");
    for (size_t i = 0; i < r.class_count; i++) {
        json_begin_object(j, NULL);
        json_int(j, "payload_size", r.classes[i].payload_bytes);
        json_int(j, "allocs", r.classes[i].allocs);
        json_int(j, "requested_bytes", r.classes[i].requested_bytes);
        json_int(j, "waste_bytes", r.classes[i].waste_bytes);
        json_end_object(j);
    }
    json_end_array(j);
    json_begin_object(j, "above_largest_class");
    json_int(j, "allocs", r.above_allocs);
    json_int(j, "requested_bytes", r.above_requested_bytes);
    json_int(j, "waste_bytes", r.above_waste_bytes);
    json_end_object(j);
    json_begin_array(j, "processes");
    for (size_t i = 0; i < m->process_count; i++) {
        struct whatif_result p;
        if (own)
            whatif_replay_own(m, m->processes[i].process_id, &p);
        else
            whatif_replay(m, m->processes[i].process_id, t, &p);
        json_begin_object(j, NULL);
        json_int(j, "process_id", m->processes[i].process_id);
        json_int(j, "allocs", p.allocs);
        json_int(j, "requested_bytes", p.requested_bytes);
        json_int(j, "waste_bytes", p.waste_bytes);
        json_end_object(j);
        whatif_result_free(&p);
    }
    json_end_array(j);
    json_end_object(j);
    whatif_result_free(&r);
}

void format_whatif_json(FILE *out, const struct model *m, const struct whatif_request *r)
{
    struct whatif_table own;
    whatif_table_of_model(&own, m);
    struct json j;
    json_init(&j, out);
    json_begin_document(&j);
    json_string(&j, "database", m->path_shown);
    whatif_json_result(&j, "current", m, &own, true);
    if (r->table != NULL) {
        json_string(&j, "what_if_table", r->table_name);
        whatif_json_result(&j, "what_if", m, r->table, false);
    }
    if (r->suggested != NULL) {
        json_int(&j, "suggest_classes", (int64_t)r->wanted);
        json_string(&j, "ortho_classes", r->suggested_option);
        json_string(&j, "output", r->output);
        whatif_json_result(&j, "suggested", m, r->suggested, false);
    }
    json_end_object(&j);
    json_finish(&j);
    whatif_table_free(&own);
}
