/* format_pprof.c - the run as a pprof heap profile: profile.proto's Profile
 * message, gzipped, with the four sample types of a Go heap profile in
 * Go's order (alloc_objects, alloc_space, inuse_objects, inuse_space;
 * "inuse" is what was still live when its process ended). One Sample per
 * stack of the trace (weights.h decides its values, so sampled runs carry
 * their estimates), its locations leaf first; one Location per distinct
 * (process, pc), one Mapping per (process, module) with the root
 * process's executable first (pprof names the profile after mapping 1),
 * one Function per (name, file); every string once in the string table,
 * "" at index 0 as the format requires. Each sample is labelled with its
 * process's pid. Allocations without a stack get one location naming
 * "(no stack)", so the profile's totals are the run's. Field numbers are
 * profile.proto's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "gzip_out.h"
#include "outfile.h"
#include "protobuf.h"
#include "report_mem.h"
#include "strmap.h"

/* profile.proto field numbers. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_STR = 2, LABEL_NUM = 3,
    MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3, MAPPING_FILENAME = 5,
    MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
    LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

/* ---- the profile ------------------------------------------------------- */

struct pprof {
    struct pb out;                   /* the Profile message */
    struct pb msg;                   /* scratch for one nested message */
    struct pb inner;                 /* scratch one level deeper */
    struct strmap strings, functions, locations, mappings;
    uint64_t string_count, function_count, location_count, mapping_count;
    struct pb string_table;          /* the string_table fields, appended last */
};

static uint64_t pprof_string(struct pprof *p, const char *s)
{
    bool added;
    uint64_t index = strmap_get(&p->strings, s, p->string_count, &added);
    if (added) {
        p->string_count++;
        pb_string(&p->string_table, PROFILE_STRING_TABLE, s);
    }
    return index;
}

static void pprof_value_type(struct pprof *p, uint32_t field, const char *type, const char *unit)
{
    pb_clear(&p->msg);
    pb_int(&p->msg, VALUE_TYPE_TYPE, (int64_t)pprof_string(p, type));
    pb_int(&p->msg, VALUE_TYPE_UNIT, (int64_t)pprof_string(p, unit));
    pb_message(&p->out, field, &p->msg);
}

static uint64_t pprof_function(struct pprof *p, const char *name, const char *file)
{
    char key[1024];
    snprintf(key, sizeof key, "%s\x1f%s", name, file ? file : "");
    bool added;
    uint64_t id = strmap_get(&p->functions, key, p->function_count + 1, &added);
    if (added) {
        p->function_count++;
        pb_clear(&p->msg);
        pb_uint(&p->msg, FUNCTION_ID, id);
        pb_int(&p->msg, FUNCTION_NAME, (int64_t)pprof_string(p, name));
        pb_int(&p->msg, FUNCTION_SYSTEM_NAME, (int64_t)pprof_string(p, name));
        pb_int(&p->msg, FUNCTION_FILENAME, (int64_t)pprof_string(p, file ? file : ""));
        pb_message(&p->out, PROFILE_FUNCTION, &p->msg);
    }
    return id;
}

/* The mapping of a process's module, or 0 (none) without a module. Its
 * address range is filled in at the end, from the pcs seen in it. */
struct pprof_range {
    uint64_t low, high;  /* high 0: no pc seen */
    int64_t process_id;
    char *module;
};

static uint64_t pprof_mapping(struct pprof *p, struct pprof_range **ranges, int64_t process_id,
                              const char *module)
{
    if (module == NULL)
        return 0;
    char key[1024];
    snprintf(key, sizeof key, "%lld\x1f%s", (long long)process_id, module);
    bool added;
    uint64_t id = strmap_get(&p->mappings, key, p->mapping_count + 1, &added);
    if (added) {
        mem_push((void **)ranges, p->mapping_count, sizeof **ranges);
        (*ranges)[p->mapping_count++] = (struct pprof_range){
            .low = UINT64_MAX, .process_id = process_id, .module = mem_strdup(module)};
    }
    return id;
}

