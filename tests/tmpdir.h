/* tmpdir.h — a temporary directory per Check test (a checked fixture), and files in it. */
#ifndef SKV_TEST_TMPDIR_H
#define SKV_TEST_TMPDIR_H

/* The fixture: make a fresh /tmp/skv-test-XXXXXX before each test, remove it with everything in it after. */
void skv_test_tmpdir_setup(void);
void skv_test_tmpdir_teardown(void);
/* The test's directory. */
const char *skv_test_tmpdir(void);
/* name inside the test's directory (one of 4 rotating buffers: up to 4 live at once). */
const char *skv_test_tmp_path(const char *name);
/* Write text to path (the test fails if it cannot). */
void skv_test_write_file(const char *path, const char *text);

#endif /* SKV_TEST_TMPDIR_H */
