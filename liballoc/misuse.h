/* misuse.h - what happens when a pointer handed to free/realloc/delete does
 * not validate, or a free block is found written to when it would be
 * reused: one line on stderr naming the misuse, the pointer, the class, the
 * thread and the innermost frames outside the allocator; then, unless
 * ORTHO_ON_CORRUPTION=report, abort(). The block itself is never touched. */
#ifndef ORTHO_MISUSE_H
#define ORTHO_MISUSE_H

#include <stddef.h>

#include "allocator.h"
#include "report.h"

/* Reports a rejected call. `call` names the API entry ("free", "realloc",
 * "operator delete"); `kind` is a corruption kind ("double_free"). Returns
 * only in report mode. */
void misuse_report(const char *call, const char *kind, const void *p, unsigned class_index);

/* misuse_report for a finding inside a block: `offset_bytes` from the user
 * pointer is the first byte found wrong (an overflow into the slack, a
 * write into a freed block). */
void misuse_report_at(const char *call, const char *kind, const void *p, unsigned class_index,
                      int64_t offset_bytes);

/* Appends `lead` and the innermost frames of `frames` outside this library
 * (" from f1 < f2 < f3"), each a return address, named with dladdr. */
void misuse_put_stack(struct report_line *line, const char *lead, void *const *frames, int count);

/* Convenience for a failed free: derives the kind from status and why. */
void misuse_report_free(const char *call, ortho_status_t status, const void *p,
                        const struct free_failure *why);

#endif
