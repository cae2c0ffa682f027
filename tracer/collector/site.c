/* site.c - see site.h. Why a nameless frame is named by module and offset
 * rather than skipped or replaced by the wrapper inside it or by its first
 * named caller alone: the offset tells apart every call site of a stripped
 * program (addr2line or a debug file finds it later), where "xmalloc" or
 * the first named caller (often __libc_start_main in a stripped
 * executable) would pour all of them into one site. The named caller is
 * added because the offset alone is opaque, and a stripped library's own
 * malloc wrapper (sqlite's) is the innermost frame of nearly every stack:
 * its callers among the exported functions split it into sites that mean
 * something. Only a frame outside every module has no offset to give; its
 * nearest named caller is the best clue left. */
#include "site.h"

#include <stdio.h>
#include <string.h>

bool site_is_wrapper(const char *function)
{
    /* By prefix: C++'s operators and libc's own copies. By whole name: the
     * conventional wrappers of libiberty (gcc, binutils), git and glib, and
     * the allocation functions of SQLite and CPython, which would
     * otherwise be the site of nearly everything such a program holds. */
    static const char *const prefixes[] = {"operator new", "operator delete", "__libc_",
                                           "strdup", "__strdup", "strndup", "__strndup",
                                           "_Znw", "_Zna"};
    static const char *const names[] = {
        "xmalloc", "xcalloc", "xrealloc", "xstrdup", "xstrndup", "xmemdup", "xmallocz", "xzalloc",
        "g_malloc", "g_malloc0", "g_realloc", "g_try_malloc", "g_try_malloc0", "g_strdup",
        "g_strndup", "g_memdup2", "g_slice_alloc",
        "sqlite3_malloc", "sqlite3_malloc64", "sqlite3_realloc", "sqlite3_realloc64",
        "sqlite3Malloc", "sqlite3MallocZero", "sqlite3Realloc", "sqlite3DbMallocRaw",
        "sqlite3DbMallocRawNN", "sqlite3DbMallocZero", "sqlite3DbRealloc", "sqlite3DbStrDup",
        "sqlite3DbStrNDup",
        "PyMem_RawMalloc", "PyMem_RawCalloc", "PyMem_RawRealloc", "PyMem_Malloc", "PyMem_Calloc",
        "PyMem_Realloc", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
        "_PyMem_RawMalloc", "_PyMem_RawCalloc", "_PyMem_RawRealloc", "_PyObject_Malloc",
        "_PyObject_Calloc", "_PyObject_Realloc"};
    if (function == NULL || strncmp(function, "__libc_start", 12) == 0)
        return false; /* __libc_start_main is no allocator's: every stack's outermost frames */
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(function, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(function, names[i]) == 0)
            return true;
    return false;
}

site_t site_choose(const uint64_t *pcs, const sym_frame_t *frames, size_t depth, char *label)
{
    if (depth == 0)
        return (site_t){NULL, NULL, 0};
    /* A stack that starts in the signal trampoline was taken in a handler
     * of ours (a guard page's fault) with our own frames already cut: the
     * code the signal interrupted, the next frame, is the site, not
     * __restore_rt. A trampoline further out (an allocation inside the
     * program's own handler) is left alone: the handler is the site. */
    size_t start = 0;
    while (start + 1 < depth && frames[start].signal_frame)
        start++;
    /* Past the last wrapper that comes before the first named frame that
     * is none: a nameless frame inside a wrapper (a stripped library's
     * static helper of its own malloc) is part of it. */
    size_t at = start;
    for (size_t i = start; i < depth; i++) {
        if (frames[i].function == NULL)
            continue;
        if (!site_is_wrapper(frames[i].function))
            break;
        at = i + 1;
    }
    if (at == depth)
        at = depth - 1; /* wrappers only: the outermost */
    const sym_frame_t *frame = &frames[at];
    if (frame->function != NULL)
        return (site_t){frame->function, frame->file, frame->file != NULL ? frame->line : 0};
    size_t named = at + 1;
    while (named < depth && frames[named].function == NULL)
        named++;
    if (frame->module != NULL) {
        const char *slash = strrchr(frame->module, '/');
        int n = snprintf(label, SITE_LABEL_BYTES, "%.255s+0x%llx",
                         slash != NULL ? slash + 1 : frame->module,
                         (unsigned long long)frame->module_offset);
        if (named < depth && n > 0 && n < SITE_LABEL_BYTES)
            snprintf(label + n, SITE_LABEL_BYTES - (size_t)n, "%s%s",
                     named == at + 1 ? " < " : " < ... < ", frames[named].function);
        return (site_t){label, NULL, 0};
    }
    if (named < depth) /* with the line of its call into the unknown */
        return (site_t){frames[named].function, frames[named].file,
                        frames[named].file != NULL ? frames[named].line : 0};
    snprintf(label, SITE_LABEL_BYTES, "0x%llx", (unsigned long long)pcs[at]);
    return (site_t){label, NULL, 0};
}
