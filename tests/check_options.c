/* check_options.c - the option table and its parsing (options.c): byte
 * counts with K/M/G/T suffixes (and the KiB/kb spellings), whole numbers and
 * choice words, each rejection with the reason a user is shown; loading the
 * table from the environment, where a bad value keeps the default and prints
 * exactly one warning line (captured from fd 2 through a pipe); the defaults
 * behind ortho_config_default(); range checks of a whole config; the table's
 * own consistency; and README.md's options table, which must list every
 * variable with its default ($ORTHO_SOURCE_DIR, set by ctest, locates it).
 * Each test starts with every ORTHO_ option variable unset. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_support.h"
#include "stderr_capture.h"
#include "options.h"
#include "orthotope.h"
#include "report.h"

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)
#define TiB ((uint64_t)1 << 40)

static const struct option_def *option_named(const char *env_name)
{
    const struct option_def *def = options_find(env_name);
    ck_assert_msg(def != NULL, "no option %s in options_table", env_name);
    return def;
}

static void unset_option_environment(void)
{
    for (size_t i = 0; i < options_count; i++)
        unsetenv(options_table[i].env_name);
}


/* Loads options with stderr captured into out. */
static void load_capturing(struct options *opts, char *out, size_t size)
{
    struct capture c;
    capture_begin(&c);
    options_load(opts);
    capture_end(&c, out, size);
}

/* ---- parse helpers ------------------------------------------------------- */

/* Parses `text` for the named option and asserts it gives `expected`. */
static void assert_parses(const char *env_name, const char *text, uint64_t expected)
{
    uint64_t value = 0;
    const char *why = NULL;
    bool ok = options_parse(option_named(env_name), text, &value, &why);
    ck_assert_msg(ok, "%s=\"%s\" was rejected: %s", env_name, text, why ? why : "(no reason)");
    ck_assert_msg(value == expected, "%s=\"%s\" parsed as %llu, expected %llu", env_name, text,
                  (unsigned long long)value, (unsigned long long)expected);
}

/* Parses `text` for the named option and asserts it is refused because
 * `reason`. */
static void assert_rejects(const char *env_name, const char *text, const char *reason)
{
    uint64_t value = 0;
    const char *why = NULL;
    bool ok = options_parse(option_named(env_name), text, &value, &why);
    ck_assert_msg(!ok, "%s=\"%s\" was accepted as %llu", env_name, text,
                  (unsigned long long)value);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, reason);
}

#define NOT_BYTES "is not a byte count"
#define NOT_WHOLE "is not a whole number"
#define NOT_WORD "is not one of the accepted words"
#define OUT_OF_RANGE "is out of range"

/* ---- byte counts --------------------------------------------------------- */

START_TEST(a_plain_byte_count_is_taken_as_bytes)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "4096", 4096);
}
END_TEST

START_TEST(a_k_suffix_multiplies_by_1024)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "512K", 512 * KiB);
}
END_TEST

START_TEST(an_m_suffix_multiplies_by_1024_squared)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "4M", 4 * MiB);
}
END_TEST

START_TEST(a_g_suffix_multiplies_by_1024_cubed)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "2G", 2 * GiB);
}
END_TEST

START_TEST(a_t_suffix_multiplies_by_1024_to_the_fourth)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "1T", 1 * TiB);
}
END_TEST

START_TEST(a_mib_spelling_is_the_same_as_m)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "4MiB", 4 * MiB);
}
END_TEST

START_TEST(a_lower_case_mb_spelling_is_the_same_as_m)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "4mb", 4 * MiB);
}
END_TEST

START_TEST(a_lower_case_k_is_the_same_as_k)
{
    assert_parses("ORTHO_LARGE_RETAIN_BYTES", "512k", 512 * KiB);
}
END_TEST

START_TEST(an_unknown_suffix_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "12q", NOT_BYTES);
}
END_TEST

START_TEST(an_empty_value_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "", NOT_BYTES);
}
END_TEST

START_TEST(a_negative_value_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "-1", NOT_BYTES);
}
END_TEST

