/* symmodule.h - the collector's registry of modules (ELF files) for the
 * symbolizer, shared by every process image of the traced tree. A module
 * is one file as identified by (device, inode, build id) - (device,
 * inode, mtime, size) when it has no build id - so the 1000 children of a
 * fork storm, or the 500 images of an exec loop, that all map libc open
 * and index libc once, and each image keeps only its load bias
 * (symbolize.c). Answers (function, file, line) are cached per module by
 * file address, so a pc named for one image is named for all.
 *
 * Bounded: at most open_cap modules have their file open at once (an
 * elfutils session: the file, and its separate debug file when there is
 * one); the least recently used is closed when another needs opening and
 * reopened on demand. Its sorted function index (names copied) and its
 * cache stay in memory, so a closed module still names every function; only
 * file:line needs the reopened session. A module no image maps any more is
 * kept for reuse among at most SYM_MODULES_IDLE_MAX others, then freed.
 *
 * Not thread-safe: the naming thread is the only user (libdw is never
 * entered from two threads). */
#ifndef ORTHO_COLLECTOR_SYMMODULE_H
#define ORTHO_COLLECTOR_SYMMODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

/* Modules no image maps that are kept for the next image that does. */
#define SYM_MODULES_IDLE_MAX 64u

struct sym_modules;
struct sym_module;

/* A registry keeping at most open_cap module files open at once; 0 derives
 * the cap from RLIMIT_NOFILE (an eighth of the soft limit's descriptors,
 * counting 2 per module, at most 32 modules, at least 2). NULL on out of memory. */
struct sym_modules *sym_modules_create(size_t open_cap);
/* r with one more user (each symbolizer on it is one). */
struct sym_modules *sym_modules_use(struct sym_modules *r);
/* Drops a user; the last one frees every module (so a symbolizer, and the
 * strings it handed out, may outlive the registry's creator). NULL is a
 * no-op. */
void sym_modules_destroy(struct sym_modules *r);

/* The module of the file at path, with one more reference: found among the
 * known ones (a stat, no open, when its identity is unchanged) or opened,
 * checked, registered and its functions indexed (the session is then left
 * for the cap to close). NULL when it is not a regular file holding a loadable ELF object
 * (ET_EXEC or ET_DYN with PT_LOAD segments), or on out of memory. */
struct sym_module *sym_module_get(struct sym_modules *r, const char *path);
/* Drops a reference from sym_module_get. NULL is a no-op. */
void sym_module_put(struct sym_modules *r, struct sym_module *m);

/* The file addresses [start, end) the module's segments cover, and whether
 * they are fixed (ET_EXEC: the run-time addresses are the file's own,
 * whatever load bias is reported) rather than moved by the load bias. */
void sym_module_range(const struct sym_module *m, uint64_t *start, uint64_t *end, bool *fixed);

/* Names the file address pc of m (return_address: see symbolizer_lookup)
 * into out's function, file, line and signal_frame; module and
 * module_offset are left to the caller. Strings live as long as m. */
void sym_module_lookup(struct sym_modules *r, struct sym_module *m, uint64_t pc,
                       bool return_address, sym_frame_t *out);

struct sym_modules_stats {
    size_t modules;         /* known now (mapped by an image, or idle) */
    size_t open;            /* with their file open now */
    size_t open_cap;        /* the most that may be */
    uint64_t created;       /* modules registered so far */
    uint64_t opened;        /* files opened for a session (first opens and reopens) */
    uint64_t reopened;      /* of them, of a module whose session had been closed */
    uint64_t closed;        /* sessions closed to make room */
    uint64_t unopenable;    /* lookups of a module whose file could not be opened for
                             * lack of descriptors: named without file:line, or
                             * unnamed if its functions were never indexed */
};
void sym_modules_stats(const struct sym_modules *r, struct sym_modules_stats *out);

#endif
