/* check_cli.c — the skv command line: answers and error paths (exit 2, one message, no partial output). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "suites.h"

/* Run "skv ARGS" with stdout and stderr captured; return the exit code. */
static int run_skv(const char *args, char *out, size_t outlen, char *errbuf, size_t errlen) {
  const char *bin = getenv("SKV_BIN") ? getenv("SKV_BIN") : "./skv";
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s 2>skv_cli_stderr.txt", bin, args);
  FILE *p = popen(cmd, "r");
  ck_assert(p != NULL);
  size_t n = fread(out, 1, outlen - 1, p);
  out[n] = '\0';
  while (fgetc(p) != EOF) {
  }
  int status = pclose(p);
  FILE *e = fopen("skv_cli_stderr.txt", "r");
  ck_assert(e != NULL);
  n = fread(errbuf, 1, errlen - 1, e);
  errbuf[n] = '\0';
  fclose(e);
  remove("skv_cli_stderr.txt");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count(const char *hay, const char *needle) {
  int c = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) c++;
  return c;
}

static char out[1 << 20], err[8192];

START_TEST(plan_example_gives_3_splits_for_every_request) {
  int rc = run_skv("plan --policy fa2 --sms 108 --batch 16 --seqlen 4096 --hq 32 --hkv 8 --head-dim 128 --json", out,
                   sizeof out, err, sizeof err);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(count(out, "\"num_splits\": 3"), 16);
  ck_assert(strstr(out, "\"policy\": \"fa2\""));
  ck_assert(strstr(out, "\"ctas\": 384"));
  ck_assert(strstr(out, "\"waves\""));
  ck_assert(strstr(out, "[0, 1408]") || strstr(out, "[0,1408]"));
}
END_TEST

START_TEST(plan_table_lists_every_request) {
  ck_assert_int_eq(run_skv("plan --policy flashinfer --seqlens 1024,4096,17", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "policy flashinfer"));
  ck_assert(strstr(out, ",4096) \n"));
  ck_assert(strstr(out, "[0,17)"));
}
END_TEST

/* Each bad input: exit 2, nothing on stdout, one line on stderr naming the flag. */
static void expect_usage_error(const char *args, const char *needle) {
  int rc = run_skv(args, out, sizeof out, err, sizeof err);
  ck_assert_msg(rc == 2, "'%s' exited %d", args, rc);
  ck_assert_msg(out[0] == '\0', "'%s' printed to stdout: %s", args, out);
  ck_assert_msg(strstr(err, needle), "'%s': stderr '%s' lacks '%s'", args, err, needle);
  ck_assert_int_eq(count(err, "\n"), 1);
}

START_TEST(plan_bad_flags_exit_2_with_a_message) {
  expect_usage_error("plan --policy fa4", "--policy");
  expect_usage_error("plan --polcy fa2", "--polcy: unknown flag");
  expect_usage_error("plan --hq 30 --hkv 8", "--hq");
  expect_usage_error("plan --batch 0", "--batch");
  expect_usage_error("plan --batch -3", "--batch");
  expect_usage_error("plan --seqlen -1", "--seqlen");
  expect_usage_error("plan --head-dim 96", "--head-dim");
  expect_usage_error("plan --sms", "--sms: missing value");
  expect_usage_error("plan --sms 12x", "--sms");
  expect_usage_error("plan --seqlens 10,,20", "--seqlens");
  expect_usage_error("plan --seqlens 10,20 --batch 3", "--seqlens");
  expect_usage_error("plan --split-size 0 --policy fixed", "--split-size");
  expect_usage_error("plan --page-size 512", "--page-size");
  expect_usage_error("plan --json=yes", "--json");
  expect_usage_error("plan stray", "unexpected argument");
  /* an unknown command also prints the command list */
  ck_assert_int_eq(run_skv("nosuchcommand", out, sizeof out, err, sizeof err), 2);
  ck_assert(strstr(err, "unknown command 'nosuchcommand'") && strstr(err, "commands:"));
}
END_TEST

START_TEST(help_is_printed_with_exit_0) {
  ck_assert_int_eq(run_skv("plan --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--fixed-split-pages"));
  ck_assert(strstr(out, "--blocks-per-sm"));
  ck_assert_int_eq(run_skv("--help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "plan"));
}
END_TEST

Suite *skv_suite_cli(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("plan");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, plan_example_gives_3_splits_for_every_request);
  tcase_add_test(tc, plan_table_lists_every_request);
  tcase_add_test(tc, plan_bad_flags_exit_2_with_a_message);
  tcase_add_test(tc, help_is_printed_with_exit_0);
  suite_add_tcase(s, tc);
  return s;
}
