/* timeout.h — the one time limit of every Check test (the CPU suites and the GPU tests). */
#ifndef SKV_TEST_TIMEOUT_H
#define SKV_TEST_TIMEOUT_H

#include <stdlib.h>

/* Seconds one test may run before Check kills it. A limit a slow machine can
 * reach fails correct tests: check_suite's deep-nesting test passed 4 s,
 * Check's default, under ASan on a busy 2-core machine. No test checks speed,
 * so the limit only has to catch a hang: the slowest test (check_quant's e4m3
 * sweep) took 88 s under ASan+UBSan on 2 cores shared with three other test
 * and build jobs, 13x less. CK_TIMEOUT_MULTIPLIER still scales it (a slower
 * tool, e.g. valgrind). */
#define SKV_TEST_TIMEOUT_S "1200"

/* Set before any TCase is made: tcase_create reads CK_DEFAULT_TIMEOUT, so
 * every TCase gets the limit, one added later too, and none calls
 * tcase_set_timeout. (Check enforces it only when tests run forked; the GPU
 * tests run CK_NOFORK, in one CUDA context, so theirs is the caller's.) */
static inline void skv_test_timeout_init(void) { setenv("CK_DEFAULT_TIMEOUT", SKV_TEST_TIMEOUT_S, 1); }

#endif /* SKV_TEST_TIMEOUT_H */
