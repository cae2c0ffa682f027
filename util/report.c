/* report.c - owns the process-wide count of diagnostic lines and the
 * per-thread re-entry guard. Formatting is hand-written (decimal, hex, byte
 * counts) because printf may allocate and is not async-signal-safe. */
#include "report.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "compiler.h"
#include "prim.h"

static atomic_uint report_emitted;   /* lines written or suppressed */
static ORTHO_TLS bool report_active; /* this thread is inside report_emit */

void report_begin(struct report_line *line)
{
    line->len = 0;
    line->text[0] = '\0';
}

static void report_char(struct report_line *line, char c)
{
    /* Keep room for the trailing newline and NUL. */
    if (line->len + 2 < REPORT_LINE_MAX) {
        line->text[line->len++] = c;
        line->text[line->len] = '\0';
    }
}

void report_str(struct report_line *line, const char *s)
{
    if (s == NULL)
        s = "(null)";
    while (*s != '\0')
        report_char(line, *s++);
}

void report_u64(struct report_line *line, uint64_t value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0)
        report_char(line, digits[--n]);
}

void report_hex(struct report_line *line, uint64_t value)
{
    static const char hex[] = "0123456789abcdef";
    report_str(line, "0x");
    int shift = 60;
    while (shift > 0 && ((value >> shift) & 0xf) == 0)
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        report_char(line, hex[(value >> shift) & 0xf]);
}

void report_bytes(struct report_line *line, uint64_t bytes)
{
    static const char units[] = "KMGT";
    int unit = -1;
    while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    report_u64(line, bytes);
    if (unit >= 0)
        report_char(line, units[unit]);
}

void report_emit(struct report_line *line)
{
    if (report_active)
        return;
    report_active = true;
    unsigned seen = atomic_fetch_add(&report_emitted, 1);
    if (seen < REPORT_MAX_LINES) {
        line->text[line->len++] = '\n';
        line->text[line->len] = '\0';
        prim_write_stderr(line->text, line->len);
    } else if (seen == REPORT_MAX_LINES) {
        static const char notice[] = "orthotope: further diagnostics suppressed\n";
        prim_write_stderr(notice, sizeof notice - 1);
    }
    report_active = false;
}

unsigned report_lines_emitted(void)
{
    return atomic_load(&report_emitted);
}
