/* format_diff.c - the diff of two runs (diff.h) as text and as JSON. The
 * text shows each changed row as "before -> after (change)"; a run
 * compared with itself prints one line saying nothing changed, and the
 * JSON then holds empty lists. */
#include <stdio.h>

#include "diff.h"
#include "json.h"
#include "text_common.h"
#include "units.h"

static void diff_text_count(FILE *out, const char *what, int64_t before, int64_t after)
{
    fprintf(out, "%s %lld -> %lld (%+lld)", what, (long long)before, (long long)after,
            (long long)(after - before));
}

static void diff_text_bytes(FILE *out, const char *what, int64_t before, int64_t after)
{
    char a[UNITS_BUF], b[UNITS_BUF], c[UNITS_BUF];
    fprintf(out, "%s %s -> %s (%s)", what, units_bytes(a, sizeof a, (double)before),
            units_bytes(b, sizeof b, (double)after),
            units_bytes_delta(c, sizeof c, (double)(after - before)));
}

void format_diff_text(FILE *out, const struct diff *d)
{
    char site[512], a[UNITS_BUF];
    fprintf(out, "ortho-report --diff: %s -> %s\n", d->before_path, d->after_path);
    if (diff_is_empty(d)) {
        fprintf(out, "no differences in classes, sites, leaks or corruption\n");
        return;
    }
    if (d->class_count > 0) {
        fprintf(out, "\nClasses\n");
        for (size_t i = 0; i < d->class_count; i++) {
            const struct diff_class *c = &d->classes[i];
            fprintf(out, "  %-6s ", c->name ? c->name : "?");
            diff_text_count(out, "allocs", c->before.allocs, c->after.allocs);
            diff_text_bytes(out, ", requested", c->before.requested_bytes, c->after.requested_bytes);
            diff_text_bytes(out, ", waste", c->before.usable_bytes - c->before.requested_bytes,
                            c->after.usable_bytes - c->after.requested_bytes);
            if (c->before.live_blocks != c->after.live_blocks)
                diff_text_count(out, ", live blocks", c->before.live_blocks, c->after.live_blocks);
            fputc('\n', out);
        }
    }
    if (d->site_count > 0) {
        fprintf(out, "\nSites%s\n", d->sampled ? " (estimated from sampled stacks)" : "");
        for (size_t i = 0; i < d->site_count; i++) {
            const struct diff_site *s = &d->sites[i];
            const char *change = diff_site_change(s);
            fprintf(out, "  %-7s %s: ", change, text_site_name(site, sizeof site, s->function, s->file, 0));
            if (s->before.allocs == 0 || s->after.allocs == 0) {
                const struct diff_site_counts *c = s->before.allocs == 0 ? &s->after : &s->before;
                fprintf(out, "%lld allocs, %s", (long long)c->allocs,
                        units_bytes(a, sizeof a, (double)c->bytes));
                if (c->live_blocks > 0)
                    fprintf(out, ", %lld live at exit", (long long)c->live_blocks);
            } else {
                diff_text_count(out, "allocs", s->before.allocs, s->after.allocs);
                diff_text_bytes(out, ", bytes", s->before.bytes, s->after.bytes);
                if (s->before.live_blocks != s->after.live_blocks)
                    diff_text_count(out, ", live at exit", s->before.live_blocks,
                                    s->after.live_blocks);
            }
            fputc('\n', out);
        }
    }
    if (d->leak_count > 0) {
        fprintf(out, "\nLeaks\n");
        for (size_t i = 0; i < d->leak_count; i++) {
            const struct diff_leak *l = &d->leaks[i];
            fprintf(out, "  %-7s %s: ", diff_leak_change(l),
                    text_site_name(site, sizeof site, l->function, l->file, 0));
            diff_text_count(out, "blocks", l->before_blocks, l->after_blocks);
            diff_text_bytes(out, ", bytes", l->before_bytes, l->after_bytes);
            fputc('\n', out);
        }
    }
    if (d->kind_count > 0) {
        fprintf(out, "\nCorruption\n");
        for (size_t i = 0; i < d->kind_count; i++) {
            fprintf(out, "  %-14s ", d->kinds[i].kind);
            diff_text_count(out, "events", d->kinds[i].before, d->kinds[i].after);
            fputc('\n', out);
        }
    }
}

static void diff_json_class(struct json *j, const char *key, const struct model_class *c)
{
    json_begin_object(j, key);
    json_int(j, "allocs", c->allocs);
    json_int(j, "frees", c->frees);
    json_int(j, "requested_bytes", c->requested_bytes);
    json_int(j, "usable_bytes", c->usable_bytes);
    json_int(j, "live_blocks", c->live_blocks);
    json_int(j, "live_requested_bytes", c->live_requested_bytes);
    json_end_object(j);
}

static void diff_json_site_counts(struct json *j, const char *key, const struct diff_site_counts *c)
{
    json_begin_object(j, key);
    json_int(j, "allocs", c->allocs);
    json_int(j, "bytes", c->bytes);
    json_int(j, "live_blocks", c->live_blocks);
    json_int(j, "live_bytes", c->live_bytes);
    json_end_object(j);
}

void format_diff_json(FILE *out, const struct diff *d)
{
    struct json j;
    json_init(&j, out);
    json_begin_document(&j);
    json_string(&j, "base", d->before_path);
    json_string(&j, "new", d->after_path);
    json_bool(&j, "sampled", d->sampled);
    json_bool(&j, "empty", diff_is_empty(d));
    json_begin_array(&j, "classes");
    for (size_t i = 0; i < d->class_count; i++) {
        json_begin_object(&j, NULL);
        json_string(&j, "class_name", d->classes[i].name);
        diff_json_class(&j, "before", &d->classes[i].before);
        diff_json_class(&j, "after", &d->classes[i].after);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_begin_array(&j, "sites");
    for (size_t i = 0; i < d->site_count; i++) {
        const struct diff_site *s = &d->sites[i];
        json_begin_object(&j, NULL);
        json_string(&j, "change", diff_site_change(s));
        json_string(&j, "function", s->function);
        json_string(&j, "file", s->file);
        diff_json_site_counts(&j, "before", &s->before);
        diff_json_site_counts(&j, "after", &s->after);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_begin_array(&j, "leaks");
    for (size_t i = 0; i < d->leak_count; i++) {
        const struct diff_leak *l = &d->leaks[i];
        json_begin_object(&j, NULL);
        json_string(&j, "change", diff_leak_change(l));
        json_string(&j, "function", l->function);
        json_string(&j, "file", l->file);
        json_begin_object(&j, "before");
        json_int(&j, "blocks", l->before_blocks);
        json_int(&j, "bytes", l->before_bytes);
        json_end_object(&j);
        json_begin_object(&j, "after");
        json_int(&j, "blocks", l->after_blocks);
        json_int(&j, "bytes", l->after_bytes);
        json_end_object(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_begin_array(&j, "corruption");
    for (size_t i = 0; i < d->kind_count; i++) {
        json_begin_object(&j, NULL);
        json_string(&j, "kind", d->kinds[i].kind);
        json_int(&j, "before", d->kinds[i].before);
        json_int(&j, "after", d->kinds[i].after);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}
