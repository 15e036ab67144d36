/* check_cli.c — the skv command line: answers and error paths (exit 2, one message, no partial output); sanitized children. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skv_cmd.h"
#include "suites.h"

static char out[1 << 20], err[8192];

START_TEST(plan_example_gives_3_splits_for_every_request) {
  int rc = skv_test_run("plan --policy fa2 --sms 108 --batch 16 --seqlen 4096 --hq 32 --hkv 8 --head-dim 128 --json", out,
                   sizeof out, err, sizeof err);
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(skv_test_count(out, "\"num_splits\": 3"), 16);
  ck_assert(strstr(out, "\"policy\": \"fa2\""));
  ck_assert(strstr(out, "\"ctas\": 384"));
  ck_assert(strstr(out, "\"waves\""));
  ck_assert(strstr(out, "[0, 1408]") || strstr(out, "[0,1408]"));
}
END_TEST

START_TEST(plan_table_lists_every_request) {
  ck_assert_int_eq(skv_test_run("plan --policy flashinfer --seqlens 1024,4096,17", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "policy flashinfer"));
  ck_assert(strstr(out, ",4096) \n"));
  ck_assert(strstr(out, "[0,17)"));
}
END_TEST

START_TEST(plan_bad_flags_exit_2_with_a_message) {
  skv_test_usage_error("plan --policy fa4", "--policy");
  skv_test_usage_error("plan --polcy fa2", "--polcy: unknown flag");
  skv_test_usage_error("plan --hq 30 --hkv 8", "--hq");
  skv_test_usage_error("plan --batch 0", "--batch");
  skv_test_usage_error("plan --batch -3", "--batch");
  skv_test_usage_error("plan --seqlen -1", "--seqlen");
  skv_test_usage_error("plan --head-dim 96", "--head-dim");
  skv_test_usage_error("plan --sms", "--sms: missing value");
  skv_test_usage_error("plan --sms 12x", "--sms");
  skv_test_usage_error("plan --seqlens 10,,20", "--seqlens");
  skv_test_usage_error("plan --seqlens 10,20 --batch 3", "--seqlens");
  skv_test_usage_error("plan --split-size 0 --policy fixed", "--split-size");
  skv_test_usage_error("plan --page-size 512", "--page-size");
  skv_test_usage_error("plan --json=yes", "--json");
  skv_test_usage_error("plan stray", "unexpected argument");
  /* an unknown command also prints the command list */
  ck_assert_int_eq(skv_test_run("nosuchcommand", out, sizeof out, err, sizeof err), 2);
  ck_assert(strstr(err, "unknown command 'nosuchcommand'") && strstr(err, "commands:"));
}
END_TEST

START_TEST(bench_bad_flags_exit_2_before_any_gpu_work) {
  /* checked before the GPU is looked for, so the answer is the same on a host without one */
  skv_test_usage_error("bench decode --timeline /nonexistent-skv-dir", "--timeline");
  skv_test_usage_error("bench decode --timeline", "--timeline: missing value");
  skv_test_usage_error("bench decode --combine sometimes", "--combine");
  skv_test_usage_error("bench decode --repeat 3", "--repeat");
  skv_test_usage_error("bench decode --kv-dtype fp4", "--kv-dtype");
}
END_TEST

START_TEST(help_is_printed_with_exit_0) {
  ck_assert_int_eq(skv_test_run("plan --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--fixed-split-pages"));
  ck_assert(strstr(out, "--blocks-per-sm"));
  ck_assert_int_eq(skv_test_run("bench --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--timeline DIR"));
  ck_assert_int_eq(skv_test_run("--help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "plan"));
}
END_TEST

/* ---- The children run sanitized, and a sanitizer error in one fails its test ---- */

/* Whether the file at path holds the bytes of s. */
static bool file_contains(const char *path, const char *s) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s: cannot open", path);
  ck_assert(fseek(f, 0, SEEK_END) == 0);
  const long size = ftell(f);
  ck_assert(size >= 0 && fseek(f, 0, SEEK_SET) == 0);
  char *buf = malloc((size_t)size + 1);
  ck_assert(buf != NULL);
  ck_assert_int_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  const size_t n = strlen(s);
  bool found = false;
  for (size_t i = 0; !found && i + n <= (size_t)size; i++) found = memcmp(buf + i, s, n) == 0;
  free(buf);
  return found;
}

START_TEST(the_skv_under_test_is_instrumented_by_asan_and_ubsan) {
  /* instrumented code calls the runtimes' report functions: their names are in the binary */
  ck_assert_msg(file_contains(skv_test_bin(), "__asan_report_"), "%s is not built with ASan", skv_test_bin());
  ck_assert_msg(file_contains(skv_test_bin(), "__ubsan_handle_"), "%s is not built with UBSan", skv_test_bin());
  ck_assert_int_eq(skv_test_run("version", out, sizeof out, err, sizeof err), 0);
}
END_TEST

START_TEST(a_sanitizer_error_in_a_child_fails_its_run) {
  /* A child built as skv-san is, with one planted error, run as skv is: it dies (-1 or the shell's
   * 128 + SIGABRT), never 0, 1 or 2, the codes the tests expect from skv, and the report is on stderr. */
  static const struct {
    const char *error, *report;
  } cases[] = {
      {"heap-overflow", "ERROR: AddressSanitizer: heap-buffer-overflow"},
      {"signed-overflow", "runtime error: signed integer overflow"},
      {"leak", "ERROR: LeakSanitizer: detected memory leaks"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const int rc = skv_test_exec("./sanitizer_canary", cases[i].error, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc != 0 && rc != 1 && rc != 2, "%s: exit %d", cases[i].error, rc);
    ck_assert_msg(strstr(err, cases[i].report), "%s: stderr '%s' lacks '%s'", cases[i].error, err, cases[i].report);
  }
}
END_TEST

Suite *skv_suite_cli(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("plan");
  tcase_add_test(tc, plan_example_gives_3_splits_for_every_request);
  tcase_add_test(tc, plan_table_lists_every_request);
  tcase_add_test(tc, plan_bad_flags_exit_2_with_a_message);
  tcase_add_test(tc, bench_bad_flags_exit_2_before_any_gpu_work);
  tcase_add_test(tc, help_is_printed_with_exit_0);
  suite_add_tcase(s, tc);
  TCase *san = tcase_create("sanitizers");
  tcase_add_test(san, the_skv_under_test_is_instrumented_by_asan_and_ubsan);
  tcase_add_test(san, a_sanitizer_error_in_a_child_fails_its_run);
  suite_add_tcase(s, san);
  return s;
}
