/* size_class.h - the 12 fixed size classes of orthotope as one table, and the
 * request-size -> class lookup used by every allocation. The table is the
 * source of truth; two small constant indexes written out from it let the
 * fast path map a size to a class with one or two loads and no loop. They
 * are constant data (no lazy init, so no race on first use) and the unit
 * tests compare them with a search of the table for every size up to
 * 16 MiB + 1. */
#ifndef ORTHO_SIZE_CLASS_H
#define ORTHO_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "orthotope.h"

#define SIZE_CLASS_COUNT ORTHO_CLASS_COUNT
/* Marker for "no class: take the large path". */
#define SIZE_CLASS_LARGE ORTHO_CLASS_COUNT
/* Requests up to this size are looked up 64 bytes at a time. */
#define SIZE_CLASS_FINE_MAX 8192u
#define SIZE_CLASS_FINE_STEP_SHIFT 6
/* Above SIZE_CLASS_FINE_MAX every payload is a power of two, so the class
 * follows from ceil(log2(size)); 16 MiB = 2^24 is the last. */
#define SIZE_CLASS_LOG2_MAX 24

/* The class list itself: X(name, payload bytes), smallest first. Everything
 * per class (the table below, the header templates) is generated from it. */
#define SIZE_CLASS_LIST(X) \
    X(B64, 64)             \
    X(B256, 256)           \
    X(B4K, 4096)           \
    X(B6K, 6144)           \
    X(B8K, 8192)           \
    X(B16K, 16384)         \
    X(B32K, 32768)         \
    X(B64K, 65536)         \
    X(B128K, 131072)       \
    X(B256K, 262144)       \
    X(B1M, 1048576)        \
    X(B16M, 16777216)

struct size_class {
    const char *name;      /* "B64" ... "B16M": the names the database uses */
    size_t payload_bytes;  /* usable bytes of a block of this class */
};

extern ORTHO_HIDDEN const struct size_class size_class_table[SIZE_CLASS_COUNT];
extern ORTHO_HIDDEN const uint8_t
    size_class_fine_index[SIZE_CLASS_FINE_MAX >> SIZE_CLASS_FINE_STEP_SHIFT];
extern ORTHO_HIDDEN const uint8_t size_class_log2_index[SIZE_CLASS_LOG2_MAX + 1];

/* First class whose payload holds n bytes, by searching the table: the
 * definition the indexes must agree with (tests), not for hot paths. */
unsigned size_class_search(size_t n);

/* Class for a request of n bytes (n >= 1), or SIZE_CLASS_LARGE. */
ORTHO_INLINE unsigned size_class_of(size_t n)
{
    if (ORTHO_LIKELY(n - 1 < SIZE_CLASS_FINE_MAX))
        return size_class_fine_index[(n - 1) >> SIZE_CLASS_FINE_STEP_SHIFT];
    if (n - 1 >= ORTHO_SMALL_MAX)
        return SIZE_CLASS_LARGE; /* also catches n == 0 */
    unsigned ceil_log2 = 64u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
    return size_class_log2_index[ceil_log2];
}

ORTHO_INLINE size_t size_class_payload(unsigned cls)
{
    return size_class_table[cls].payload_bytes;
}

/* Bytes a block of the class occupies in the arena: payload plus header. */
ORTHO_INLINE size_t size_class_block_bytes(unsigned cls)
{
    return size_class_table[cls].payload_bytes + ORTHO_HEADER_SIZE;
}

#endif
