/* check_support.h - the few lines every unit-test program shares: run one
 * suite with Check's normal output and turn the result into an exit code. */
#ifndef ORTHO_CHECK_SUPPORT_H
#define ORTHO_CHECK_SUPPORT_H

#include <check.h>
#include <stdlib.h>

static inline int check_support_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* For functions whose addresses a test resolves by name: they must stay
 * real, separate, unrenamed functions at -O2 - noipa forbids inlining,
 * cloning (".constprop.0" names) and merging. */
#if defined(__clang__)
#define CHECK_NOIPA __attribute__((noinline, used))
#else
#define CHECK_NOIPA __attribute__((noipa))
#endif

#define CHECK_SUPPORT_MAIN(suite_fn) \
    int main(void) { return check_support_run(suite_fn()); }

#endif
