/* site.h - the allocation site of a named stack: the frame a user means by
 * "where it came from", and the text that names it (stacks.site_function,
 * hence the leaks, corruption and top_sites views). Pure functions on the
 * frames the naming thread produced; no state, no I/O. */
#ifndef ORTHO_COLLECTOR_SITE_H
#define ORTHO_COLLECTOR_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

/* Room for any site label site_choose writes: a module's file name (at most
 * NAME_MAX = 255 bytes) plus "+0x" and 16 hex digits. */
#define SITE_LABEL_BYTES 288

typedef struct site {
    const char *function; /* never NULL for a stack with frames */
    const char *file;     /* NULL unless the function's debug info gave one */
    unsigned line;        /* 0 without a file */
} site_t;

/* Whether function names a thin wrapper of the allocator (operator new,
 * strdup, xmalloc, g_malloc, ...): a site is its caller. NULL is none. */
bool site_is_wrapper(const char *function);

/* The site of the stack pcs/frames[0..depth), innermost first: the first
 * frame that is no wrapper (the outermost frame if all are). Named by its
 * function; a frame without a name but in a known module (a stripped
 * program's static function) by "<module file name>+0x<offset>", the
 * offset from the module's load bias, as pprof and backtrace_symbols show
 * it; a frame outside every known module by the first named frame further
 * out, or else "0x<pc>". A synthesized name is written into label
 * (SITE_LABEL_BYTES) and returned pointing there; other strings point into
 * frames. depth 0 gives all NULL. */
site_t site_choose(const uint64_t *pcs, const sym_frame_t *frames, size_t depth, char *label);

#endif
