/* format_folded.c - folded stacks, the line format flame-graph tools read:
 * one line per distinct call path, frames outermost first separated by
 * ';', then a space and the path's own weight as an integer. Written from
 * the flame tree (flame.h), so identical paths of different stacks come out
 * as one line and the numbers are those of the SVG. A ';' inside a name
 * would split a frame, so it is written as ':'. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "flame.h"
#include "format.h"
#include "outfile.h"
#include "report_mem.h"

static void folded_name(FILE *out, const char *name)
{
    for (const char *p = name; *p != '\0'; p++)
        fputc(*p == ';' ? ':' : *p == '\n' ? ' ' : *p, out);
}

/* Writes node i's path below the root, outermost first. The path is
 * collected into `path` (room for the tree's depth) by walking up the
 * parents, so a deep stack needs no recursion. */
static void folded_path(FILE *out, const struct flame *f, size_t i, size_t *path)
{
    size_t n = 0;
    for (size_t at = i; at != 0 && at != FLAME_NONE; at = f->nodes[at].parent)
        path[n++] = at;
    while (n-- > 0) {
        folded_name(out, f->nodes[path[n]].name);
        if (n > 0)
            fputc(';', out);
    }
}

int format_folded(const char *path, const struct model *m, enum weight_kind kind, char *err,
                  size_t err_cap)
{
    FILE *out = outfile_open(path, "folded stacks", err, err_cap);
    if (out == NULL)
        return -1;
    struct flame f;
    flame_build(&f, m, kind);
    size_t *walk = mem_zalloc(f.max_depth + 1, sizeof *walk);
    for (size_t i = 1; i < f.count; i++) {
        long long self = llround(f.nodes[i].self);
        if (self <= 0)
            continue;
        folded_path(out, &f, i, walk);
        fprintf(out, " %lld\n", self);
    }
    free(walk);
    flame_free(&f);
    return outfile_close(out, path, err, err_cap);
}
