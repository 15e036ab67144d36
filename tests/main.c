/* main.c — the Check runner: every CPU suite of SplitKV Lab in one binary. */
#include <check.h>
#include <stdlib.h>

#include "suites.h"
#include "timeout.h"

int main(void) {
  skv_test_timeout_init();
  SRunner *sr = srunner_create(NULL);
  for (size_t i = 0; skv_test_suites[i]; i++) srunner_add_suite(sr, skv_test_suites[i]());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
