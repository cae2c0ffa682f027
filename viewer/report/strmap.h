/* strmap.h - a map from strings to 64-bit values, for ortho-report's
 * outputs that number or count what they meet by name: pprof's string,
 * function, location and mapping tables, the diff's sites and leaks, the
 * model's stacks read on demand. Keys are copied; out of memory ends the
 * program (report_mem.h). */
#ifndef ORTHO_REPORT_STRMAP_H
#define ORTHO_REPORT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap {
    size_t cap, count;
    char **keys;      /* owned; NULL: an empty slot */
    uint64_t *values;
};

/* The value of key; when absent, stores next_value for it and sets *added.
 * A zeroed struct strmap is an empty map. */
uint64_t strmap_get(struct strmap *map, const char *key, uint64_t next_value, bool *added);
void strmap_free(struct strmap *map);

#endif