START_TEST(a_suffix_without_digits_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "M", NOT_BYTES);
}
END_TEST

START_TEST(a_doubled_suffix_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "4MM", NOT_BYTES);
}
END_TEST

START_TEST(a_number_beyond_64_bits_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "99999999999999999999", NOT_BYTES);
}
END_TEST

START_TEST(a_suffix_that_pushes_the_value_beyond_64_bits_is_not_a_byte_count)
{
    /* 2^34 G = 2^64 bytes. */
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "17179869184G", NOT_BYTES);
}
END_TEST

START_TEST(a_space_before_the_suffix_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "4 M", NOT_BYTES);
}
END_TEST

/* Regression: a trailing space was read as a fifth suffix (' ' & ~0x20 is
 * '\0', which strchr("KMGT", '\0') finds as the terminator), so "0 " was
 * accepted and "1 " meant 1 PiB. */
START_TEST(a_trailing_space_is_not_a_byte_count)
{
    assert_rejects("ORTHO_LARGE_RETAIN_BYTES", "0 ", NOT_BYTES);
}
END_TEST

/* Regression: same cause as a_trailing_space_is_not_a_byte_count. */
START_TEST(a_value_with_a_trailing_space_is_not_read_as_pebibytes)
{
    assert_rejects("ORTHO_ARENA_REGION_SIZE", "1 ", NOT_BYTES);
}
END_TEST

START_TEST(a_region_size_below_64m_is_out_of_range)
{
    assert_rejects("ORTHO_ARENA_REGION_SIZE", "32M", OUT_OF_RANGE);
}
END_TEST

START_TEST(a_region_size_above_64t_is_out_of_range)
{
    assert_rejects("ORTHO_ARENA_REGION_SIZE", "128T", OUT_OF_RANGE);
}
END_TEST

START_TEST(region_sizes_of_exactly_64m_and_64t_are_in_range)
{
    assert_parses("ORTHO_ARENA_REGION_SIZE", "64M", 64 * MiB);
    assert_parses("ORTHO_ARENA_REGION_SIZE", "64T", 64 * TiB);
}
END_TEST

/* ---- whole numbers ------------------------------------------------------- */

START_TEST(a_whole_number_is_taken_as_is)
{
    assert_parses("ORTHO_ARENA_MAX_REGIONS", "64", 64);
}
END_TEST

START_TEST(a_count_with_a_suffix_is_not_a_whole_number)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "4K", NOT_WHOLE);
}
END_TEST

START_TEST(an_empty_count_is_not_a_whole_number)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "", NOT_WHOLE);
}
END_TEST

START_TEST(a_negative_count_is_not_a_whole_number)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "-1", NOT_WHOLE);
}
END_TEST

START_TEST(a_count_beyond_64_bits_is_not_a_whole_number)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "99999999999999999999", NOT_WHOLE);
}
END_TEST

START_TEST(a_region_count_of_0_is_out_of_range)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "0", OUT_OF_RANGE);
}
END_TEST

START_TEST(a_region_count_of_257_is_out_of_range)
{
    assert_rejects("ORTHO_ARENA_MAX_REGIONS", "257", OUT_OF_RANGE);
}
END_TEST

START_TEST(region_counts_of_exactly_1_and_256_are_in_range)
{
    assert_parses("ORTHO_ARENA_MAX_REGIONS", "1", 1);
    assert_parses("ORTHO_ARENA_MAX_REGIONS", "256", 256);
}
END_TEST

START_TEST(a_count_above_4_billion_for_a_32_bit_field_is_out_of_range)
{
    /* 2^32 + 8 would truncate to 8 in the uint32_t field. */
    assert_rejects("ORTHO_LARGE_RETAIN_COUNT", "4294967304", OUT_OF_RANGE);
}
END_TEST

/* ---- choice words -------------------------------------------------------- */

START_TEST(the_word_abort_selects_the_first_choice)
{
    assert_parses("ORTHO_ON_CORRUPTION", "abort", OPTIONS_ON_CORRUPTION_ABORT);
}
END_TEST