static void pprof_mapping_add_pc(struct pprof_range *r, uint64_t pc)
{
    if (pc < r->low)
        r->low = pc;
    if (pc + 1 > r->high)
        r->high = pc + 1;
}

static uint64_t pprof_location(struct pprof *p, struct pprof_range **ranges, int64_t process_id,
                               const struct model_frame *f)
{
    char key[64];
    snprintf(key, sizeof key, "%lld:%" PRIx64 ":%d", (long long)process_id, f ? f->pc : 0,
             f == NULL);
    bool added;
    uint64_t id = strmap_get(&p->locations, key, p->location_count + 1, &added);
    if (!added)
        return id;
    p->location_count++;
    char buf[256];
    const char *name = f ? weight_frame_name(f, buf, sizeof buf) : WEIGHT_NO_STACK;
    uint64_t function = pprof_function(p, name, f ? f->file : NULL);
    uint64_t mapping = f ? pprof_mapping(p, ranges, process_id, f->module) : 0;
    if (mapping != 0)
        pprof_mapping_add_pc(&(*ranges)[mapping - 1], f->pc);
    pb_clear(&p->inner);
    pb_uint(&p->inner, LINE_FUNCTION_ID, function);
    pb_int(&p->inner, LINE_LINE, f ? f->line : 0);
    pb_clear(&p->msg);
    pb_uint(&p->msg, LOCATION_ID, id);
    if (mapping != 0)
        pb_uint(&p->msg, LOCATION_MAPPING_ID, mapping);
    pb_uint(&p->msg, LOCATION_ADDRESS, f ? f->pc : 0);
    pb_message(&p->msg, LOCATION_LINE, &p->inner);
    pb_message(&p->out, PROFILE_LOCATION, &p->msg);
    return id;
}

static uint64_t pprof_round(double v)
{
    return v > 0 ? (uint64_t)llround(v) : 0;
}

struct pprof_walk {
    struct pprof *p;
    struct pprof_range **ranges;
    const struct model *m;
};

/* One Sample for a stack's row (model_each_stack). */
static void pprof_sample(const struct model_stack_site *s, const struct model_stack *st,
                         void *ctx)
{
    struct pprof_walk *w = ctx;
    struct pprof *p = w->p;
    const struct model *m = w->m;
    uint64_t values[4] = {
        pprof_round(weight_of(m, s, WEIGHT_ALLOCS)), pprof_round(weight_of(m, s, WEIGHT_ALLOC_BYTES)),
        pprof_round(weight_of(m, s, WEIGHT_LIVE_BLOCKS)),
        pprof_round(weight_of(m, s, WEIGHT_LIVE_BYTES))};
    if ((values[0] | values[1] | values[2] | values[3]) == 0)
        return;
    size_t n = st ? st->frame_count : 0;
    uint64_t *ids = mem_zalloc(n ? n : 1, sizeof *ids);
    for (size_t level = 0; level < n; level++) /* leaf first, as pprof wants */
        ids[level] = pprof_location(p, w->ranges, s->process_id, &st->frames[level]);
    if (n == 0)
        ids[n++] = pprof_location(p, w->ranges, s->process_id, NULL);
    /* Locations are written as they are met, so build the sample after them. */
    const struct model_process *proc = model_process(m, s->process_id);
    uint64_t pid_key = pprof_string(p, "pid");
    struct pb sample = {0};
    pb_packed(&sample, SAMPLE_LOCATION_ID, ids, n);
    pb_packed(&sample, SAMPLE_VALUE, values, 4);
    pb_clear(&p->inner);
    pb_int(&p->inner, LABEL_KEY, (int64_t)pid_key);
    pb_int(&p->inner, LABEL_NUM, proc ? proc->pid : 0);
    pb_message(&sample, SAMPLE_LABEL, &p->inner);
    pb_message(&p->out, PROFILE_SAMPLE, &sample);
    pb_free(&sample);
    free(ids);
}

