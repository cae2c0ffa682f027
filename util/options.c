/* options.c - owns the option table and its parsing. Runs during the first
 * allocation of a preloaded program, so it may not allocate: values are read
 * from environ by prim_getenv and parsed by hand. Accepts 1/on/yes/true-style
 * words only for choice options, and K/M/G/T (powers of 1024) on byte counts,
 * as mimalloc and jemalloc users expect. In secure execution (a setuid,
 * setgid or file-capability program) no ORTHO_ variable is read at all, as
 * glibc ignores MALLOC_* there: the environment belongs to the user who
 * started the program, and every option is a lever on a more privileged
 * process (the trace options name programs and files it would run and
 * write as its owner; ORTHO_ON_CORRUPTION=report keeps it running on a
 * corrupt heap; the arena and cache limits choose when its malloc fails). */
#include "options.h"

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "class_table.h"
#include "compiler.h"
#include "prim.h"
#include "report.h"

#define GiB ((uint64_t)1 << 30)
#define MiB ((uint64_t)1 << 20)
#define KiB ((uint64_t)1 << 10)

static const char *const options_corruption_words[] = {"abort", "report", NULL};
static const char *const options_check_words[] = {"default", "full", NULL};
static const char *const options_trace_words[] = {"0", "1", "full", NULL};
static const char *const options_overflow_words[] = {"wait", "drop", NULL};
static const char *const options_clock_words[] = {"auto", "monotonic", "exact", NULL};
static const char *const options_exit_words[] = {"wait", "nowait", NULL};
static const char *const options_switch_words[] = {"0", "1", NULL};

#define CONFIG_FIELD(field) \
    offsetof(struct options, config.field), sizeof(((ortho_config_t *)0)->field)

#define OPTION_FIELD(field) offsetof(struct options, field), sizeof(((struct options *)0)->field)

