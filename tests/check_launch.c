/* check_launch.c - the part of launch.c that needs no collector: which
 * process a collector's socket name says started it (the tree's first
 * program keeps the large rings after an exec in place, slots.h).
 * Starting and reaching a real collector runs in the integration tests
 * (trace_db.sh, security.sh). */
#include <stdint.h>
#include <string.h>

#include "check_support.h"
#include "launch.h"

START_TEST(a_socket_name_says_which_process_started_its_collector)
{
    ck_assert(launch_started_by("orthotope-4242-1733389200123456789", 4242));
    ck_assert(launch_started_by("orthotope-1-0", 1));
    ck_assert(launch_started_by("orthotope-4294967295-7", UINT32_MAX));
}
END_TEST

START_TEST(another_process_is_not_the_one_that_started_it)
{
    ck_assert(!launch_started_by("orthotope-4242-1733389200123456789", 424));
    ck_assert(!launch_started_by("orthotope-4242-1733389200123456789", 42420));
    ck_assert(!launch_started_by("orthotope-4242-1733389200123456789", 0));
}
END_TEST

START_TEST(a_name_of_another_form_names_no_process)
{
    /* Set by hand, by an older library, or cut: never taken for the
     * starter, so such a program gets a child's smaller rings. */
    ck_assert(!launch_started_by("", 4242));
    ck_assert(!launch_started_by("off", 4242));
    ck_assert(!launch_started_by("orthotope-4242", 4242));
    ck_assert(!launch_started_by("orthotope--4242-1", 4242));
    ck_assert(!launch_started_by("orthotope-+4242-1", 4242));
    ck_assert(!launch_started_by("xorthotope-4242-1", 4242));
    ck_assert(!launch_started_by("Orthotope-4242-1", 4242));
    /* More digits than a pid has: not read as one modulo 2^32. */
    ck_assert(!launch_started_by("orthotope-4294971538-1", 4242));
    ck_assert(!launch_started_by("orthotope-00000000004242-1", 4242));
}
END_TEST

static Suite *launch_suite(void)
{
    Suite *s = suite_create("launch");
    TCase *tc = tcase_create("socket_name");
    tcase_add_test(tc, a_socket_name_says_which_process_started_its_collector);
    tcase_add_test(tc, another_process_is_not_the_one_that_started_it);
    tcase_add_test(tc, a_name_of_another_form_names_no_process);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_SUPPORT_MAIN(launch_suite)
