/* size_class.c - owns the process's size classes (size_classes): the table
 * ORTHO_CLASSES chose, its names, and the two lookup indexes built from it
 * at set-up. Set-up runs once, inside the first allocation or instance
 * creation, before any block exists, and never allocates; after it the
 * struct is read-only and safe from any thread. Also the public class
 * queries (ortho_class_*). */
#include "size_class.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "header.h"
#include "options.h"
#include "report.h"
#include "trace_port.h"

struct size_classes size_classes;

unsigned size_class_search(size_t n)
{
    for (unsigned cls = 0; cls < size_classes.count; cls++) {
        if (size_class_payload(cls) >= n)
            return cls;
    }
    return SIZE_CLASS_LARGE;
}

/* Fills the coarse bucket `slot`, which holds requests n in [lo, hi]. */
static void size_class_fill_coarse(unsigned slot, uint64_t lo, uint64_t hi)
{
    unsigned first = size_class_search(lo);
    unsigned entry = first;
    if (first < size_classes.count && size_class_payload(first) < hi) {
        /* The first class ends inside the bucket: the lookup's one compare
         * moves to the next, which must then hold all the rest. */
        unsigned next = first + 1;
        if (next < size_classes.count && size_class_payload(next) < hi)
            entry = SIZE_CLASS_LARGE; /* two boundaries inside: size_class_of searches */
    }
    __atomic_store_n(&size_classes.coarse[slot], (uint8_t)entry, __ATOMIC_RELAXED);
}

void size_class_setup(const struct class_table *table)
{
    /* Field by field: the lookup arrays may be read while they are written
     * (see size_class.h), so they are never memset. */
    struct size_classes *s = &size_classes;
    s->table = *table;
    s->count = table->count;
    memset(s->names, 0, sizeof s->names);
    for (unsigned cls = 0; cls < SIZE_CLASS_SLOTS; cls++) {
        uint64_t payload = cls < s->count ? table->payload_bytes[cls] : UINT64_MAX;
        __atomic_store_n(&s->payload_bytes[cls], payload, __ATOMIC_RELAXED);
        if (cls < s->count)
            class_table_name(payload, s->names[cls]);
    }
    memcpy(s->names[s->count], "LARGE", sizeof "LARGE");
    s->largest_bytes = table->payload_bytes[s->count - 1];
    for (unsigned slot = 0; slot < SIZE_CLASS_FINE_SLOTS; slot++)
        __atomic_store_n(&s->fine[slot],
                         (uint8_t)size_class_search(((size_t)slot + 1) << SIZE_CLASS_FINE_STEP_SHIFT),
                         __ATOMIC_RELAXED);
    for (unsigned log2 = SIZE_CLASS_COARSE_FIRST_LOG2; log2 <= SIZE_CLASS_COARSE_LAST_LOG2; log2++) {
        uint64_t width = (uint64_t)1 << (log2 - SIZE_CLASS_COARSE_SUB_BITS);
        for (unsigned sub = 0; sub < (1u << SIZE_CLASS_COARSE_SUB_BITS); sub++) {
            /* n - 1 in [2^log2 + sub * width, 2^log2 + (sub + 1) * width). */
            uint64_t lo = ((uint64_t)1 << log2) + sub * width + 1;
            unsigned slot = ((log2 - SIZE_CLASS_COARSE_FIRST_LOG2) << SIZE_CLASS_COARSE_SUB_BITS) | sub;
            size_class_fill_coarse(slot, lo, lo + width - 1);
        }
    }
    header_templates_build();
}

void size_class_setup_once(void)
{
    enum { UNSET, SETTING, SET };
    static _Atomic int state;
    int seen = atomic_load_explicit(&state, memory_order_acquire);
    if (ORTHO_LIKELY(seen == SET))
        return;
    if (seen == UNSET &&
        atomic_compare_exchange_strong_explicit(&state, &seen, SETTING, memory_order_acquire,
                                                memory_order_relaxed)) {
        struct class_table table;
        const char *why = NULL;
        const char *value = (const char *)(uintptr_t)options_process()->classes;
        /* The options already refused a bad value; a file that changed
         * since then falls back to the default the same way. */
        if (!class_table_from_option(value, &table, &why)) {
            struct report_line line;
            report_begin(&line);
            report_str(&line, "orthotope: ORTHO_CLASSES ");
            report_str(&line, why);
            report_str(&line, " now; using orthotope (default)");
            report_emit(&line);
            class_table_orthotope(&table);
        }
        size_class_setup(&table);
        atomic_store_explicit(&state, SET, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) != SET)
        sched_yield();
}

const struct class_table *trace_port_class_table(void)
{
    size_class_setup_once();
    return &size_classes.table;
}

ORTHO_EXPORT unsigned ortho_class_count(void)
{
    size_class_setup_once();
    return size_classes.count;
}

ORTHO_EXPORT const char *ortho_class_name(unsigned index)
{
    size_class_setup_once();
    return index <= size_classes.count ? size_classes.names[index] : NULL;
}

ORTHO_EXPORT size_t ortho_class_payload(unsigned index)
{
    size_class_setup_once();
    return index < size_classes.count ? size_class_payload(index) : 0;
}

ORTHO_EXPORT unsigned ortho_class_of(size_t size)
{
    size_class_setup_once();
    if (size == 0)
        return size_classes.count;
    unsigned cls = size_class_of(size);
    return cls == SIZE_CLASS_LARGE ? size_classes.count : cls;
}