const struct option_def options_table[] = {
    {"ORTHO_ARENA_REGION_SIZE", OPTION_BYTES, CONFIG_FIELD(arena_region_bytes), 16 * GiB,
     64 * MiB, (uint64_t)1 << 46, NULL,
     "address space reserved per arena region (costs no memory until used)"},
    {"ORTHO_ARENA_MAX_REGIONS", OPTION_COUNT, CONFIG_FIELD(arena_max_regions), 64, 1, 256, NULL,
     "regions the arena may grow to; beyond them allocation fails with ENOMEM"},
    {"ORTHO_CACHE_MAX_BYTES", OPTION_BYTES, CONFIG_FIELD(cache_max_bytes), 2 * MiB, 0, 1 * GiB,
     NULL, "per thread and class: bytes of free blocks a thread cache keeps (at least 1 block)"},
    {"ORTHO_CACHE_TOTAL_BYTES", OPTION_BYTES, CONFIG_FIELD(cache_total_bytes), 64 * MiB, 1 * MiB,
     (uint64_t)1 << 46, NULL,
     "all threads together: with many threads, each thread's per-class cache shrinks to this "
     "divided by the number of threads"},
    {"ORTHO_CACHE_MAX_BLOCKS", OPTION_COUNT, CONFIG_FIELD(cache_max_blocks), 512, 1, 65536, NULL,
     "per thread and class: most free blocks a thread cache keeps; refills take half"},
    {"ORTHO_CACHE_REFILL_BLOCKS", OPTION_COUNT, CONFIG_FIELD(cache_refill_blocks), 0, 0, 65536,
     NULL, "blocks a refill takes from the pool and a drain gives back; 0: half the cache cap"},
    {"ORTHO_POOL_RETAIN_BYTES", OPTION_BYTES, CONFIG_FIELD(pool_retain_bytes), 64 * MiB, 0,
     (uint64_t)1 << 46, NULL,
     "per class: free bytes the central pool keeps resident; pages beyond go back to the OS"},
    {"ORTHO_LARGE_RETAIN_BYTES", OPTION_BYTES, CONFIG_FIELD(large_retain_bytes), 256 * MiB, 0,
     (uint64_t)1 << 46, NULL, "bytes of freed large (>16 MiB) mappings kept for reuse"},
    {"ORTHO_LARGE_RETAIN_COUNT", OPTION_COUNT, CONFIG_FIELD(large_retain_count), 8, 0, 64, NULL,
     "freed large mappings kept for reuse; beyond, the oldest is unmapped"},
    {"ORTHO_HUGE_PAGES", OPTION_CHOICE, CONFIG_FIELD(huge_pages), 0, 0, 1, options_switch_words,
     "1: the arena asks the kernel for transparent huge pages (madvise): fewer page faults and "
     "TLB misses, for some more resident memory; 0: 4 KiB pages, unless the system gives huge "
     "pages to every program"},
    {"ORTHO_CLASSES", OPTION_CLASSES, OPTION_FIELD(classes), 0, 0, 0, NULL,
     "size-class table: orthotope (the seed's 12 classes), general (68 classes, four per "
     "doubling), a list of payload sizes such as 64,128,384,1K,4K, or @FILE (from "
     "ortho-report --suggest-classes)"},
    {"ORTHO_ON_CORRUPTION", OPTION_CHOICE, offsetof(struct options, on_corruption),
     sizeof(uint32_t), OPTIONS_ON_CORRUPTION_ABORT, 0, 1, options_corruption_words,
     "abort: report misuse and abort; report: report and continue (the block is never reused)"},
    {"ORTHO_CHECK", OPTION_CHOICE, OPTION_FIELD(check), OPTIONS_CHECK_DEFAULT, 0, 1,
     options_check_words,
     "default: headers checked at free, freed blocks checked at reuse; full: also patterns in new "
     "and freed blocks, the slack past each request checked at free, and a quarantine (slow)"},
    {"ORTHO_QUARANTINE_BYTES", OPTION_BYTES, OPTION_FIELD(quarantine_bytes), 16 * MiB, 0, 1 * GiB,
     NULL, "ORTHO_CHECK=full: bytes of freed blocks held, oldest first, before they can be reused"},
    {"ORTHO_GUARD_SAMPLE", OPTION_COUNT, OPTION_FIELD(guard_sample), 0, 0, (uint64_t)1 << 31, NULL,
     "place about one allocation in this many (up to 16K) against a guard page, so an access "
     "past its end or after its free faults where it happens; 0: off"},
    {"ORTHO_TRACE", OPTION_CHOICE, OPTION_FIELD(trace_mode), OPTIONS_TRACE_OFF, 0, 2,
     options_trace_words,
     "1: trace into a database (totals, sites, leaks, corruption); full: also one row per allocation"},
    {"ORTHO_TRACE_DB", OPTION_TEXT, OPTION_FIELD(trace_db), 0, 0, 0, NULL,
     "trace database path; unset: ortho-PROGRAM-PID.db in the working directory"},
    {"ORTHO_TRACE_STACKS", OPTION_COUNT, OPTION_FIELD(trace_stacks), 32, 0, 128, NULL,
     "frames per allocation stack; 0 turns stacks off (counters stay exact)"},
    {"ORTHO_TRACE_SAMPLE", OPTION_BYTES, OPTION_FIELD(trace_sample), 0, 0, (uint64_t)1 << 40, NULL,
     "take stacks for a byte-sampled subset, one per this many bytes on average; 0: every allocation"},
    {"ORTHO_TRACE_OVERFLOW", OPTION_CHOICE, OPTION_FIELD(trace_overflow), 0, 0, 1,
     options_overflow_words,
     "wait: a full ring makes its thread wait (lossless); drop: never stall, count what is lost"},
    {"ORTHO_TRACE_INTERVAL_MS", OPTION_COUNT, OPTION_FIELD(trace_interval_ms), 250, 10, 60000, NULL,
     "time-series interval of the per-class counters in the database, milliseconds"},
    {"ORTHO_TRACE_RING_SIZE", OPTION_BYTES, OPTION_FIELD(trace_ring_bytes), 4 * MiB, 4 * KiB,
     256 * MiB, NULL,
     "trace ring in shared memory of each of the first 4 threads alive at once, the main "
     "thread's among them (rounded down to a power of two), in the program the tree starts "
     "with; the next 256 get an eighth of it, later ones a 128th, and programs it forks or "
     "execs an eighth for their first 4 threads too, each at least 32K (and never more than "
     "this)"},
    {"ORTHO_TRACE_CLOCK", OPTION_CHOICE, OPTION_FIELD(trace_clock), OPTIONS_CLOCK_AUTO, 0, 2,
     options_clock_words,
     "auto: record times from the CPU's time-stamp counter where the kernel's clock uses it, "
     "read for one allocation or free in 16 per thread and interpolated for the others; exact: "
     "the counter read for every record (slower); monotonic: clock_gettime for every record "
     "(slowest)"},
    {"ORTHO_TRACE_EXIT", OPTION_CHOICE, OPTION_FIELD(trace_exit), 0, 0, 1, options_exit_words,
     "wait: at exit a program waits until its counters and live allocations are committed, so "
     "the database is complete when it returns; nowait: it exits at once and the collector "
     "writes them when it sees the process gone (ortho-run sets nowait: it returns only once "
     "the database is complete)"},
    {"ORTHO_TRACE_COLLECTOR", OPTION_TEXT, OPTION_FIELD(trace_collector), 0, 0, 0, NULL,
     "collector program to start; unset: the one installed with liborthotope.so"},
    {"ORTHO_TRACE_DEBUG_PATH", OPTION_TEXT, OPTION_FIELD(trace_debug_path), 0, 0, 0, NULL,
     "directories (colon-separated) the collector searches for separate debug files "
     "(.build-id/xx/yyyy.debug) before /usr/lib/debug"},
};
const size_t options_count = sizeof options_table / sizeof options_table[0];

