/* class_table.h - a size-class table as data: which payload sizes a
 * process's small classes have, where it came from, and the one set of
 * rules every table must meet. The allocator builds its lookup indexes
 * from it at start-up (ORTHO_CLASSES), the tracer sends it to the
 * collector, and ortho-report writes and reads tables in the same syntax
 * (--suggest-classes, --what-if), so a table means the same everywhere.
 *
 * Syntax: `orthotope` (the seed's 12 classes, the default), `general` (a
 * built-in table with four classes per doubling), `@FILE` (a file of
 * sizes), or the sizes themselves: numbers of bytes with an optional
 * K/M suffix (powers of 1024), separated by commas or white space, '#' to
 * the end of a line a comment. Rules: at least one and at most
 * CLASS_TABLE_MAX sizes, strictly ascending, each a multiple of
 * CLASS_TABLE_ALIGN_BYTES and at most CLASS_TABLE_LIMIT_BYTES.
 *
 * Nothing here allocates or takes a lock: the allocator parses its table
 * inside the first malloc. Reading @FILE uses open/read into a static
 * buffer, so class_table_from_option is not reentrant (it runs once, at
 * set-up, or in single-threaded tools). */
#ifndef ORTHO_CLASS_TABLE_H
#define ORTHO_CLASS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orthotope.h"

/* Most classes a table may have (the header's class byte and the per-thread
 * bins are sized for it). */
#define CLASS_TABLE_MAX ORTHO_CLASS_MAX
/* Every payload is a multiple of this: payload + the 64-byte header keeps
 * each block, and so each user pointer, 64-byte aligned. */
#define CLASS_TABLE_ALIGN_BYTES ((uint64_t)ORTHO_MIN_ALIGN)
/* The largest payload a class may have; larger requests take the large
 * path under every table. */
#define CLASS_TABLE_LIMIT_BYTES ((uint64_t)ORTHO_SMALL_MAX)
/* Room for a class name: "B" and the payload in bytes, K or M. */
#define CLASS_TABLE_NAME_BYTES 16
/* Room for where a table came from ("orthotope", "general", "list", or
 * the file name, cut). */
#define CLASS_TABLE_ORIGIN_BYTES 64
/* Longest @FILE accepted. */
#define CLASS_TABLE_FILE_MAX_BYTES 16384

struct class_table {
    uint32_t count;                          /* classes, 1..CLASS_TABLE_MAX */
    char origin[CLASS_TABLE_ORIGIN_BYTES];   /* "orthotope", "general", "list" or "@file" */
    uint64_t payload_bytes[CLASS_TABLE_MAX]; /* ascending */
};

/* The seed's table (B64 ... B16M). */
void class_table_orthotope(struct class_table *out);
/* The built-in general-purpose table: 64-256 in steps of 64, then four
 * classes per doubling up to 16 MiB (at most 20% of a block's payload
 * left unused by a request it serves, above 256 bytes). */
void class_table_general(struct class_table *out);

/* Parses a list of sizes (the syntax above, without the names and @).
 * true and *out filled, or false with *why set to a fixed phrase that
 * completes "ORTHO_CLASSES=... " ("is not sorted ascending"). */
bool class_table_parse_list(const char *text, struct class_table *out, const char **why);

/* Parses an ORTHO_CLASSES value: a built-in name, @FILE or a list. NULL
 * means the default (orthotope). The same contract as the list parser. */
bool class_table_from_option(const char *value, struct class_table *out, const char **why);

/* Whether a table that came from elsewhere (another process's shared
 * memory) meets the rules; a valid table's origin is NUL-terminated. */
bool class_table_valid(const struct class_table *table);

/* Whether two tables have the same classes (origins aside). */
bool class_table_equal(const struct class_table *a, const struct class_table *b);

/* The name of a class of `payload_bytes`: B64, B384, B6K, B1M, B1536. */
void class_table_name(uint64_t payload_bytes, char out[CLASS_TABLE_NAME_BYTES]);

#endif
