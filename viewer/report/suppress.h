/* suppress.h - which leaks are the C runtime's and not the program's. Some
 * blocks every C program still holds at exit are one-off allocations of the
 * runtime that it never frees, by design: stdio buffers, thread-local
 * storage, locale data, the time zone, name-service caches. Leak checkers
 * set these apart with suppressions, and so does ortho-report: a built-in
 * list (suppress_builtin) and the user's files (--suppressions FILE,
 * suppress_read). A suppressed leak is still reported, apart and counted,
 * but --fail-on-leaks does not see it.
 *
 * A rule is KIND:PATTERN. Kinds: `site` matches the leak's allocation site
 * (the innermost function outside the allocator, the leaks view's
 * function); `frame` matches any frame of its stack, by function name, or
 * by the file name (the last part of the path) of its module or source
 * file; `leak` is `frame` (LeakSanitizer's spelling). PATTERN is a SQLite
 * GLOB pattern matched against the whole name: `*` any run of characters,
 * `?` one, `[...]` one of a set; case-sensitive. The model classifies each
 * leak in SQL with these rules (suppress_install puts them into a
 * temporary table), so the same query can be run by hand. */
#ifndef ORTHO_REPORT_SUPPRESS_H
#define ORTHO_REPORT_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

struct suppress_rule {
    char *kind;     /* "site" or "frame" */
    char *pattern;  /* a GLOB pattern */
    char *origin;   /* "built-in" or "FILE:LINE", for the report */
};

struct suppress_list {
    size_t count;
    struct suppress_rule *rules;
};

/* Appends the built-in rules (the C runtime's own allocations). */
void suppress_builtin(struct suppress_list *list);

/* Appends the rules of the file at path: one per line, `#` to the end of a
 * line is a comment, blank lines are skipped. 0, or -1 with a one-line
 * reason naming path and the line in err (the list keeps what it had). */
int suppress_read(struct suppress_list *list, const char *path, char *err, size_t err_cap);

/* Makes the rules the temporary table temp.suppressions(kind, pattern,
 * origin) of conn, in list order (a leak takes the first rule it matches).
 * An empty list makes an empty table. 0, or -1 with the reason in err. */
int suppress_install(const struct suppress_list *list, sqlite3 *conn, char *err, size_t err_cap);

void suppress_free(struct suppress_list *list);

#endif
