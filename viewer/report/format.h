/* format.h - ortho-report's output formats, one module each, all reading a
 * loaded model (model.h) and none touching SQLite. Text and JSON print the
 * report's sections; the stack formats write a file (or stdout for "-");
 * the diff and what-if formats live with their computations (diff.h,
 * whatif.h). Every writer returns 0, or -1 with a one-line reason in err. */
#ifndef ORTHO_REPORT_FORMAT_H
#define ORTHO_REPORT_FORMAT_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"
#include "weights.h"

/* Sections of the report; FORMAT_ALL is the default summary. */
enum format_section {
    FORMAT_OVERVIEW = 1 << 0,   /* program, duration, live bytes, trace health */
    FORMAT_CLASSES = 1 << 1,
    FORMAT_SITES = 1 << 2,
    FORMAT_LEAKS = 1 << 3,
    FORMAT_CORRUPTION = 1 << 4,
    FORMAT_ALL = (1 << 5) - 1,
};

struct format_options {
    unsigned sections;   /* enum format_section bits */
    size_t top;          /* rows per top-sites table (text); corruption groups and events
                          * listed (text and JSON) */
    bool all;            /* --all: list every corruption group and stored event */
    size_t stack_frames; /* frames shown per stack (text) */
};

void format_text(FILE *out, const struct model *m, const struct format_options *o);
void format_json(FILE *out, const struct model *m, const struct format_options *o);

/* Folded stacks ("frame;frame;frame weight" per line, outermost first). */
int format_folded(const char *path, const struct model *m, enum weight_kind kind, char *err,
                  size_t err_cap);
/* A self-contained interactive SVG flame graph. */
int format_svg(const char *path, const struct model *m, enum weight_kind kind, char *err,
               size_t err_cap);
/* A gzipped pprof profile (profile.proto) with the sample types
 * alloc_objects, alloc_space, inuse_objects and inuse_space. */
int format_pprof(const char *path, const struct model *m, char *err, size_t err_cap);

#endif
