/* site.c - see site.h. Why a nameless frame is named by module and offset
 * rather than skipped or replaced by the wrapper inside it: the offset
 * tells apart every call site of a stripped program (addr2line or a debug
 * file finds it later), where "xmalloc" or the first named caller further
 * out (often __libc_start_main in a stripped executable) would pour all of
 * them into one site. Only a frame outside every module has no offset to
 * give; its nearest named caller is the best clue left. */
#include "site.h"

#include <stdio.h>
#include <string.h>

bool site_is_wrapper(const char *function)
{
    /* By prefix: C++'s operators and libc's own copies. By whole name: the
     * conventional wrappers of libiberty (gcc, binutils), git and glib,
     * which would otherwise be the site of nearly everything such a
     * program holds. */
    static const char *const prefixes[] = {"operator new", "operator delete", "__libc_",
                                           "strdup", "__strdup", "strndup", "__strndup",
                                           "_Znw", "_Zna"};
    static const char *const names[] = {"xmalloc", "xcalloc", "xrealloc", "xstrdup", "xstrndup",
                                        "xmemdup", "xmallocz", "xzalloc", "g_malloc", "g_malloc0",
                                        "g_realloc", "g_try_malloc", "g_try_malloc0",
                                        "g_strdup", "g_strndup", "g_memdup2", "g_slice_alloc"};
    if (function == NULL)
        return false;
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
    size_t at = 0;
    while (at + 1 < depth && site_is_wrapper(frames[at].function))
        at++;
    const sym_frame_t *frame = &frames[at];
    if (frame->function != NULL)
        return (site_t){frame->function, frame->file, frame->file != NULL ? frame->line : 0};
    if (frame->module != NULL) {
        const char *slash = strrchr(frame->module, '/');
        snprintf(label, SITE_LABEL_BYTES, "%.255s+0x%llx", slash != NULL ? slash + 1 : frame->module,
                 (unsigned long long)frame->module_offset);
        return (site_t){label, NULL, 0};
    }
    for (size_t out = at + 1; out < depth; out++)
        if (frames[out].function != NULL) /* with the line of its call into the unknown */
            return (site_t){frames[out].function, frames[out].file,
                            frames[out].file != NULL ? frames[out].line : 0};
    snprintf(label, SITE_LABEL_BYTES, "0x%llx", (unsigned long long)pcs[at]);
    return (site_t){label, NULL, 0};
}