static void options_store(struct options *out, const struct option_def *def, uint64_t value)
{
    char *field = (char *)out + def->offset;
    if (def->width == sizeof(uint32_t)) {
        uint32_t narrow = (uint32_t)value;
        memcpy(field, &narrow, sizeof narrow);
    } else {
        memcpy(field, &value, sizeof value);
    }
}

static uint64_t options_fetch(const struct options *in, const struct option_def *def)
{
    const char *field = (const char *)in + def->offset;
    if (def->width == sizeof(uint32_t)) {
        uint32_t narrow;
        memcpy(&narrow, field, sizeof narrow);
        return narrow;
    }
    uint64_t value;
    memcpy(&value, field, sizeof value);
    return value;
}

void options_defaults(struct options *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < options_count; i++)
        options_store(out, &options_table[i], options_table[i].default_value);
}

ORTHO_EXPORT void ortho_config_default(ortho_config_t *config)
{
    struct options all;
    options_defaults(&all);
    *config = all.config;
}

bool options_parse_number(const char *text, bool allow_suffix, uint64_t *value)
{
    uint64_t result = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return false;
        result = result * 10 + digit;
    }
    if (allow_suffix && *p != '\0') {
        static const char suffixes[] = "KMGT";
        /* Upper-case by clearing bit 5; a space would become NUL, which
         * strchr would find as the terminator, so look in the 4 letters only. */
        const char *unit = memchr(suffixes, *p & ~0x20, sizeof suffixes - 1);
        if (unit == NULL)
            return false;
        unsigned shift = 10u * (unsigned)(unit - suffixes + 1);
        if (result > (UINT64_MAX >> shift))
            return false;
        result <<= shift;
        p++;
        if ((*p & ~0x20) == 'I')
            p++; /* accept KiB-style "Ki", "Mi" */
        if ((*p & ~0x20) == 'B')
            p++;
    }
    if (*p != '\0')
        return false;
    *value = result;
    return true;
}

const struct option_def *options_find(const char *env_name)
{
    for (size_t i = 0; i < options_count; i++)
        if (strcmp(options_table[i].env_name, env_name) == 0)
            return &options_table[i];
    return NULL;
}

bool options_parse(const struct option_def *def, const char *text, uint64_t *value,
                   const char **why)
{
    switch (def->kind) {
    case OPTION_BYTES:
        if (!options_parse_number(text, true, value)) {
            *why = "is not a byte count";
            return false;
        }
        break;
    case OPTION_COUNT:
        if (!options_parse_number(text, false, value)) {
            *why = "is not a whole number";
            return false;
        }
        break;
    case OPTION_CHOICE:
        for (uint64_t i = 0; def->choices[i] != NULL; i++) {
            if (strcmp(text, def->choices[i]) == 0) {
                *value = i;
                return true;
            }
        }
        *why = "is not one of the accepted words";
        return false;
    case OPTION_TEXT:
        if (text[0] == '\0') {
            *why = "is empty";
            return false;
        }
        *value = (uint64_t)(uintptr_t)text;
        return true;
    case OPTION_CLASSES: {
        struct class_table table;
        if (!class_table_from_option(text, &table, why))
            return false;
        *value = (uint64_t)(uintptr_t)text;
        return true;
    }
    }
    if (*value < def->min_value || *value > def->max_value) {
        *why = "is out of range";
        return false;
    }
    return true;
}

