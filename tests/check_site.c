/* check_site.c - the allocation site of a stack (tracer/collector/site.c):
 * which frame it is and the text that names it, on frames set by hand as
 * the symbolizer would give them for a stripped program, a program with
 * debug info, and code outside every module. A stack with frames always
 * has a named site. */
#include <string.h>

#include "check_support.h"
#include "site.h"

static const uint64_t pcs[] = {0x55550000a123ull, 0x55550000b456ull, 0x7f0000001789ull,
                               0x555500000abcull};

START_TEST(the_site_is_the_first_frame_past_the_allocation_wrappers)
{
    sym_frame_t frames[] = {
        {.function = "operator new(unsigned long)", .module = "/usr/lib/libstdc++.so.6"},
        {.function = "xmalloc", .module = "/usr/bin/prog"},
        {.function = "parse_row", .module = "/usr/bin/prog", .file = "/src/parse.c", .line = 41},
        {.function = "main", .module = "/usr/bin/prog", .file = "/src/main.c", .line = 9}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 4, label);
    ck_assert_str_eq(site.function, "parse_row");
    ck_assert_str_eq(site.file, "/src/parse.c");
    ck_assert_uint_eq(site.line, 41);
}
END_TEST

/* A stripped program's static function: no name, but a module and an
 * offset - which tells its call sites apart, where the wrapper's name or
 * the first named caller alone would lump them together - and then that
 * caller, for a clue. */
START_TEST(a_nameless_site_in_a_known_module_is_named_by_module_offset_and_first_named_caller)
{
    sym_frame_t frames[] = {
        {.function = "xmalloc", .module = "/usr/lib/gcc/cc1", .module_offset = 0x9000},
        {.module = "/usr/lib/gcc/cc1", .module_offset = 0x5a3b1},
        {.module = "/usr/lib/gcc/cc1", .module_offset = 0x1230},
        {.function = "__libc_start_main", .module = "/lib/libc.so.6", .module_offset = 0x271ca}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 4, label);
    ck_assert_str_eq(site.function, "cc1+0x5a3b1 < ... < __libc_start_main");
    ck_assert_ptr_null(site.file);
    ck_assert_uint_eq(site.line, 0);
    /* The caller right outside: no dots. */
    frames[2].function = "toplev_main";
    ck_assert_str_eq(site_choose(pcs, frames, 4, label).function, "cc1+0x5a3b1 < toplev_main");
    /* No named frame at all: module and offset alone. */
    frames[2].function = frames[3].function = NULL;
    ck_assert_str_eq(site_choose(pcs, frames, 4, label).function, "cc1+0x5a3b1");
}
END_TEST

/* A stripped library's own malloc wrapper calls malloc through a static
 * helper: that nameless frame lies inside the wrapper, so the site is
 * past both - here SQLite's, as Debian's libsqlite3 names its frames. */
START_TEST(a_nameless_frame_inside_a_wrapper_is_part_of_the_wrapper)
{
    sym_frame_t frames[] = {
        {.module = "/lib/libsqlite3.so.0", .module_offset = 0xa7504},
        {.function = "sqlite3Malloc", .module = "/lib/libsqlite3.so.0"},
        {.module = "/lib/libsqlite3.so.0", .module_offset = 0x970f1},
        {.function = "sqlite3DbMallocZero", .module = "/lib/libsqlite3.so.0"},
        {.function = "sqlite3FindFunction", .module = "/lib/libsqlite3.so.0"},
        {.function = "sqlite3_step", .module = "/lib/libsqlite3.so.0"}};
    char label[SITE_LABEL_BYTES];
    ck_assert_str_eq(site_choose(pcs, frames, 6, label).function, "sqlite3FindFunction");
    /* The helper outside the wrapper is the site: named by its offset. */
    frames[3].function = NULL;
    frames[3].module_offset = 0x88888;
    ck_assert_str_eq(site_choose(pcs, frames, 6, label).function,
                     "libsqlite3.so.0+0x970f1 < ... < sqlite3FindFunction");
}
END_TEST

START_TEST(a_site_outside_every_module_is_named_by_the_first_named_frame_further_out)
{
    sym_frame_t frames[] = {
        {0}, /* JIT code, or a module the collector could not read */
        {0},
        {.function = "run_jitted", .module = "/usr/bin/vm", .file = "/src/vm.c", .line = 77},
        {.function = "main", .module = "/usr/bin/vm"}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 4, label);
    ck_assert_str_eq(site.function, "run_jitted");
    ck_assert_str_eq(site.file, "/src/vm.c");
    ck_assert_uint_eq(site.line, 77);
}
END_TEST

START_TEST(a_stack_without_any_name_or_module_is_named_by_its_sites_address)
{
    sym_frame_t frames[3] = {{0}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 3, label);
    ck_assert_str_eq(site.function, "0x55550000a123");
}
END_TEST

START_TEST(a_stack_of_wrappers_only_is_named_by_its_outermost_frame)
{
    sym_frame_t frames[] = {{.function = "g_malloc", .module = "/lib/libglib-2.0.so.0"},
                            {.function = "g_strdup", .module = "/lib/libglib-2.0.so.0"}};
    char label[SITE_LABEL_BYTES];
    ck_assert_str_eq(site_choose(pcs, frames, 2, label).function, "g_strdup");
}
END_TEST