START_TEST(the_word_report_selects_the_second_choice)
{
    assert_parses("ORTHO_ON_CORRUPTION", "report", OPTIONS_ON_CORRUPTION_REPORT);
}
END_TEST

START_TEST(an_unknown_word_is_not_one_of_the_accepted_words)
{
    assert_rejects("ORTHO_ON_CORRUPTION", "ignore", NOT_WORD);
}
END_TEST

START_TEST(an_empty_word_is_not_one_of_the_accepted_words)
{
    assert_rejects("ORTHO_ON_CORRUPTION", "", NOT_WORD);
}
END_TEST

START_TEST(a_prefix_of_a_word_is_not_one_of_the_accepted_words)
{
    assert_rejects("ORTHO_ON_CORRUPTION", "rep", NOT_WORD);
}
END_TEST

/* ---- loading from the environment --------------------------------------- */

START_TEST(with_no_variables_set_loading_gives_the_defaults)
{
    struct options loaded, defaults;
    options_load(&loaded);
    options_defaults(&defaults);
    ck_assert_mem_eq(&loaded, &defaults, sizeof loaded);
}
END_TEST

START_TEST(with_no_variables_set_loading_prints_nothing)
{
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(a_valid_byte_count_in_the_environment_replaces_the_default)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "4M", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.config.cache_max_bytes, 4 * MiB);
}
END_TEST

START_TEST(a_valid_count_in_the_environment_replaces_the_default)
{
    setenv("ORTHO_LARGE_RETAIN_COUNT", "3", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.config.large_retain_count, 3);
}
END_TEST

START_TEST(huge_pages_are_asked_for_when_ortho_huge_pages_is_1)
{
    setenv("ORTHO_HUGE_PAGES", "1", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.config.huge_pages, 1);
}
END_TEST

START_TEST(ortho_huge_pages_set_to_yes_warns_and_keeps_them_off)
{
    setenv("ORTHO_HUGE_PAGES", "yes", 1);
    struct options loaded;
    char err[4096];
    load_capturing(&loaded, err, sizeof err);
    ck_assert_uint_eq(loaded.config.huge_pages, 0);
    ck_assert_msg(strstr(err, "ORTHO_HUGE_PAGES=\"yes\"") != NULL && strstr(err, "write 0 or 1") != NULL,
                  "warning was: %s", err);
}
END_TEST

START_TEST(a_valid_word_in_the_environment_replaces_the_default)
{
    setenv("ORTHO_ON_CORRUPTION", "report", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.on_corruption, OPTIONS_ON_CORRUPTION_REPORT);
}
END_TEST

START_TEST(a_valid_value_prints_no_warning)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "4M", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(a_bad_value_keeps_the_default)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "12q", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_uint_eq(loaded.config.cache_max_bytes,
                      option_named("ORTHO_CACHE_MAX_BYTES")->default_value);
}
END_TEST

START_TEST(a_bad_value_prints_exactly_one_warning_line)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "12q", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_msg(count_lines(out) == 1, "expected one line, got: \"%s\"", out);
    ck_assert_msg(out[strlen(out) - 1] == '\n', "line not terminated: \"%s\"", out);
}
END_TEST

START_TEST(the_warning_names_the_variable_its_value_and_the_value_used)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "12q", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_msg(strncmp(out, "orthotope: ORTHO_", strlen("orthotope: ORTHO_")) == 0,
                  "warning does not start with \"orthotope: ORTHO_\": \"%s\"", out);
    ck_assert_msg(strstr(out, "ORTHO_CACHE_MAX_BYTES") != NULL, "variable not named: %s", out);
    ck_assert_msg(strstr(out, "\"12q\"") != NULL, "value not quoted: %s", out);
    ck_assert_msg(strstr(out, NOT_BYTES) != NULL, "reason not given: %s", out);
    ck_assert_msg(strstr(out, "using 2M") != NULL, "value used not named: %s", out);
}
END_TEST

START_TEST(an_out_of_range_warning_says_so_and_gives_the_range)
{
    setenv("ORTHO_ARENA_MAX_REGIONS", "0", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_msg(strstr(out, "ORTHO_ARENA_MAX_REGIONS=\"0\" is out of range") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "using 64") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "1 to 256") != NULL, "range not given: %s", out);
}
END_TEST

