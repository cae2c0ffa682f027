/* misuse.c - turns a rejected free into the one-line diagnostic users read,
 * and applies the ORTHO_ON_CORRUPTION policy. Frames come from libunwind
 * (local unwinding needs no malloc) and are named with dladdr; frames inside
 * liborthotope itself are skipped so the line points at the caller. Runs on
 * the slow path of the offending call with no allocator lock held, so a
 * re-entrant malloc from dladdr would still be safe. */
#define _GNU_SOURCE
#include "misuse.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "global.h"
#include "prim.h"
#include "report.h"
#include "trace_port.h"

/* Frames captured, and how many outside the allocator the line names. */
#define MISUSE_FRAMES_CAPTURED 24
#define MISUSE_FRAMES_SHOWN 3

/* Whether `address` is code of this library (its frames are not news). */
static bool misuse_is_own_frame(const void *address)
{
    Dl_info self, frame;
    if (dladdr((const void *)misuse_is_own_frame, &self) == 0 || dladdr(address, &frame) == 0)
        return false;
    return self.dli_fbase == frame.dli_fbase;
}

void misuse_put_stack(struct report_line *line, const char *lead, void *const *frames, int count)
{
    int shown = 0;
    for (int i = 0; i < count && shown < MISUSE_FRAMES_SHOWN; i++) {
        /* A return address points after the call: step back into it. */
        void *pc = (char *)frames[i] - 1;
        if (misuse_is_own_frame(pc))
            continue;
        report_str(line, shown == 0 ? lead : " < ");
        Dl_info info;
        if (dladdr(pc, &info) != 0 && info.dli_sname != NULL) {
            report_str(line, info.dli_sname);
        } else if (dladdr(pc, &info) != 0 && info.dli_fname != NULL) {
            const char *base = info.dli_fname;
            for (const char *c = info.dli_fname; *c != '\0'; c++)
                if (*c == '/')
                    base = c + 1;
            report_str(line, base[0] != '\0' ? base : "main-program");
            report_str(line, "+");
            report_hex(line, (uint64_t)((uintptr_t)pc - (uintptr_t)info.dli_fbase));
        } else {
            report_hex(line, (uint64_t)(uintptr_t)pc);
        }
        shown++;
    }
}

/* Appends " from f1 < f2 < f3" for the innermost foreign frames of the
 * caller's stack. */
static void misuse_put_frames(struct report_line *line)
{
    void *frames[MISUSE_FRAMES_CAPTURED];
    int count = unw_backtrace(frames, MISUSE_FRAMES_CAPTURED);
    misuse_put_stack(line, " from ", frames, count);
}

/* The words a user reads for each kind (and call, where the same kind
 * reads differently). */
static const char *misuse_describe(const char *call, const char *kind)
{
    if (__builtin_strcmp(kind, "use_after_free") == 0 && __builtin_strcmp(call, "realloc") != 0)
        return __builtin_strcmp(call, "free") == 0
                   ? "write after free (found when the block left the quarantine) into"
                   : "write after free (found when the block was to be reused) into";
    static const struct {
        const char *kind;
        const char *words;
    } descriptions[] = {
        {"double_free", "double free of"},
        {"foreign_pointer", "free of a pointer not from this allocator:"},
        {"misaligned_pointer", "free of a pointer inside a block (not its start):"},
        {"bad_magic", "free of a pointer with no block header (interior pointer or overwritten header):"},
        {"bad_checksum", "corrupt block header (overwritten, e.g. by an underflow) at"},
        {"bad_size", "corrupt block header (impossible sizes) at"},
        {"bad_class", "corrupt block header (impossible size class) at"},
        {"size_mismatch", "sized free with the wrong size of"},
        {"use_after_free", "realloc of an already freed block"},
        {"overflow", "write past the end of the requested size (found at free) of"},
    };
    for (size_t i = 0; i < sizeof descriptions / sizeof descriptions[0]; i++) {
        if (__builtin_strcmp(descriptions[i].kind, kind) == 0)
            return descriptions[i].words;
    }
    return kind;
}

/* Whether the 64 bytes in front of p can be read: the validator already
 * read them for every kind but these two, and only arena memory is sure to
 * stay mapped (a large block's mapping may be gone). */
static bool misuse_header_readable(const char *kind, const void *p)
{
    if (__builtin_strcmp(kind, "foreign_pointer") == 0 ||
        __builtin_strcmp(kind, "misaligned_pointer") == 0)
        return false;
    return arena_region_of(&global_allocator.arena, p) >= 0;
}

void misuse_report(const char *call, const char *kind, const void *p, unsigned class_index)
{
    misuse_report_at(call, kind, p, class_index, -1);
}

void misuse_report_at(const char *call, const char *kind, const void *p, unsigned class_index,
                      int64_t offset_bytes)
{
    bool keep_going = global_options()->on_corruption == OPTIONS_ON_CORRUPTION_REPORT;
    if (ORTHO_UNLIKELY(trace_port_on)) {
        bool readable = misuse_header_readable(kind, p);
        trace_port_corruption(call, kind, p,
                              class_index < size_class_count() ? class_index : TRACE_PORT_CLASS_NONE,
                              readable ? header_of_user(p) : NULL,
                              readable ? &header_of_user(p)->trace : NULL);
    }
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: ");
    report_str(&line, misuse_describe(call, kind));
    report_str(&line, " ");
    report_hex(&line, (uint64_t)(uintptr_t)p);
    report_str(&line, " (");
    report_str(&line, kind);
    if (class_index < size_class_count()) {
        report_str(&line, ", class ");
        report_str(&line, ortho_class_name(class_index));
    }
    if (offset_bytes >= 0) {
        report_str(&line, ", at offset ");
        report_u64(&line, (uint64_t)offset_bytes);
    }
    report_str(&line, ", thread ");
    report_u64(&line, prim_thread_id());
    report_str(&line, ") in ");
    report_str(&line, call);
    report_str(&line, "()");
    misuse_put_frames(&line);
    report_str(&line, keep_going ? "; continuing (ORTHO_ON_CORRUPTION=report), block left untouched"
                                 : "; aborting; set ORTHO_ON_CORRUPTION=report to continue");
    report_emit(&line);
    if (!keep_going) {
        trace_port_finish(); /* the corruption row is committed before we die */
        abort();
    }
}

void misuse_report_free(const char *call, ortho_status_t status, const void *p,
                        const struct free_failure *why)
{
    misuse_report(call, allocator_failure_kind(status, why), p, why->class_index);
}
