/* tmpdir.c — a temporary directory per Check test, and files in it. */
#include "tmpdir.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

void skv_test_tmpdir_setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/skv-test-XXXXXX");
  ck_assert(mkdtemp(tmpdir));
}

void skv_test_tmpdir_teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

const char *skv_test_tmpdir(void) { return tmpdir; }

const char *skv_test_tmp_path(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

void skv_test_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert(f);
  ck_assert(fputs(text, f) >= 0);
  ck_assert_int_eq(fclose(f), 0);
}