START_TEST(a_bad_word_warning_lists_the_accepted_words)
{
    setenv("ORTHO_ON_CORRUPTION", "ignore", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_uint_eq(count_lines(out), 1);
    ck_assert_msg(strstr(out, "using abort") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "abort or report") != NULL, "words not listed: %s", out);
}
END_TEST

START_TEST(two_bad_values_print_one_line_each_and_keep_both_defaults)
{
    setenv("ORTHO_CACHE_MAX_BYTES", "12q", 1);
    setenv("ORTHO_ARENA_MAX_REGIONS", "many", 1);
    struct options loaded, defaults;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    options_defaults(&defaults);
    ck_assert_uint_eq(count_lines(out), 2);
    ck_assert_mem_eq(&loaded, &defaults, sizeof loaded);
}
END_TEST

START_TEST(a_bad_value_does_not_stop_later_options_from_loading)
{
    setenv("ORTHO_ARENA_REGION_SIZE", "huge", 1);
    setenv("ORTHO_LARGE_RETAIN_COUNT", "2", 1);
    struct options loaded;
    char out[4096];
    load_capturing(&loaded, out, sizeof out);
    ck_assert_uint_eq(loaded.config.large_retain_count, 2);
}
END_TEST

START_TEST(a_variable_whose_name_only_begins_with_an_option_name_is_ignored)
{
    setenv("ORTHO_CACHE_MAX_BYTESX", "4M", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.config.cache_max_bytes,
                      option_named("ORTHO_CACHE_MAX_BYTES")->default_value);
}
END_TEST

START_TEST(a_64_bit_byte_count_loads_without_truncation)
{
    setenv("ORTHO_ARENA_REGION_SIZE", "5G", 1);
    struct options loaded;
    options_load(&loaded);
    ck_assert_uint_eq(loaded.config.arena_region_bytes, 5 * GiB);
}
END_TEST

/* ---- secure execution ---------------------------------------------------- */

START_TEST(in_secure_execution_every_variable_is_ignored_and_one_line_names_those_set)
{
    unsetenv("ORTHO_TRACE_SOCK");
    setenv("ORTHO_TRACE", "1", 1);
    setenv("ORTHO_TRACE_COLLECTOR", "/tmp/x", 1);
    setenv("ORTHO_ON_CORRUPTION", "report", 1);
    setenv("ORTHO_CACHE_MAX_BYTES", "4M", 1);
    struct options loaded, defaults;
    options_defaults(&defaults);
    char out[4096];
    struct capture c;
    capture_begin(&c);
    options_load_env(&loaded, true);
    capture_end(&c, out, sizeof out);
    ck_assert_mem_eq(&loaded, &defaults, sizeof loaded);
    ck_assert_uint_eq(count_lines(out), 1);
    ck_assert_msg(strstr(out, "ignoring ") != NULL && strstr(out, "ORTHO_TRACE,") != NULL &&
                      strstr(out, "ORTHO_TRACE_COLLECTOR") != NULL &&
                      strstr(out, "ORTHO_ON_CORRUPTION") != NULL &&
                      strstr(out, "ORTHO_CACHE_MAX_BYTES") != NULL &&
                      strstr(out, "secure execution") != NULL,
                  "line: %s", out);
}
END_TEST

