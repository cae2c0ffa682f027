/* weights.c - see weights.h. */
#include "weights.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_mem.h"

double weight_of(const struct model *m, const struct model_stack_site *s, enum weight_kind kind)
{
    const struct model_process *p = model_process(m, s->process_id);
    bool sampled = p != NULL && p->sample_bytes > 0;
    if (sampled && s->stack_id == 0)
        return 0; /* the sampled stacks' estimates already account for these */
    double alloc_scale = 1, byte_scale = 1;
    if (sampled) {
        alloc_scale = s->allocs > 0 ? s->est_allocs / (double)s->allocs : 0;
        byte_scale = s->alloc_bytes > 0 ? s->est_bytes / (double)s->alloc_bytes : 0;
    }
    switch (kind) {
    case WEIGHT_ALLOC_BYTES: return sampled ? s->est_bytes : (double)s->alloc_bytes;
    case WEIGHT_ALLOCS: return sampled ? s->est_allocs : (double)s->allocs;
    case WEIGHT_LIVE_BYTES: return (double)s->live_bytes * byte_scale;
    case WEIGHT_LIVE_BLOCKS: return (double)s->live_blocks * alloc_scale;
    }
    return 0;
}

double weight_site(const struct model *m, const struct model_site *s, enum weight_kind kind)
{
    /* A site is the sum of its stacks, so the per-stack rule carries over. */
    struct model_stack_site row = {.process_id = s->process_id,
                                   .stack_id = s->has_stack ? 1 : 0,
                                   .allocs = s->allocs, .alloc_bytes = s->alloc_bytes,
                                   .live_blocks = s->live_blocks, .live_bytes = s->live_bytes,
                                   .est_allocs = s->est_allocs, .est_bytes = s->est_bytes};
    return weight_of(m, &row, kind);
}

const char *weight_describe(enum weight_kind kind)
{
    switch (kind) {
    case WEIGHT_ALLOC_BYTES: return "allocated bytes";
    case WEIGHT_ALLOCS: return "allocations";
    case WEIGHT_LIVE_BYTES: return "live bytes at exit";
    case WEIGHT_LIVE_BLOCKS: return "live blocks at exit";
    }
    return "?";
}

int weight_parse(const char *word)
{
    if (strcmp(word, "alloc-bytes") == 0)
        return WEIGHT_ALLOC_BYTES;
    if (strcmp(word, "allocs") == 0)
        return WEIGHT_ALLOCS;
    if (strcmp(word, "live-bytes") == 0)
        return WEIGHT_LIVE_BYTES;
    return -1;
}

const char *weight_frame_name(const struct model_frame *f, char *buf, size_t cap)
{
    if (f->function != NULL && f->function[0] != '\0')
        return f->function;
    if (f->module != NULL)
        snprintf(buf, cap, "0x%" PRIx64 " (%s)", f->pc, mem_basename(f->module));
    else
        snprintf(buf, cap, "0x%" PRIx64, f->pc);
    return buf;
}

const char *weight_process_name(const struct model_process *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s (process %lld)", p->exe ? mem_basename(p->exe) : "?",
             (long long)p->process_id);
    return buf;
}

const char *weight_site_sql(enum weight_kind kind)
{
    /* A sampled process's no-stack row (has_stack 0) weighs nothing; its
     * live figures scale like its totals. */
    switch (kind) {
    case WEIGHT_ALLOC_BYTES:
        return "(CASE WHEN p.sample_bytes > 0 THEN t.has_stack * t.est_bytes"
               " ELSE t.alloc_bytes END)";
    case WEIGHT_ALLOCS:
        return "(CASE WHEN p.sample_bytes > 0 THEN t.has_stack * t.est_allocs ELSE t.allocs END)";
    case WEIGHT_LIVE_BYTES:
        return "(CASE WHEN p.sample_bytes > 0 THEN t.has_stack * t.live_bytes"
               " * t.est_bytes / max(t.alloc_bytes, 1) ELSE t.live_bytes END)";
    case WEIGHT_LIVE_BLOCKS:
        return "(CASE WHEN p.sample_bytes > 0 THEN t.has_stack * t.live_blocks"
               " * t.est_allocs / max(t.allocs, 1) ELSE t.live_blocks END)";
    }
    return "0";
}

size_t weight_process_count(const struct model *m, enum weight_kind kind)
{
    char where[256];
    snprintf(where, sizeof where, "%s > 0", weight_site_sql(kind));
    return (size_t)model_count_sites(m, where, true);
}
