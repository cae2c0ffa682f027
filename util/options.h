/* options.h - every environment variable the allocator reads, as one table
 * (name, kind, range, default, one-line doc). options_load() reads them once
 * at start-up straight from environ; a bad value prints one warning line and
 * the default stays. The same table gives ortho_config_default() its values,
 * and README's option table is checked against it by the tests. */
#ifndef ORTHO_OPTIONS_H
#define ORTHO_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "orthotope.h"

typedef enum {
    OPTIONS_ON_CORRUPTION_ABORT = 0, /* report, flush, abort (default) */
    OPTIONS_ON_CORRUPTION_REPORT = 1, /* report and continue */
} options_on_corruption_t;

typedef enum {
    OPTIONS_CHECK_DEFAULT = 0, /* header and canary checks only (cheap) */
    OPTIONS_CHECK_FULL = 1,    /* patterns, slack check, quarantine (liballoc/check.h) */
} options_check_t;

typedef enum {
    OPTIONS_TRACE_OFF = 0,  /* ORTHO_TRACE unset or 0 */
    OPTIONS_TRACE_SUMMARY,  /* ORTHO_TRACE=1 */
    OPTIONS_TRACE_FULL,     /* ORTHO_TRACE=full */
} options_trace_t;

typedef enum {
    OPTIONS_CLOCK_AUTO = 0,      /* the time-stamp counter if sound, read for one record in 16 */
    OPTIONS_CLOCK_MONOTONIC = 1, /* clock_gettime for every record */
    OPTIONS_CLOCK_EXACT = 2,     /* as auto, but read for every record */
} options_clock_t;

struct options {
    ortho_config_t config;  /* allocator sizing for the global instance */
    uint32_t on_corruption; /* options_on_corruption_t */
    uint32_t check;         /* options_check_t */
    uint64_t quarantine_bytes; /* ORTHO_CHECK=full: freed bytes held before reuse */
    uint32_t guard_sample;  /* ORTHO_GUARD_SAMPLE: one allocation in this many is guarded, 0: off */
    uint64_t classes;       /* const char *: the ORTHO_CLASSES table (class_table.h), 0: orthotope */
    /* Tracing (tracer/). Text options hold a pointer into environ. */
    uint32_t trace_mode;        /* options_trace_t */
    uint32_t trace_stacks;      /* frames per stack, 0: none */
    uint32_t trace_overflow;    /* 0: wait (lossless), 1: drop */
    uint32_t trace_interval_ms; /* time-series interval */
    uint32_t trace_clock;       /* options_clock_t */
    uint32_t trace_exit;        /* 0: wait for the exit commit, 1: nowait */
    uint64_t trace_sample;      /* mean bytes between sampled stacks, 0: all */
    uint64_t trace_ring_bytes;  /* per-thread ring size */
    uint64_t trace_db;          /* const char *: database path, 0: default */
    uint64_t trace_collector;   /* const char *: collector program, 0: next to the library */
    uint64_t trace_debug_path;  /* const char *: debug-file roots; read by the collector itself */
};

typedef enum {
    OPTION_BYTES,  /* byte count with optional K/M/G/T suffix */
    OPTION_COUNT,  /* plain unsigned integer */
    OPTION_CHOICE, /* one of a list of words */
    OPTION_TEXT,   /* any non-empty text; stored as a pointer into environ */
    OPTION_CLASSES, /* a size-class table (class_table.h); stored as OPTION_TEXT */
} option_kind_t;

struct option_def {
    const char *env_name;     /* ORTHO_... */
    option_kind_t kind;
    size_t offset;            /* of the field in struct options */
    size_t width;             /* sizeof the field: 4 or 8 */
    uint64_t default_value;
    uint64_t min_value;       /* inclusive */
    uint64_t max_value;       /* inclusive */
    const char *const *choices; /* OPTION_CHOICE: NULL-terminated words */
    const char *doc;          /* one line, as in README */
};

/* The table, and its length. */
extern ORTHO_HIDDEN const struct option_def options_table[];
extern ORTHO_HIDDEN const size_t options_count;

/* Every field at its default. */
void options_defaults(struct options *out);
/* Defaults overridden by the environment; warns on stderr per bad value.
 * In secure execution (prim_secure_execution) the defaults only. */
void options_load(struct options *out);
/* options_load with secure execution given: when secure, every ORTHO_
 * variable is ignored and one line names those that were set. */
void options_load_env(struct options *out, bool secure);
/* The process's options: loaded from the environment on the first call
 * (from whichever thread: the others wait), the same values after. Its one
 * reader for the allocator and the tracer, so a bad value warns once. */
const struct options *options_process(void);

/* Parses a decimal number, with allow_suffix also K/M/G/T (powers of 1024,
 * either case, optionally "i" and/or "B"). false on anything else,
 * including overflow. */
bool options_parse_number(const char *text, bool allow_suffix, uint64_t *value);

/* The table's entry for env_name, or NULL. */
const struct option_def *options_find(const char *env_name);

/* Parses one value. true and *value set when `text` is valid for `def`;
 * otherwise false, and *why names the problem ("is not a byte count"). */
bool options_parse(const struct option_def *def, const char *text, uint64_t *value,
                   const char **why);

/* Checks a config's ranges against the table: the first offending field's
 * env name, or NULL when all are in range. */
const char *options_check_config(const ortho_config_t *config);

#endif