START_TEST(in_secure_execution_with_no_variable_set_nothing_is_printed)
{
    unsetenv("ORTHO_TRACE_SOCK");
    struct options loaded;
    char out[4096];
    struct capture c;
    capture_begin(&c);
    options_load_env(&loaded, true);
    capture_end(&c, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(outside_secure_execution_the_same_variables_apply)
{
    setenv("ORTHO_ON_CORRUPTION", "report", 1);
    struct options loaded;
    options_load_env(&loaded, false);
    ck_assert_uint_eq(loaded.on_corruption, OPTIONS_ON_CORRUPTION_REPORT);
}
END_TEST

/* ---- defaults and config checks ----------------------------------------- */

/* Reads the field of `config` that `def` describes. */
static uint64_t config_field(const ortho_config_t *config, const struct option_def *def)
{
    const char *base = (const char *)config - offsetof(struct options, config);
    if (def->width == sizeof(uint32_t)) {
        uint32_t narrow;
        memcpy(&narrow, base + def->offset, sizeof narrow);
        return narrow;
    }
    uint64_t wide;
    memcpy(&wide, base + def->offset, sizeof wide);
    return wide;
}

static bool option_is_config_field(const struct option_def *def)
{
    /* Unsigned: an offset before the config wraps to a huge value. */
    return def->offset - offsetof(struct options, config) + def->width <= sizeof(ortho_config_t);
}

START_TEST(the_public_config_defaults_are_the_table_defaults)
{
    ortho_config_t config;
    memset(&config, 0xa5, sizeof config);
    ortho_config_default(&config);
    unsigned checked = 0;
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        if (!option_is_config_field(def))
            continue;
        ck_assert_msg(config_field(&config, def) == def->default_value,
                      "%s: config default %llu, table default %llu", def->env_name,
                      (unsigned long long)config_field(&config, def),
                      (unsigned long long)def->default_value);
        checked++;
    }
    ck_assert_uint_eq(checked, 10); /* every field of ortho_config_t */
}
END_TEST

START_TEST(the_documented_defaults_hold)
{
    ortho_config_t config;
    ortho_config_default(&config);
    ck_assert_uint_eq(config.arena_region_bytes, 16 * GiB);
    ck_assert_uint_eq(config.arena_max_regions, 64);
    ck_assert_uint_eq(config.cache_max_bytes, 2 * MiB);
    ck_assert_uint_eq(config.cache_max_blocks, 512);
    ck_assert_uint_eq(config.pool_retain_bytes, 64 * MiB);
    ck_assert_uint_eq(config.large_retain_bytes, 256 * MiB);
    ck_assert_uint_eq(config.large_retain_count, 8);
    ck_assert_uint_eq(config.huge_pages, 0);
}
END_TEST

START_TEST(corruption_handling_defaults_to_abort)
{
    struct options defaults;
    options_defaults(&defaults);
    ck_assert_uint_eq(defaults.on_corruption, OPTIONS_ON_CORRUPTION_ABORT);
}
END_TEST

START_TEST(the_default_config_passes_the_range_check)
{
    ortho_config_t config;
    ortho_config_default(&config);
    ck_assert_ptr_null(options_check_config(&config));
}
END_TEST

START_TEST(a_region_smaller_than_64m_fails_the_range_check)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.arena_region_bytes = 32 * MiB;
    ck_assert_pstr_eq(options_check_config(&config), "ORTHO_ARENA_REGION_SIZE");
}
END_TEST

START_TEST(zero_max_regions_fails_the_range_check)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.arena_max_regions = 0;
    ck_assert_pstr_eq(options_check_config(&config), "ORTHO_ARENA_MAX_REGIONS");
}
END_TEST

START_TEST(a_huge_pages_value_other_than_0_or_1_fails_the_range_check)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.huge_pages = 2;
    ck_assert_pstr_eq(options_check_config(&config), "ORTHO_HUGE_PAGES");
}
END_TEST

START_TEST(a_retain_count_above_64_fails_the_range_check)
{
    ortho_config_t config;
    ortho_config_default(&config);
    config.large_retain_count = 65;
    ck_assert_pstr_eq(options_check_config(&config), "ORTHO_LARGE_RETAIN_COUNT");
}
END_TEST

START_TEST(every_table_default_lies_within_its_range)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        ck_assert_msg(def->min_value <= def->default_value &&
                          def->default_value <= def->max_value,
                      "%s: default %llu outside [%llu, %llu]", def->env_name,
                      (unsigned long long)def->default_value, (unsigned long long)def->min_value,
                      (unsigned long long)def->max_value);
    }
}
END_TEST

