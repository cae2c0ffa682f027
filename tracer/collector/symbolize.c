/* symbolize.c - program counter to function/module/file:line for one
 * traced process image. It owns the image's mappings: each module the
 * process reported (path + dlpi_addr) as a reference to the shared module
 * (symmodule.h: opened, indexed and cached once for every image mapping
 * the same file) and the load bias that turns the image's addresses into
 * the module's file addresses. It exists because the collector must
 * symbolize after the traced process is gone, so it cannot ask the
 * process (no dladdr, no /proc/pid/maps): the files are read instead.
 *
 * Rules: one thread at a time for all symbolizers sharing a registry
 * (libdw is not thread-safe). Never prints. Mappings never overlap (an
 * overlapping registration is refused), so an answer can never go stale;
 * a pc outside every mapping is not remembered, as a module added later
 * may cover it. Strings handed out live as long as the symbolizer: the
 * module's own strings (its references keep it) or the mapping's path. */
#include "symbolize.h"

#include <stdlib.h>
#include <string.h>

#include "symmodule.h"

/* One module as this image maps it. */
struct mapping {
    struct sym_module *module; /* one reference */
    char *path;                /* as registered: frames name it */
    uint64_t load_bias;        /* as registered: dlpi_addr, bytes */
    uint64_t shift;            /* run-time address - file address (0 for ET_EXEC) */
    uint64_t start, end;       /* run-time addresses covered */
};

struct symbolizer {
    struct sym_modules *modules; /* shared: one of its users */
    struct mapping *maps;        /* sorted by start, never overlapping */
    size_t map_count, map_cap;
};

struct symbolizer *symbolizer_create_shared(struct sym_modules *modules)
{
    if (modules == NULL)
        return NULL;
    struct symbolizer *s = calloc(1, sizeof *s);
    if (s != NULL)
        s->modules = sym_modules_use(modules);
    return s;
}

struct symbolizer *symbolizer_create(void)
{
    struct sym_modules *modules = sym_modules_create(0);
    struct symbolizer *s = symbolizer_create_shared(modules);
    sym_modules_destroy(modules); /* s is its user now */
    return s;
}

void symbolizer_destroy(struct symbolizer *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->map_count; i++) {
        sym_module_put(s->modules, s->maps[i].module);
        free(s->maps[i].path);
    }
    free(s->maps);
    sym_modules_destroy(s->modules);
    free(s);
}

/* How many mappings start at or below addr. */
static size_t mappings_at_or_below(const struct symbolizer *s, uint64_t addr)
{
    size_t lo = 0, hi = s->map_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->maps[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool symbolizer_add_module(struct symbolizer *s, const char *path, uint64_t load_bias)
{
    if (s == NULL || path == NULL)
        return false;
    for (size_t i = 0; i < s->map_count; i++)
        if (s->maps[i].load_bias == load_bias && strcmp(s->maps[i].path, path) == 0)
            return true;
    struct sym_module *module = sym_module_get(s->modules, path);
    if (module == NULL)
        return false;
    uint64_t start = 0, end = 0;
    bool fixed = false;
    sym_module_range(module, &start, &end, &fixed);
    /* dwfl ignores the base of an ET_EXEC file: it is never relocated. */
    uint64_t shift = fixed ? 0 : load_bias;
    size_t at = mappings_at_or_below(s, start + shift);
    bool wraps = start + shift < start || end + shift < end;
    bool overlaps = (at > 0 && s->maps[at - 1].end > start + shift) ||
                    (at < s->map_count && s->maps[at].start < end + shift);
    char *copy = NULL;
    if (wraps || overlaps || (copy = strdup(path)) == NULL)
        goto refuse;
    if (s->map_count == s->map_cap) {
        size_t cap = s->map_cap ? s->map_cap * 2 : 16;
        struct mapping *grown = realloc(s->maps, cap * sizeof *grown);
        if (grown == NULL)
            goto refuse;
        s->maps = grown;
        s->map_cap = cap;
    }
    memmove(&s->maps[at + 1], &s->maps[at], (s->map_count - at) * sizeof *s->maps);
    s->maps[at] = (struct mapping){.module = module, .path = copy, .load_bias = load_bias,
                                   .shift = shift, .start = start + shift, .end = end + shift};
    s->map_count++;
    return true;

refuse:
    free(copy);
    sym_module_put(s->modules, module);
    return false;
}

bool symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool return_address, sym_frame_t *out)
{
    if (out == NULL)
        return false;
    *out = (sym_frame_t){0};
    if (s == NULL)
        return false;
    /* A return address points after the call (see sym_module_lookup): the
     * module is the one holding pc - 1. */
    uint64_t addr = return_address && pc > 0 ? pc - 1 : pc;
    size_t at = mappings_at_or_below(s, addr);
    if (at == 0 || addr >= s->maps[at - 1].end)
        return false;
    const struct mapping *m = &s->maps[at - 1];
    sym_module_lookup(s->modules, m->module, pc - m->shift, return_address, out);
    out->module = m->path;
    out->module_offset = pc - m->load_bias;
    return true;
}

void symbolizer_lookup_stack(struct symbolizer *s, const uint64_t *pcs, size_t depth,
                             sym_frame_t *out)
{
    bool interrupted = false; /* the frame inside was a signal trampoline */
    for (size_t i = 0; i < depth; i++) {
        symbolizer_lookup(s, pcs[i], !interrupted, &out[i]);
        /* A trampoline is where a handler returns to, not a call's return
         * address: its own first byte is the one to name. */
        if (out[i].signal_frame && !interrupted)
            symbolizer_lookup(s, pcs[i], false, &out[i]);
        interrupted = out[i].signal_frame;
    }
}
