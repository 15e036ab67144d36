/* skv_cmd.h — running the skv binary from a Check test (stdout and stderr captured). */
#ifndef SKV_TEST_CMD_H
#define SKV_TEST_CMD_H

#include <stddef.h>

/* Run "$SKV_BIN ARGS" (default ./skv) through the shell; its stdout goes to out and its stderr to
 * errbuf, both NUL-terminated and truncated to fit. Returns the exit code (-1 if it did not exit). */
int skv_test_run(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen);

/* A bad command line: asserts exit 2, nothing on stdout and exactly one line on stderr that
 * contains needle (the flag it names). */
void skv_test_usage_error(const char *args, const char *needle);

/* Occurrences of needle in hay (non-overlapping). */
int skv_test_count(const char *hay, const char *needle);

#endif /* SKV_TEST_CMD_H */
