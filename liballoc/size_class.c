/* size_class.c - owns the class table (orthotope's 12 classes: request
 * range -> payload, 1-64 -> 64 up to 1M+1-16M -> 16 MiB) and the two lookup
 * indexes derived from it. The indexes are plain bytes rebuilt identically by
 * whichever thread calls size_class_init first; a racing reader sees either
 * zero (class 0, harmless, see size_class.h) or the final value. */
#include "size_class.h"

#include <stdatomic.h>
#include <stdbool.h>

const struct size_class size_class_table[SIZE_CLASS_COUNT] = {
    {"B64", 64},
    {"B256", 256},
    {"B4K", 4096},
    {"B6K", 6144},
    {"B8K", 8192},
    {"B16K", 16384},
    {"B32K", 32768},
    {"B64K", 65536},
    {"B128K", 131072},
    {"B256K", 262144},
    {"B1M", 1048576},
    {"B16M", 16777216},
};

uint8_t size_class_fine_index[SIZE_CLASS_FINE_MAX >> SIZE_CLASS_FINE_STEP_SHIFT];
uint8_t size_class_log2_index[SIZE_CLASS_LOG2_MAX + 1];

static atomic_bool size_class_ready; /* set once both indexes are built */

/* First class whose payload holds n bytes: the definition the indexes
 * accelerate. */
static unsigned size_class_search(size_t n)
{
    for (unsigned cls = 0; cls < SIZE_CLASS_COUNT; cls++) {
        if (size_class_table[cls].payload_bytes >= n)
            return cls;
    }
    return SIZE_CLASS_LARGE;
}

void size_class_init(void)
{
    if (atomic_load_explicit(&size_class_ready, memory_order_acquire))
        return;
    const size_t step = (size_t)1 << SIZE_CLASS_FINE_STEP_SHIFT;
    for (size_t slot = 0; slot < sizeof size_class_fine_index; slot++) {
        /* Slot covers requests (slot*64, slot*64+64]; its largest request
         * decides, since classes are 64-multiples. */
        size_class_fine_index[slot] = (uint8_t)size_class_search((slot + 1) * step);
    }
    for (unsigned log2 = 0; log2 <= SIZE_CLASS_LOG2_MAX; log2++)
        size_class_log2_index[log2] = (uint8_t)size_class_search((size_t)1 << log2);
    atomic_store_explicit(&size_class_ready, true, memory_order_release);
}

ORTHO_EXPORT const char *ortho_class_name(unsigned index)
{
    if (index < SIZE_CLASS_COUNT)
        return size_class_table[index].name;
    return index == SIZE_CLASS_LARGE ? "LARGE" : NULL;
}

ORTHO_EXPORT size_t ortho_class_payload(unsigned index)
{
    return index < SIZE_CLASS_COUNT ? size_class_table[index].payload_bytes : 0;
}

ORTHO_EXPORT unsigned ortho_class_of(size_t size)
{
    size_class_init();
    return size == 0 ? SIZE_CLASS_LARGE : size_class_of(size);
}
