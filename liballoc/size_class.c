/* size_class.c - owns the class table (orthotope's 12 classes: request
 * range -> payload, 1-64 -> 64 up to 1M+1-16M -> 16 MiB) and the two
 * constant lookup indexes written out from it. All of it is read-only data,
 * safe from any thread at any time, before or after set-up. */
#include "size_class.h"


const struct size_class size_class_table[SIZE_CLASS_COUNT] = {
#define SIZE_CLASS_ENTRY(name, payload) {#name, payload},
    SIZE_CLASS_LIST(SIZE_CLASS_ENTRY)
#undef SIZE_CLASS_ENTRY
};

/* Slot s answers requests (64s, 64s+64]: B64 for 1-64, B256 to 256, B4K to
 * 4096, B6K to 6144, B8K to 8192 (class indexes 0-4). */
const uint8_t size_class_fine_index[SIZE_CLASS_FINE_MAX >> SIZE_CLASS_FINE_STEP_SHIFT] = {
    [0] = 0, [1 ... 3] = 1, [4 ... 63] = 2, [64 ... 95] = 3, [96 ... 127] = 4,
};

/* Entry k answers requests in (2^(k-1), 2^k]; only k >= 14 is used (above
 * 8 KiB): 16K..256K are classes 5-9, 512K and 1M share B1M (10), 2M..16M
 * share B16M (11). The small entries follow the same rule for completeness. */
const uint8_t size_class_log2_index[SIZE_CLASS_LOG2_MAX + 1] = {
    [0 ... 6] = 0, [7 ... 8] = 1, [9 ... 12] = 2, [13] = 4, [14] = 5, [15] = 6,
    [16] = 7, [17] = 8, [18] = 9, [19 ... 20] = 10, [21 ... 24] = 11,
};

unsigned size_class_search(size_t n)
{
    for (unsigned cls = 0; cls < SIZE_CLASS_COUNT; cls++) {
        if (size_class_table[cls].payload_bytes >= n)
            return cls;
    }
    return SIZE_CLASS_LARGE;
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
    return size == 0 ? SIZE_CLASS_LARGE : size_class_of(size);
}
