/* whatif.h - the waste a run would have had under another size-class table,
 * replayed from its exact size histogram, and the table of N classes that
 * would have wasted least. Waste is internal fragmentation: the payload a
 * class hands out minus the bytes requested (the 64-byte header is the
 * same under any table and is left out). The requests in scope are those
 * the run's allocator served from its small classes (up to 16 MiB); larger
 * ones take the large path under every table and are only counted. */
#ifndef ORTHO_REPORT_WHATIF_H
#define ORTHO_REPORT_WHATIF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* The large path maps whole pages, header included: a request of n bytes
 * that no class holds gets round_up(n + header, page) - header bytes. */
#define WHATIF_PAGE_BYTES 4096
#define WHATIF_HEADER_BYTES 64
/* Requests up to this many bytes are in scope: a table may serve them from
 * a class (class_table.h's largest payload); above it every table takes
 * the large path. */
#define WHATIF_SCOPE_BYTES CLASS_TABLE_LIMIT_BYTES
/* Suggested payloads are multiples of this: blocks (payload + header)
 * must stay 64-byte aligned, as the allocator's are. */
#define WHATIF_ALIGN_BYTES 64

/* A class table: payload sizes, ascending, distinct, each > 0. */
struct whatif_table {
    size_t count;
    int64_t *payload_bytes;
};

/* Parses a table: sizes separated by white space or commas, each a number
 * of bytes with an optional K/M/G suffix (powers of 1024), '#' to the end of
 * a line is a comment. Sorted on the way in. 0, or -1 with a one-line reason
 * (naming `origin`, e.g. the file) in err. */
int whatif_table_parse(struct whatif_table *t, const char *text, const char *origin, char *err,
                       size_t err_cap);
/* Reads and parses the file at path; the same contract. */
int whatif_table_read(struct whatif_table *t, const char *path, char *err, size_t err_cap);
/* The run's own table: the payloads of the database's small classes (of
 * every process: the union when processes had different tables). */
void whatif_table_of_model(struct whatif_table *t, const struct model *m);
void whatif_table_free(struct whatif_table *t);

struct whatif_class {
    int64_t payload_bytes;
    int64_t allocs, requested_bytes, waste_bytes;
};

struct whatif_result {
    size_t class_count;
    struct whatif_class *classes;      /* one per table class, same order */
    int64_t above_allocs;              /* in scope but above the table's largest class: */
    int64_t above_requested_bytes;     /* large path, */
    int64_t above_waste_bytes;         /* page rounding */
    int64_t allocs, requested_bytes, waste_bytes; /* everything in scope */
    int64_t large_allocs;              /* out of scope (LARGE in the run) */
};

/* Replays the run's histogram rows of process_id (0: every process) in
 * scope against t. */
void whatif_replay(const struct model *m, int64_t process_id, const struct whatif_table *t,
                   struct whatif_result *r);
/* The same against the tables the run had: each process's rows against
 * its own table (a tree may mix tables), into the classes of
 * whatif_table_of_model. */
void whatif_replay_own(const struct model *m, int64_t process_id, struct whatif_result *r);
void whatif_result_free(struct whatif_result *r);

/* Waste as a percentage of the bytes handed out (requested + waste). */
double whatif_waste_pct(int64_t requested_bytes, int64_t waste_bytes);

/* The table of at most `wanted` classes (payloads multiples of
 * WHATIF_ALIGN_BYTES, the largest holding the largest request in scope)
 * with the least waste over the run's in-scope histogram, all processes
 * together. Exact (dynamic programming over the distinct rounded sizes).
 * An empty table when nothing is in scope. */
void whatif_suggest(const struct model *m, size_t wanted, struct whatif_table *out);

/* The same optimum for a plain histogram (sizes ascending, distinct), for
 * tests: exposed so a brute force can be compared with it. */
void whatif_suggest_sizes(const int64_t *sizes, const int64_t *allocs, size_t n, size_t wanted,
                          struct whatif_table *out);

/* A table as an ORTHO_CLASSES value ("64,320,3008,5K"; sizes that are
 * whole KiB or MiB with their suffix), checked against the rules the
 * allocator applies (class_table.h). 0, or -1 with *why set to the rule
 * it breaks (a phrase completing "ORTHO_CLASSES=... "). */
#define WHATIF_OPTION_BYTES (CLASS_TABLE_MAX * 12 + 1) /* "16777152," is 9 */
int whatif_table_option(const struct whatif_table *t, char out[WHATIF_OPTION_BYTES],
                        const char **why);

/* What to print: a table to compare with the run's own (NULL: none) and
 * a suggestion (NULL: none), each against the run's own table. */
struct whatif_request {
    const struct whatif_table *table;
    const char *table_name;            /* e.g. the file it came from */
    const struct whatif_table *suggested;
    size_t wanted;                     /* --suggest-classes N */
    const char *suggested_option;      /* the suggestion as ORTHO_CLASSES's value, or NULL */
    const char *output;                /* where the suggestion was written (--output), or NULL */
};

void format_whatif_text(FILE *out, const struct model *m, const struct whatif_request *r);
void format_whatif_json(FILE *out, const struct model *m, const struct whatif_request *r);

#endif
