/* report_mem.h - the two memory chores every ortho-report module has: growing
 * an array one element at a time and keeping its own copy of a string a
 * query returned. Both abort with one line on out-of-memory: ortho-report is
 * a short-lived command-line tool whose input fits in memory many times over,
 * so there is no partial report worth salvaging when malloc fails. */
#ifndef ORTHO_REPORT_MEM_H
#define ORTHO_REPORT_MEM_H

#include <stddef.h>

/* Makes room for at least `need` elements of `elem_bytes` in *items (which
 * holds *cap), doubling; never returns on failure. */
void mem_reserve(void **items, size_t *cap, size_t need, size_t elem_bytes);

/* Makes room for element `count` (so count + 1 in all) of an array that
 * holds `count` elements and was only ever grown by mem_push: the capacity
 * follows from the count (16, then powers of two), so callers keep none. */
void mem_push(void **items, size_t count, size_t elem_bytes);

/* calloc that never returns NULL. */
void *mem_zalloc(size_t n, size_t elem_bytes);

/* A copy of s, or NULL for NULL. */
char *mem_strdup(const char *s);

/* A copy of s made safe to print (safetext.h: escapes for control
 * characters and bytes that are not UTF-8), or NULL for NULL. */
char *mem_safedup(const char *s);

/* The whole text file at path, terminated (a NUL inside ends it early);
 * NULL with errno set when it cannot be opened or read. */
char *mem_read_text(const char *path);

/* The part of path after its last '/', pointing into path ("" for NULL). */
const char *mem_basename(const char *path);

#endif