START_TEST(every_option_is_named_ortho_something_exactly_once)
{
    for (size_t i = 0; i < options_count; i++) {
        ck_assert_msg(strncmp(options_table[i].env_name, "ORTHO_", 6) == 0, "%s",
                      options_table[i].env_name);
        for (size_t j = i + 1; j < options_count; j++)
            ck_assert_str_ne(options_table[i].env_name, options_table[j].env_name);
    }
}
END_TEST

START_TEST(every_option_has_a_one_line_doc)
{
    for (size_t i = 0; i < options_count; i++) {
        const char *doc = options_table[i].doc;
        ck_assert_msg(doc != NULL && doc[0] != '\0', "%s has no doc", options_table[i].env_name);
        ck_assert_msg(strchr(doc, '\n') == NULL, "%s: doc spans lines", options_table[i].env_name);
    }
}
END_TEST

START_TEST(every_32_bit_field_has_a_maximum_that_fits)
{
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        ck_assert_msg(def->width == 4 || def->width == 8, "%s: width %zu", def->env_name,
                      def->width);
        if (def->width == 4)
            ck_assert_msg(def->max_value <= UINT32_MAX, "%s: max %llu in 32 bits",
                          def->env_name, (unsigned long long)def->max_value);
    }
}
END_TEST

/* ---- README -------------------------------------------------------------- */

/* README.md's text (malloc'd), or a test failure saying why it is missing. */
static char *read_readme(void)
{
    const char *dir = getenv("ORTHO_SOURCE_DIR");
    ck_assert_msg(dir != NULL, "ORTHO_SOURCE_DIR is not set (run the suite through ctest)");
    char path[4096];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: the README must document every option", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    ck_assert_int_ge(size, 0);
    char *text = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(text);
    size_t got = fread(text, 1, (size_t)size, f);
    fclose(f);
    text[got] = '\0';
    return text;
}

/* Copies cell text between [start, end) into out, without surrounding
 * spaces and backticks. */
static void cell_text(const char *start, const char *end, char *out, size_t size)
{
    while (start < end && (*start == ' ' || *start == '`'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '`'))
        end--;
    size_t len = (size_t)(end - start) < size - 1 ? (size_t)(end - start) : size - 1;
    memcpy(out, start, len);
    out[len] = '\0';
}

/* Finds the table row whose first cell is `name` and copies its second
 * cell (the default) into out. false if there is no such row. */
static bool readme_row_default(const char *text, const char *name, char *out, size_t size)
{
    for (const char *line = text; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        const char *p = line;
        while (p < eol && *p == ' ')
            p++;
        if (p < eol && *p == '|') {
            const char *first = p + 1;
            const char *bar1 = memchr(first, '|', (size_t)(eol - first));
            if (bar1 != NULL) {
                char cell[128];
                cell_text(first, bar1, cell, sizeof cell);
                if (strcmp(cell, name) == 0) {
                    const char *bar2 = memchr(bar1 + 1, '|', (size_t)(eol - bar1 - 1));
                    cell_text(bar1 + 1, bar2 != NULL ? bar2 : eol, out, size);
                    return true;
                }
            }
        }
        line = *eol == '\n' ? eol + 1 : eol;
    }
    return false;
}

/* The default as a user writes it (what the README should show). */
static void format_default(const struct option_def *def, char *out, size_t size)
{
    struct report_line line;
    report_begin(&line);
    if (def->kind == OPTION_BYTES)
        report_bytes(&line, def->default_value);
    else if (def->kind == OPTION_CHOICE)
        report_str(&line, def->choices[def->default_value]);
    else if (def->kind == OPTION_TEXT)
        report_str(&line, "unset");
    else if (def->kind == OPTION_CLASSES)
        report_str(&line, "orthotope");
    else
        report_u64(&line, def->default_value);
    size_t len = line.len < size - 1 ? line.len : size - 1;
    memcpy(out, line.text, len);
    out[len] = '\0';
}

START_TEST(every_option_has_a_row_in_the_readme_options_table)
{
    char *text = read_readme();
    for (size_t i = 0; i < options_count; i++) {
        char cell[128];
        ck_assert_msg(readme_row_default(text, options_table[i].env_name, cell, sizeof cell),
                      "README.md has no options-table row for %s", options_table[i].env_name);
    }
    free(text);
}
END_TEST

