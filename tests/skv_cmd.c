/* skv_cmd.c — running the skv binary from a Check test (stdout and stderr captured). */
#include "skv_cmd.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int skv_test_run(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen) {
  const char *bin = getenv("SKV_BIN") ? getenv("SKV_BIN") : "./skv";
  char errpath[64], cmd[2048];
  snprintf(errpath, sizeof errpath, "skv_test_stderr_%ld.txt", (long)getpid()); /* one per test process */
  snprintf(cmd, sizeof cmd, "%s %s 2>%s", bin, args, errpath);
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
