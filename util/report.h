/* report.h - one-line diagnostics from inside the allocator. Messages are
 * built in a fixed buffer on the caller's stack (no malloc, no stdio) and
 * sent with one write(2), so they are safe from any context, including a
 * signal handler. A per-thread guard stops a message from recursing and a
 * process-wide cap stops a broken program from flooding stderr. */
#ifndef ORTHO_REPORT_H
#define ORTHO_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_LINE_MAX 512 /* longest line; longer text is cut */
/* Lines printed at most per process (then one notice that the rest are
 * suppressed): enough to see a pattern, few enough not to drown a log. */
#define REPORT_MAX_LINES 16

struct report_line {
    char text[REPORT_LINE_MAX]; /* always NUL-terminated */
    size_t len;                 /* bytes used, without the NUL */
};

void report_begin(struct report_line *line);
void report_str(struct report_line *line, const char *s);
void report_u64(struct report_line *line, uint64_t value);
void report_hex(struct report_line *line, uint64_t value); /* 0x... */
/* A byte count the way users write it back: "16G", "512K", "100". */
void report_bytes(struct report_line *line, uint64_t bytes);
/* Appends a newline and writes the line to stderr, unless the cap is
 * reached or this thread is already inside report_emit. */
void report_emit(struct report_line *line);
/* Lines emitted so far (tests). */
unsigned report_lines_emitted(void);

#endif