START_TEST(every_readme_options_row_shows_the_table_default)
{
    char *text = read_readme();
    for (size_t i = 0; i < options_count; i++) {
        const struct option_def *def = &options_table[i];
        char shown[128], expected[128];
        if (!readme_row_default(text, def->env_name, shown, sizeof shown))
            ck_abort_msg("README.md has no options-table row for %s", def->env_name);
        format_default(def, expected, sizeof expected);
        ck_assert_msg(strcmp(shown, expected) == 0,
                      "README.md shows %s default \"%s\", table has \"%s\"", def->env_name, shown,
                      expected);
    }
    free(text);
}
END_TEST

START_TEST(options_find_knows_every_row_and_nothing_else)
{
    for (size_t i = 0; i < options_count; i++)
        ck_assert_ptr_eq(options_find(options_table[i].env_name), &options_table[i]);
    ck_assert_ptr_null(options_find("ORTHO_NO_SUCH_OPTION"));
    ck_assert_ptr_null(options_find("ORTHO_TRACE_"));
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");

    TCase *bytes = tcase_create("byte_counts");
    tcase_add_checked_fixture(bytes, unset_option_environment, NULL);
    tcase_add_test(bytes, options_find_knows_every_row_and_nothing_else);
    tcase_add_test(bytes, a_plain_byte_count_is_taken_as_bytes);
    tcase_add_test(bytes, a_k_suffix_multiplies_by_1024);
    tcase_add_test(bytes, an_m_suffix_multiplies_by_1024_squared);
    tcase_add_test(bytes, a_g_suffix_multiplies_by_1024_cubed);
    tcase_add_test(bytes, a_t_suffix_multiplies_by_1024_to_the_fourth);
    tcase_add_test(bytes, a_mib_spelling_is_the_same_as_m);
    tcase_add_test(bytes, a_lower_case_mb_spelling_is_the_same_as_m);
    tcase_add_test(bytes, a_lower_case_k_is_the_same_as_k);
    tcase_add_test(bytes, an_unknown_suffix_is_not_a_byte_count);
    tcase_add_test(bytes, an_empty_value_is_not_a_byte_count);
    tcase_add_test(bytes, a_negative_value_is_not_a_byte_count);
    tcase_add_test(bytes, a_suffix_without_digits_is_not_a_byte_count);
    tcase_add_test(bytes, a_doubled_suffix_is_not_a_byte_count);
    tcase_add_test(bytes, a_number_beyond_64_bits_is_not_a_byte_count);
    tcase_add_test(bytes, a_suffix_that_pushes_the_value_beyond_64_bits_is_not_a_byte_count);
    tcase_add_test(bytes, a_space_before_the_suffix_is_not_a_byte_count);
    tcase_add_test(bytes, a_trailing_space_is_not_a_byte_count);
    tcase_add_test(bytes, a_value_with_a_trailing_space_is_not_read_as_pebibytes);
    tcase_add_test(bytes, a_region_size_below_64m_is_out_of_range);
    tcase_add_test(bytes, a_region_size_above_64t_is_out_of_range);
    tcase_add_test(bytes, region_sizes_of_exactly_64m_and_64t_are_in_range);
    suite_add_tcase(s, bytes);

    TCase *counts = tcase_create("counts");
    tcase_add_checked_fixture(counts, unset_option_environment, NULL);
    tcase_add_test(counts, a_whole_number_is_taken_as_is);
    tcase_add_test(counts, a_count_with_a_suffix_is_not_a_whole_number);
    tcase_add_test(counts, an_empty_count_is_not_a_whole_number);
    tcase_add_test(counts, a_negative_count_is_not_a_whole_number);
    tcase_add_test(counts, a_count_beyond_64_bits_is_not_a_whole_number);
    tcase_add_test(counts, a_region_count_of_0_is_out_of_range);
    tcase_add_test(counts, a_region_count_of_257_is_out_of_range);
    tcase_add_test(counts, region_counts_of_exactly_1_and_256_are_in_range);
    tcase_add_test(counts, a_count_above_4_billion_for_a_32_bit_field_is_out_of_range);
    suite_add_tcase(s, counts);

    TCase *choices = tcase_create("choices");
    tcase_add_checked_fixture(choices, unset_option_environment, NULL);
    tcase_add_test(choices, the_word_abort_selects_the_first_choice);
    tcase_add_test(choices, the_word_report_selects_the_second_choice);
    tcase_add_test(choices, an_unknown_word_is_not_one_of_the_accepted_words);
    tcase_add_test(choices, an_empty_word_is_not_one_of_the_accepted_words);
    tcase_add_test(choices, a_prefix_of_a_word_is_not_one_of_the_accepted_words);
    suite_add_tcase(s, choices);

    TCase *load = tcase_create("environment");
    tcase_add_checked_fixture(load, unset_option_environment, NULL);
    tcase_add_test(load, with_no_variables_set_loading_gives_the_defaults);
    tcase_add_test(load, with_no_variables_set_loading_prints_nothing);
    tcase_add_test(load, a_valid_byte_count_in_the_environment_replaces_the_default);
    tcase_add_test(load, a_valid_count_in_the_environment_replaces_the_default);
    tcase_add_test(load, a_valid_word_in_the_environment_replaces_the_default);
    tcase_add_test(load, huge_pages_are_asked_for_when_ortho_huge_pages_is_1);
    tcase_add_test(load, ortho_huge_pages_set_to_yes_warns_and_keeps_them_off);
    tcase_add_test(load, a_valid_value_prints_no_warning);
    tcase_add_test(load, a_bad_value_keeps_the_default);
    tcase_add_test(load, a_bad_value_prints_exactly_one_warning_line);
    tcase_add_test(load, the_warning_names_the_variable_its_value_and_the_value_used);
    tcase_add_test(load, an_out_of_range_warning_says_so_and_gives_the_range);
    tcase_add_test(load, a_bad_word_warning_lists_the_accepted_words);
    tcase_add_test(load, two_bad_values_print_one_line_each_and_keep_both_defaults);
    tcase_add_test(load, a_bad_value_does_not_stop_later_options_from_loading);
    tcase_add_test(load, a_variable_whose_name_only_begins_with_an_option_name_is_ignored);
    tcase_add_test(load, a_64_bit_byte_count_loads_without_truncation);
    tcase_add_test(load, in_secure_execution_every_variable_is_ignored_and_one_line_names_those_set);
    tcase_add_test(load, in_secure_execution_with_no_variable_set_nothing_is_printed);
    tcase_add_test(load, outside_secure_execution_the_same_variables_apply);
    suite_add_tcase(s, load);

    TCase *defaults = tcase_create("defaults");
    tcase_add_checked_fixture(defaults, unset_option_environment, NULL);
    tcase_add_test(defaults, the_public_config_defaults_are_the_table_defaults);
    tcase_add_test(defaults, the_documented_defaults_hold);
    tcase_add_test(defaults, corruption_handling_defaults_to_abort);
    tcase_add_test(defaults, the_default_config_passes_the_range_check);
    tcase_add_test(defaults, a_region_smaller_than_64m_fails_the_range_check);
    tcase_add_test(defaults, zero_max_regions_fails_the_range_check);
    tcase_add_test(defaults, a_retain_count_above_64_fails_the_range_check);
    tcase_add_test(defaults, a_huge_pages_value_other_than_0_or_1_fails_the_range_check);
    tcase_add_test(defaults, every_table_default_lies_within_its_range);
    tcase_add_test(defaults, every_option_is_named_ortho_something_exactly_once);
    tcase_add_test(defaults, every_option_has_a_one_line_doc);
    tcase_add_test(defaults, every_32_bit_field_has_a_maximum_that_fits);
    suite_add_tcase(s, defaults);

    TCase *readme = tcase_create("readme");
    tcase_add_test(readme, every_option_has_a_row_in_the_readme_options_table);
    tcase_add_test(readme, every_readme_options_row_shows_the_table_default);
    suite_add_tcase(s, readme);
    return s;
}

CHECK_SUPPORT_MAIN(options_suite)
