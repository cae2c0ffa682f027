/* size_class.h - the process's size classes (util/class_table.h: the seed's
 * 12 by default, or the table ORTHO_CLASSES names) and the request-size ->
 * class lookup used by every allocation. The table is chosen once, before
 * the first block is handed out (size_class_setup, from the allocator's
 * set-up); from it the set-up builds two small indexes so the fast path
 * maps a size to a class with one load (up to 8 KiB) or one load and one
 * compare (above), never a loop. The indexes answer SIZE_CLASS_LARGE for
 * sizes above the last class, and also for the rare coarse bucket that two
 * class boundaries cut: SIZE_CLASS_LARGE is a real slot whose bin is always
 * empty, so the fast path misses and the slow path asks size_class_of,
 * which is exact. The unit tests compare both with a search of the table
 * for every size under several tables. */
#ifndef ORTHO_SIZE_CLASS_H
#define ORTHO_SIZE_CLASS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "class_table.h"
#include "compiler.h"
#include "orthotope.h"

/* Per-class arrays have this many slots: ORTHO_CLASS_MAX classes and the
 * sentinel slot SIZE_CLASS_LARGE, whose bin stays empty and whose payload
 * is larger than any request (so a lookup that lands on it misses). */
#define SIZE_CLASS_LARGE ORTHO_CLASS_MAX
#define SIZE_CLASS_SLOTS (ORTHO_CLASS_MAX + 1)
/* Requests up to this size are looked up 64 bytes at a time. */
#define SIZE_CLASS_FINE_MAX 8192u
#define SIZE_CLASS_FINE_STEP_SHIFT 6
#define SIZE_CLASS_FINE_SLOTS (SIZE_CLASS_FINE_MAX >> SIZE_CLASS_FINE_STEP_SHIFT)
/* Above SIZE_CLASS_FINE_MAX, eight buckets per doubling (the top three bits
 * below the leading one of n - 1), up to 16 MiB = 2^24. */
#define SIZE_CLASS_COARSE_SUB_BITS 3
#define SIZE_CLASS_COARSE_FIRST_LOG2 13 /* floor(log2(n - 1)) at n = 8193 */
#define SIZE_CLASS_COARSE_LAST_LOG2 23  /* floor(log2(n - 1)) at n = 16 MiB */
#define SIZE_CLASS_COARSE_SLOTS \
    ((SIZE_CLASS_COARSE_LAST_LOG2 - SIZE_CLASS_COARSE_FIRST_LOG2 + 1) << SIZE_CLASS_COARSE_SUB_BITS)

_Static_assert(ORTHO_CLASS_MAX < 0xfe, "class indexes must leave room for the large/none markers");
_Static_assert(((uint64_t)1 << (SIZE_CLASS_COARSE_LAST_LOG2 + 1)) == ORTHO_SMALL_MAX,
               "the coarse index ends at the small limit");

/* The lookup's three arrays are read and written with relaxed atomic
 * builtins (plain loads and stores on x86): a thread's very first
 * allocation may look a size up while another thread is still building
 * them. It then lands on some slot of the unbound sentinel cache, whose
 * bins are all empty, and waits for the set-up in the slow path, which
 * looks the size up again. (Plain arrays with __atomic_*_n rather than
 * _Atomic arrays: GCC 12's -Wstringop-overflow misreads atomic_load of an
 * _Atomic array element at -O0.) */
struct size_classes {
    uint32_t count;                     /* classes of the table in force */
    uint64_t largest_bytes;             /* payload of the last class */
    /* payload_bytes[c] for c < count; UINT64_MAX in every slot after, so a
     * lookup's one compare never steps past the last class. */
    uint64_t payload_bytes[SIZE_CLASS_SLOTS];
    uint8_t fine[SIZE_CLASS_FINE_SLOTS];     /* (n - 1) >> 6 -> class */
    uint8_t coarse[SIZE_CLASS_COARSE_SLOTS]; /* bucket -> first class that may hold it */
    char names[SIZE_CLASS_SLOTS][CLASS_TABLE_NAME_BYTES]; /* "B64"...; [count] "LARGE" */
    struct class_table table;           /* as parsed: payloads and origin */
};

/* The process's classes. Written once by size_class_setup before any block
 * exists; read-only after. */
extern ORTHO_HIDDEN struct size_classes size_classes;

/* Makes `table` the process's classes (a valid table, class_table.h).
 * Call once, before any allocation, or again only when no block of the
 * old table exists (tests). */
void size_class_setup(const struct class_table *table);
/* The first time it is called: the table the process's options name
 * (ORTHO_CLASSES; a bad one was refused with one line when the options
 * were read, and the default is used). Later calls do nothing. Safe from
 * any thread: the others wait for the first. */
void size_class_setup_once(void);

/* First class whose payload holds n bytes, by searching the table (n >= 1),
 * or SIZE_CLASS_LARGE. The exact answer; not for hot paths. */
unsigned size_class_search(size_t n);

ORTHO_INLINE unsigned size_class_count(void)
{
    return size_classes.count;
}

/* The fast lookup: the class for n bytes (1 <= n), or SIZE_CLASS_LARGE for
 * "not from a bin": above the last class, or (rarely, with a table whose
 * classes above 8 KiB sit closer than an eighth of their size) ask
 * size_class_of. Never a class that cannot hold n. */
ORTHO_INLINE unsigned size_class_lookup(size_t n)
{
    if (ORTHO_LIKELY(n - 1 < SIZE_CLASS_FINE_MAX))
        return __atomic_load_n(&size_classes.fine[(n - 1) >> SIZE_CLASS_FINE_STEP_SHIFT],
                               __ATOMIC_RELAXED);
    if (n - 1 >= ORTHO_SMALL_MAX)
        return SIZE_CLASS_LARGE; /* also catches n == 0 */
    unsigned log2 = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
    unsigned sub = (unsigned)((n - 1) >> (log2 - SIZE_CLASS_COARSE_SUB_BITS)) &
                   ((1u << SIZE_CLASS_COARSE_SUB_BITS) - 1);
    unsigned cls = __atomic_load_n(
        &size_classes.coarse[((log2 - SIZE_CLASS_COARSE_FIRST_LOG2) << SIZE_CLASS_COARSE_SUB_BITS) | sub],
        __ATOMIC_RELAXED);
    /* The bucket's first class may end inside it: then the next one holds
     * the rest (the set-up marked buckets where that is not so). */
    return cls + (__atomic_load_n(&size_classes.payload_bytes[cls], __ATOMIC_RELAXED) < n);
}

/* The exact class for n bytes (n >= 1), or SIZE_CLASS_LARGE. */
ORTHO_INLINE unsigned size_class_of(size_t n)
{
    unsigned cls = size_class_lookup(n);
    if (ORTHO_UNLIKELY(cls >= size_classes.count) && n <= size_classes.largest_bytes)
        cls = size_class_search(n);
    return cls >= size_classes.count ? SIZE_CLASS_LARGE : cls;
}

ORTHO_INLINE size_t size_class_payload(unsigned cls)
{
    return __atomic_load_n(&size_classes.payload_bytes[cls], __ATOMIC_RELAXED);
}

/* Bytes a block of the class occupies in the arena: payload plus header. */
ORTHO_INLINE size_t size_class_block_bytes(unsigned cls)
{
    return size_class_payload(cls) + ORTHO_HEADER_SIZE;
}

#endif
