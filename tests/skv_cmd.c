/* skv_cmd.c — running the skv binary from a Check test (stdout and stderr captured). */
#include "skv_cmd.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *skv_test_bin(void) { return getenv("SKV_BIN") ? getenv("SKV_BIN") : "./skv-san"; }

int skv_test_exec(const char *bin, const char *args, char *out, size_t outlen, char *errbuf, size_t errlen) {
  char errpath[64], cmd[4096];
  snprintf(errpath, sizeof errpath, "skv_test_stderr_%ld.txt", (long)getpid()); /* one per test process */
  ck_assert((size_t)snprintf(cmd, sizeof cmd, "%s %s %s 2>%s", SKV_TEST_CHILD_ENV, bin, args, errpath) < sizeof cmd);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  size_t n = fread(out, 1, outlen - 1, p);
  out[n] = '\0';
  while (fgetc(p) != EOF) {
  }
  int status = pclose(p);
  FILE *e = fopen(errpath, "r");
  ck_assert(e != NULL);
  n = fread(errbuf, 1, errlen - 1, e);
  errbuf[n] = '\0';
  fclose(e);
  remove(errpath);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int skv_test_run(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen) {
  return skv_test_exec(skv_test_bin(), args, out, outlen, errbuf, errlen);
}

void skv_test_usage_error(const char *args, const char *needle) {
  static char out[1 << 16], err[8192];
  int rc = skv_test_run(args, out, sizeof out, err, sizeof err);
  ck_assert_msg(rc == 2, "'%s' exited %d", args, rc);
  ck_assert_msg(out[0] == '\0', "'%s' printed to stdout: %s", args, out);
  ck_assert_msg(strstr(err, needle), "'%s': stderr '%s' lacks '%s'", args, err, needle);
  ck_assert_int_eq(skv_test_count(err, "\n"), 1);
}

int skv_test_count(const char *hay, const char *needle) {
  int c = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) c++;
  return c;
}
