/* symbolize.h - the collector's symbolizer: turns raw program counters from
 * a traced process into function, module, source file and line, using the
 * module load records (ELF path + dlpi_addr) the process sent. It reads the
 * files on disk through elfutils libdwfl, so it works after the traced
 * process has exited. One symbolizer per process image; the modules
 * themselves are shared by every image through a registry (symmodule.h).
 * Not thread-safe: one thread at a time for all symbolizers of a registry. */
#ifndef ORTHO_COLLECTOR_SYMBOLIZE_H
#define ORTHO_COLLECTOR_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sym_frame {
    const char *function;   /* demangled name, or NULL if unknown */
    const char *module;     /* path of the module holding pc, or NULL if none */
    const char *file;       /* source file, or NULL without debug info */
    unsigned line;          /* 0 without debug info */
    uint64_t module_offset; /* pc - module load bias (0 if no module) */
    bool signal_frame;      /* pc is a signal trampoline (the code a signal
                             * handler returns into): the next frame out was
                             * interrupted there, not calling */
} sym_frame_t;

/* The function name of a signal trampoline that has no symbol (libc's
 * __restore_rt is a local symbol, gone from a stripped libc), as gdb shows it. */
#define SYMBOLIZE_SIGNAL_FRAME_NAME "<signal handler called>"

struct symbolizer;
struct sym_modules;

/* Returns a symbolizer with no modules and a registry of its own, or NULL
 * on out of memory. */
struct symbolizer *symbolizer_create(void);

/* Returns a symbolizer with no modules that finds them in `modules`, the
 * registry it shares with other symbolizers (which must outlive every
 * symbolizer using it), or NULL on out of memory. */
struct symbolizer *symbolizer_create_shared(struct sym_modules *modules);

/* Frees the symbolizer and every string it handed out (a shared module's
 * strings go once no symbolizer maps it and it leaves the registry's idle
 * list). NULL is a no-op. */
void symbolizer_destroy(struct symbolizer *s);

/* Registers the ELF file at path, loaded with load_bias (dl_iterate_phdr's
 * dlpi_addr: file vaddr + load_bias = run-time address). Returns false and
 * ignores the module if the file cannot be opened, is not a regular file, is
 * not a loadable ELF (ET_DYN or ET_EXEC with PT_LOAD segments), or if its
 * address range overlaps a module already registered (the first one keeps
 * the range, so earlier answers and cached results stay true). Registering
 * the same (path, load_bias) again returns true and changes nothing. May be
 * called at any time, also after lookups began. */
bool symbolizer_add_module(struct symbolizer *s, const char *path, uint64_t load_bias);

/* Resolves pc into *out. return_address=true means pc is a return address
 * (see symbolizer_lookup_stack for which are): pc - 1 is looked up so that
 * the call's line is found, not the next one's. Returns false if no registered module
 * covers pc; *out then has every pointer NULL and numbers 0. A module found
 * without symbols or debug info gives module + offset only. When pc lies in
 * code inlined into a function, function is the function the code was
 * inlined into and file:line is where that function makes the inlined call
 * (inline frames are folded into their physical frame). Strings stay valid
 * until symbolizer_destroy; results are cached per module, by file address
 * and return_address. */
bool symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool return_address,
                       sym_frame_t *out);

/* Resolves the depth pcs of one stack as the tracer captured it, innermost
 * first, into out[0..depth). Every pc is a return address (the innermost
 * one too: it points after the call of malloc or free that the stack was
 * taken for), so each is looked up at pc - 1 and names the line of its
 * call - except a signal trampoline (signal_frame), where a handler returns
 * to, and the frame just outside it, whose pc is the instruction the signal
 * interrupted: those two are looked up as they are. Frames outside every
 * module come back as symbolizer_lookup leaves them. */
void symbolizer_lookup_stack(struct symbolizer *s, const uint64_t *pcs, size_t depth,
                             sym_frame_t *out);

#endif
