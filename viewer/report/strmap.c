/* strmap.c - see strmap.h. Open addressing with linear probing, FNV-1a
 * hashes, the table kept at most half full. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "report_mem.h"

static uint64_t strmap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot of key: where it is, or the empty slot it would go to. */
static size_t strmap_slot(const struct strmap *map, const char *key)
{
    size_t i = strmap_hash(key) & (map->cap - 1);
    while (map->keys[i] != NULL && strcmp(map->keys[i], key) != 0)
        i = (i + 1) & (map->cap - 1);
    return i;
}

static void strmap_grow(struct strmap *map)
{
    struct strmap bigger = {.cap = map->cap ? map->cap * 2 : 256, .count = map->count};
    bigger.keys = mem_zalloc(bigger.cap, sizeof *bigger.keys);
    bigger.values = mem_zalloc(bigger.cap, sizeof *bigger.values);
    for (size_t i = 0; i < map->cap; i++) {
        if (map->keys[i] != NULL) {
            size_t slot = strmap_slot(&bigger, map->keys[i]);
            bigger.keys[slot] = map->keys[i];
            bigger.values[slot] = map->values[i];
        }
    }
    free(map->keys);
    free(map->values);
    *map = bigger;
}

uint64_t strmap_get(struct strmap *map, const char *key, uint64_t next_value, bool *added)
{
    if (2 * (map->count + 1) > map->cap)
        strmap_grow(map);
    size_t slot = strmap_slot(map, key);
    *added = map->keys[slot] == NULL;
    if (*added) {
        map->keys[slot] = mem_strdup(key);
        map->values[slot] = next_value;
        map->count++;
    }
    return map->values[slot];
}

void strmap_free(struct strmap *map)
{
    for (size_t i = 0; i < map->cap; i++)
        free(map->keys[i]);
    free(map->keys);
    free(map->values);
    *map = (struct strmap){0};
}
