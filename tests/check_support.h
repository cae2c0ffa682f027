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

#define CHECK_SUPPORT_MAIN(suite_fn) \
    int main(void) { return check_support_run(suite_fn()); }

#endif