START_TEST(the_longest_module_name_fits_the_label_and_a_long_caller_is_cut)
{
    char path[300] = "/";
    memset(path + 1, 'm', 255); /* NAME_MAX */
    static char caller[4096];
    memset(caller, 'c', sizeof caller - 1);
    sym_frame_t frames[] = {{.module = path, .module_offset = UINT64_MAX}, {.function = caller}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 1, label);
    ck_assert_uint_eq(strlen(site.function), 255 + strlen("+0xffffffffffffffff"));
    ck_assert(strcmp(site.function + 255, "+0xffffffffffffffff") == 0);
    site = site_choose(pcs, frames, 2, label);
    ck_assert_uint_eq(strlen(site.function), SITE_LABEL_BYTES - 1);
    ck_assert(strncmp(site.function + 255, "+0xffffffffffffffff < ccc", 25) == 0);
}
END_TEST

/* A guard page's fault: the stack was taken in our handler, so it starts
 * in the signal trampoline; the faulting function is the site. */
START_TEST(a_stack_taken_in_a_fault_handler_is_sited_at_the_interrupted_code)
{
    sym_frame_t frames[] = {
        {.function = "__restore_rt", .module = "/lib/libc.so.6", .signal_frame = true},
        {.function = "access_the_block", .module = "/usr/bin/prog", .file = "/src/g.c", .line = 12},
        {.function = "main", .module = "/usr/bin/prog", .file = "/src/main.c", .line = 9},
        {.function = "__libc_start_main", .module = "/lib/libc.so.6"}};
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, frames, 4, label);
    ck_assert_str_eq(site.function, "access_the_block");
    ck_assert_uint_eq(site.line, 12);
}
END_TEST

/* malloc called from the program's own signal handler: the handler, not
 * the code it interrupted, made the allocation. */
START_TEST(an_allocation_in_the_programs_own_signal_handler_is_sited_in_the_handler)
{
    sym_frame_t frames[] = {
        {.function = "on_signal", .module = "/usr/bin/prog", .file = "/src/h.c", .line = 5},
        {.function = "__restore_rt", .module = "/lib/libc.so.6", .signal_frame = true},
        {.function = "busy_loop", .module = "/usr/bin/prog", .file = "/src/main.c", .line = 30},
        {.function = "main", .module = "/usr/bin/prog", .file = "/src/main.c", .line = 9}};
    char label[SITE_LABEL_BYTES];
    ck_assert_str_eq(site_choose(pcs, frames, 4, label).function, "on_signal");
    /* Only the trampoline: it is all there is to name. */
    ck_assert_str_eq(site_choose(pcs, frames + 1, 1, label).function, "__restore_rt");
}
END_TEST

START_TEST(an_empty_stack_has_no_site)
{
    char label[SITE_LABEL_BYTES];
    site_t site = site_choose(pcs, NULL, 0, label);
    ck_assert_ptr_null(site.function);
}
END_TEST

START_TEST(wrappers_are_known_by_prefix_and_by_whole_name)
{
    ck_assert(site_is_wrapper("operator new[](unsigned long)"));
    ck_assert(site_is_wrapper("__strdup"));
    ck_assert(site_is_wrapper("xmalloc"));
    ck_assert(site_is_wrapper("sqlite3Malloc"));
    ck_assert(!site_is_wrapper("xmalloc_failed")); /* whole names only */
    ck_assert(site_is_wrapper("__libc_malloc"));
    ck_assert(!site_is_wrapper("__libc_start_main"));
    ck_assert(!site_is_wrapper("__libc_start_call_main"));
    ck_assert(!site_is_wrapper("parse_row"));
    ck_assert(!site_is_wrapper(NULL));
}
END_TEST

static Suite *site_suite(void)
{
    Suite *s = suite_create("site");
    TCase *tc = tcase_create("choice");
    tcase_add_test(tc, the_site_is_the_first_frame_past_the_allocation_wrappers);
    tcase_add_test(tc, a_nameless_site_in_a_known_module_is_named_by_module_offset_and_first_named_caller);
    tcase_add_test(tc, a_nameless_frame_inside_a_wrapper_is_part_of_the_wrapper);
    tcase_add_test(tc, a_site_outside_every_module_is_named_by_the_first_named_frame_further_out);
    tcase_add_test(tc, a_stack_without_any_name_or_module_is_named_by_its_sites_address);
    tcase_add_test(tc, a_stack_of_wrappers_only_is_named_by_its_outermost_frame);
    tcase_add_test(tc, the_longest_module_name_fits_the_label_and_a_long_caller_is_cut);
    tcase_add_test(tc, a_stack_taken_in_a_fault_handler_is_sited_at_the_interrupted_code);
    tcase_add_test(tc, an_allocation_in_the_programs_own_signal_handler_is_sited_in_the_handler);
    tcase_add_test(tc, an_empty_stack_has_no_site);
    tcase_add_test(tc, wrappers_are_known_by_prefix_and_by_whole_name);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(site_suite)
