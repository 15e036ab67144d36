/* skv_cmd.h — running the skv binary from a Check test (stdout and stderr captured). */
#ifndef SKV_TEST_CMD_H
#define SKV_TEST_CMD_H

#include <stddef.h>

/* The sanitizer options of every child a test runs: any ASan, LSan or UBSan
 * report aborts it (SIGABRT), so a sanitizer error can never pass for one of
 * skv's own exit codes (0 done, 1 failed run, 2 usage error) that the tests
 * check. Set on the command line, so a hand run of skv_tests gets them too. */
#define SKV_TEST_CHILD_ENV                                                                                             \
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1"

/* The skv the tests run: $SKV_BIN, else ./skv-san (skv under ASan/UBSan,
 * built beside skv_tests by the Makefile). */
const char *skv_test_bin(void);

/* Run "SKV_TEST_CHILD_ENV BIN ARGS" through the shell; its stdout goes to out
 * and its stderr to errbuf, both NUL-terminated and truncated to fit. Returns
 * the exit code (-1 if it did not exit, e.g. aborted by a sanitizer). */
int skv_test_exec(const char *bin, const char *args, char *out, size_t outlen, char *errbuf, size_t errlen);

/* skv_test_exec(skv_test_bin(), args, ...): the skv under test. */
int skv_test_run(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen);

/* A bad command line: asserts exit 2, nothing on stdout and exactly one line on stderr that
 * contains needle (the flag it names). */
void skv_test_usage_error(const char *args, const char *needle);

/* Occurrences of needle in hay (non-overlapping). */
int skv_test_count(const char *hay, const char *needle);

#endif /* SKV_TEST_CMD_H */