static void pprof_build(struct pprof *p, const struct model *m)
{
    pprof_string(p, ""); /* index 0, required */
    pprof_value_type(p, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
    pprof_value_type(p, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
    pprof_value_type(p, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
    pprof_value_type(p, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
    struct pprof_range *ranges = NULL;
    /* pprof takes the first mapping for the program ("File:" in its
     * reports): the root process's executable, whatever frame comes first. */
    const struct model_process *root = m->process_count ? &m->processes[0] : NULL;
    if (root != NULL)
        pprof_mapping(p, &ranges, root->process_id, root->exe);
    struct pprof_walk walk = {p, &ranges, m};
    model_each_stack(m, pprof_sample, &walk);
    for (uint64_t i = 0; i < p->mapping_count; i++) {
        pb_clear(&p->msg);
        pb_uint(&p->msg, MAPPING_ID, i + 1);
        if (ranges[i].high > 0) {
            pb_uint(&p->msg, MAPPING_MEMORY_START, ranges[i].low);
            pb_uint(&p->msg, MAPPING_MEMORY_LIMIT, ranges[i].high);
        }
        pb_int(&p->msg, MAPPING_FILENAME, (int64_t)pprof_string(p, ranges[i].module));
        /* Symbolized already, by the collector: pprof must not try again. */
        pb_uint(&p->msg, MAPPING_HAS_FUNCTIONS, 1);
        pb_uint(&p->msg, MAPPING_HAS_FILENAMES, 1);
        pb_uint(&p->msg, MAPPING_HAS_LINE_NUMBERS, 1);
        pb_message(&p->out, PROFILE_MAPPING, &p->msg);
        free(ranges[i].module);
    }
    free(ranges);
    if (root != NULL && root->start_unix_ns > 0)
        pb_int(&p->out, PROFILE_TIME_NANOS, root->start_unix_ns);
    pb_int(&p->out, PROFILE_DURATION_NANOS, model_duration_ns(m));
    pprof_value_type(p, PROFILE_PERIOD_TYPE, "space", "bytes");
    pb_int(&p->out, PROFILE_PERIOD, root != NULL && root->sample_bytes > 0 ? root->sample_bytes : 1);
    char comment[1200];
    snprintf(comment, sizeof comment, "ortho-report of %s", m->path_shown);
    pb_int(&p->out, PROFILE_COMMENT, (int64_t)pprof_string(p, comment));
    if (m->sampled)
        pb_int(&p->out, PROFILE_COMMENT,
               (int64_t)pprof_string(p, "values are estimates from sampled stacks "
                                        "(ORTHO_TRACE_SAMPLE)"));
    pb_int(&p->out, PROFILE_DEFAULT_SAMPLE_TYPE, (int64_t)pprof_string(p, "alloc_space"));
    /* Fields may come in any order; the string table goes last, complete. */
    pb_concat(&p->out, &p->string_table);
}

int format_pprof(const char *path, const struct model *m, char *err, size_t err_cap)
{
    struct pprof p = {0};
    pprof_build(&p, m);
    FILE *out = outfile_open(path, "pprof profile", err, err_cap);
    int rc = -1;
    if (out != NULL) {
        char why[256];
        if (gzip_out_write(out, p.out.data, p.out.len, why, sizeof why) != 0) {
            snprintf(err, err_cap, "%s: %s; check the disk and try again", path, why);
            if (out != stdout)
                fclose(out);
        } else {
            rc = outfile_close(out, path, err, err_cap);
        }
    }
    pb_free(&p.out);
    pb_free(&p.msg);
    pb_free(&p.inner);
    pb_free(&p.string_table);
    strmap_free(&p.strings);
    strmap_free(&p.functions);
    strmap_free(&p.locations);
    strmap_free(&p.mappings);
    return rc;
}