/* Formats a value of `def` the way a user would write it. */
static void options_put_value(struct report_line *line, const struct option_def *def,
                              uint64_t value)
{
    if (def->kind == OPTION_BYTES)
        report_bytes(line, value);
    else if (def->kind == OPTION_CHOICE)
        report_str(line, def->choices[value]);
    else if (def->kind == OPTION_TEXT)
        report_str(line, value != 0 ? (const char *)(uintptr_t)value : "unset");
    else if (def->kind == OPTION_CLASSES)
        report_str(line, value != 0 ? (const char *)(uintptr_t)value : "orthotope");
    else
        report_u64(line, value);
}

static void options_warn(const struct option_def *def, const char *text, const char *why)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: ");
    report_str(&line, def->env_name);
    report_str(&line, "=\"");
    report_str(&line, text);
    report_str(&line, "\" ");
    report_str(&line, why);
    report_str(&line, "; using ");
    options_put_value(&line, def, def->default_value);
    report_str(&line, " (default); write ");
    if (def->kind == OPTION_CHOICE) {
        for (size_t i = 0; def->choices[i] != NULL; i++) {
            report_str(&line, i == 0 ? "" : " or ");
            report_str(&line, def->choices[i]);
        }
    } else if (def->kind == OPTION_TEXT) {
        report_str(&line, "a non-empty value");
    } else if (def->kind == OPTION_CLASSES) {
        report_str(&line, "orthotope, general, sizes such as 64,128,384,1K,4K, or @FILE");
    } else {
        report_str(&line, "a value from ");
        options_put_value(&line, def, def->min_value);
        report_str(&line, " to ");
        options_put_value(&line, def, def->max_value);
        if (def->kind == OPTION_BYTES)
            report_str(&line, ", e.g. 512K or 4M");
    }
    report_emit(&line);
}

/* Secure execution: one line naming the variables of the table (and the
 * tracer's ORTHO_TRACE_SOCK) that were set; none in the usual case, and
 * then nothing is printed. */
static void options_refuse_environment(void)
{
    struct report_line line;
    report_begin(&line);
    report_str(&line, "orthotope: ignoring ");
    unsigned named = 0;
    for (size_t i = 0; i <= options_count; i++) {
        const char *name = i < options_count ? options_table[i].env_name : "ORTHO_TRACE_SOCK";
        if (prim_getenv(name) == NULL)
            continue;
        report_str(&line, named++ == 0 ? "" : ", ");
        report_str(&line, name);
    }
    if (named == 0)
        return;
    report_str(&line, ": this program runs setuid, setgid or with file capabilities (secure "
                      "execution), where the environment may come from a less privileged user; "
                      "the defaults apply and tracing stays off");
    report_emit(&line);
}

void options_load(struct options *out)
{
    options_load_env(out, prim_secure_execution());
}

void options_load_env(struct options *out, bool secure)
{
    options_defaults(out);
    if (secure) {
        options_refuse_environment();
        return;
    }
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        const char *text = prim_getenv(def->env_name);
        if (text == NULL)
            continue;
        uint64_t value;
        const char *why = NULL;
        if (options_parse(def, text, &value, &why))
            options_store(out, def, value);
        else
            options_warn(def, text, why);
    }
}

const struct options *options_process(void)
{
    enum { UNLOADED, LOADING, LOADED };
    static struct options loaded;
    static _Atomic int state;
    int seen = atomic_load_explicit(&state, memory_order_acquire);
    if (ORTHO_LIKELY(seen == LOADED))
        return &loaded;
    if (seen == UNLOADED &&
        atomic_compare_exchange_strong_explicit(&state, &seen, LOADING, memory_order_acquire,
                                                memory_order_relaxed)) {
        options_load(&loaded);
        atomic_store_explicit(&state, LOADED, memory_order_release);
        return &loaded;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) != LOADED)
        sched_yield();
    return &loaded;
}

const char *options_check_config(const ortho_config_t *config)
{
    struct options all;
    options_defaults(&all);
    all.config = *config;
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        if (def->offset >= offsetof(struct options, config) + sizeof(ortho_config_t))
            continue; /* not a config field */
        uint64_t value = options_fetch(&all, def);
        if (value < def->min_value || value > def->max_value)
            return def->env_name;
    }
    return NULL;
}
