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

/* Room for a site label site_choose writes: a module's file name (at most
 * NAME_MAX = 255 bytes), "+0x" and 16 hex digits, " < ... < " and a
 * caller's name (cut to what fits: demangled C++ names can be long). */
#define SITE_LABEL_BYTES 1024

typedef struct site {
    const char *function; /* never NULL for a stack with frames */
    const char *file;     /* NULL unless the function's debug info gave one */
    unsigned line;        /* 0 without a file */
} site_t;

/* Whether function names a thin wrapper of the allocator (operator new,
 * strdup, xmalloc, g_malloc, ...): a site is its caller. NULL is none. */
bool site_is_wrapper(const char *function);

/* The site of the stack pcs/frames[0..depth), innermost first: the frame
 * after the last wrapper that lies inside the first named frame that is
 * no wrapper - frames without a name inside a wrapper belong to it - or
 * frame 0 if no wrapper does (the outermost frame if all are wrappers).
 * Named by its function. A frame without a name but in a known module (a stripped
 * program's static function) reads "<module file name>+0x<offset>", the
 * offset from the module's load bias as pprof and backtrace_symbols show
 * it, followed by the first named frame further out, if any, the way
 * stack_text writes a stack: "libsqlite3.so.0+0xa7504 < sqlite3_step", or
 * "prog+0x1262 < ... < __libc_start_main" when unnamed frames lie
 * between. A frame outside every known module is named by the first named
 * frame further out (with its file:line), or else "0x<pc>". A synthesized
 * name is written into label (SITE_LABEL_BYTES) and returned pointing
 * there; other strings point into frames. depth 0 gives all NULL. */
site_t site_choose(const uint64_t *pcs, const sym_frame_t *frames, size_t depth, char *label);

#endif
