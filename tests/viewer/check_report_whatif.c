#include <check.h>
#include "check_support.h"
static Suite *s(void){return suite_create("x");}
CHECK_SUPPORT_MAIN(s)
