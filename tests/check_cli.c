/* check_cli.c — the skv command line: answers and error paths (exit 2, one message, no partial output); sanitized children. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  skv_test_usage_error("graph-bounds --batch 3", "--batch/--seqlen/--seqlens");
  skv_test_usage_error("graph-bounds --captures 1,x", "--captures");
  skv_test_usage_error("graph-bounds --contexts 4096 --max-seqlen 1024", "--contexts");
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

/* skv plan refuses what a suite refuses, by the same rules (sim/support.h), naming the flag; it
 * plans what only the GPU kernels refuse, as a suite's simulated run does. */
START_TEST(plan_refuses_what_the_suite_refuses) {
  skv_test_usage_error("plan --qlen 5000 --seqlen 100",
                       "--qlen: qlen 5000 is longer than the shortest KV (100 tokens): a request's query tokens are "
                       "its last qlen KV positions");
  skv_test_usage_error("plan --seqlens 0,5 --qlen 2", "--qlen: qlen 2 is longer than the shortest KV (0 tokens)");
  skv_test_usage_error("plan --seqlen 1099511627776 --batch 1",
                       "--seqlen: the batch needs up to 68719476736 KV pages of 16 tokens, more than the 2147483647 "
                       "that 32-bit page ids can name");
  skv_test_usage_error("plan --policy fa2 --split-size 100",
                       "--split-size: does not apply to policy fa2 (it reads: --num-splits, --blocks-per-sm, --tile-rows)");
  skv_test_usage_error("plan --policy fixed --num-splits 3", "--num-splits: does not apply to policy fixed");
  skv_test_usage_error("plan --policy vllm --disable-split-kv", "--disable-split-kv: does not apply to policy vllm");
  skv_test_usage_error("plan --work", "--work: only with --json");
  skv_test_usage_error("plan --hq 32 --hkv 7", "--hq: hq 32 is not a multiple of hkv 7");
  /* an integer past 64 bits is out of range like any other, and said so */
  skv_test_usage_error("plan --seqlen 99999999999999999999",
                       "--seqlen: must be in 0..1099511627776 (got 99999999999999999999)");
  skv_test_usage_error("plan --sms -99999999999999999999", "--sms: must be in 1..4096 (got -99999999999999999999)");
  ck_assert_int_eq(skv_test_run("plan --page-size 24 --hq 34 --hkv 2 --qlen 3 --seqlen 64", out, sizeof out, err,
                                sizeof err),
                   0);
  ck_assert(strstr(out, "page 24"));
}
END_TEST

/* Each refusal of the GPU kernels, from bench's flags: exit 2 before the GPU is looked for, so
 * the answer is the same on a host without one. */
START_TEST(bench_refuses_what_the_kernels_refuse_before_any_gpu_work) {
  skv_test_usage_error("bench decode --dtype fp8_e4m3 --scales per_token_head",
                       "--scales: the GPU kernels take fp8_e4m3 queries with per_tensor KV scales only");
  skv_test_usage_error("bench decode --hq 34 --hkv 2", "--hq: the GPU kernels take a GQA group (hq/hkv) of at most 16");
  skv_test_usage_error("bench decode --page-size 24", "--page-size: the GPU kernels take a power-of-two page size");
  skv_test_usage_error("bench decode --kv-dtype fp16", "--dtype: the GPU kernels read a fp16 cache with fp16 queries");
  skv_test_usage_error("bench decode --kv-dtype int8 --v-dtype fp16",
                       "--v-dtype: the GPU kernels keep an int8 K cache's 16-bit V in the queries' type");
  skv_test_usage_error("bench decode --v-dtype fp16", "--v-dtype: v_dtype fp16 with kv_dtype bf16 is not supported");
  skv_test_usage_error("bench decode --dtype int8", "--dtype: q_dtype int8 is not supported");
  skv_test_usage_error("bench decode --head-dim 96", "--head-dim: head_dim 96 is not supported");
  skv_test_usage_error("bench decode --grid 1x4096,1x1099511627776", "--grid");
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

/* Issue 13: the GPU is an input of skv plan. Two models differing only in their read ceiling give
 * lab different plans for one batch (each named in the reason); a model the file lacks, a models
 * file that cannot be read and --sms out of range exit 2 naming the flag. */
START_TEST(plan_plans_for_the_gpu_it_is_told) {
  char path[256], args[512];
  snprintf(path, sizeof path, "/tmp/skv-cli-gpus-%d.yaml", (int)getpid());
  FILE *f = fopen(path, "w");
  ck_assert(f != NULL);
  fprintf(f, "home: slow\nmodels:\n");
  for (int k = 0; k < 2; k++)
  {
    /* every stream alike: 40 GB/s per CTA (25 over 8-bit caches), the stream ceiling the read ceiling */
    char streams[4][512];
    for (int s = 0; s < 4; s++) {
      static const char *const kinds[4] = {"16bit", "fp8", "int8", "int8k_16v"};
      const int cta = s == 0 ? 40 : 25, st = k ? 6 : 3;
      snprintf(streams[s], sizeof streams[s],
               "%s: {fixed_us: {d64: [2, 2, 2, 2], d128: [2, 2, 2, 2], d256: [2, 2, 2, 2]}, fixed_sm_us: 0, cta_gbps: {d64: [%d, %d, %d, %d], d128: [%d, %d, %d, %d], d256: [%d, %d, %d, %d]},"
               " stream_tbps: {d64: [%d, %d, %d, %d], d128: [%d, %d, %d, %d], d256: [%d, %d, %d, %d]}}",
               kinds[s], cta, cta, cta, cta, cta, cta, cta, cta, cta, cta, cta, cta, st, st, st, st, st, st, st, st, st, st,
               st, st);
    }
    fprintf(f, "  - {name: %s, device: X%d, arch: sm_90, sms: 132, read_tbps: %d, launch_us: 3, combine_item_us: 2,"
               " combine_chunk_us: 0, streams: {%s, %s, %s, %s}, ctas_per_sm: {16bit: [3, 2, 1], 8bit_cols: [6, 4, 3],"
               " 8bit_rows: [5, 3, 2], int8k_16v: [4, 2, 2]}}\n",
            k ? "fast" : "slow", k, k ? 6 : 3, streams[0], streams[1], streams[2], streams[3]);
  }
  ck_assert_int_eq(fclose(f), 0);
  static char slow[1 << 16];
  snprintf(args, sizeof args, "plan --policy lab --batch 16 --seqlen 8192 --gpus %s", path);
  ck_assert_int_eq(skv_test_run(args, slow, sizeof slow, err, sizeof err), 0);
  ck_assert_msg(strstr(slow, "GPU slow, 132 SMs") && strstr(slow, "cost model (slow,") && strstr(slow, "chunks of 8192 tokens"),
                "%s", slow);
  snprintf(args, sizeof args, "plan --policy lab --batch 16 --seqlen 8192 --gpus %s --gpu fast", path);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(out, "cost model (fast,") && strstr(out, "chunks of 4096 tokens"), "%s", out);
  snprintf(args, sizeof args, "plan --gpus %s --gpu medium", path);
  skv_test_usage_error(args, "--gpu: no model 'medium'");
  skv_test_usage_error("plan --gpus /nonexistent/gpus.yaml", "--gpus: /nonexistent/gpus.yaml: cannot open");
  skv_test_usage_error("plan --sms 0", "--sms");
  /* the project's file: its home model by default, every model by name */
  ck_assert_int_eq(skv_test_run("plan --policy lab --json", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "\"gpu\": \"h200\""));
  ck_assert_int_eq(skv_test_run("plan --policy lab --gpu a100-sxm --json", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "\"gpu\": \"a100-sxm\"") && strstr(out, "\"num_sms\": 108"));
  remove(path);
}
END_TEST

/* skv bench sim prints a row per policy and batch size; skv calibrate without CUDA says so. */
START_TEST(bench_sim_and_calibrate_answer) {
  ck_assert_int_eq(skv_test_run("bench sim --seconds 0 --compositions 2 --batches 1,3 --policies none,lab", out,
                                sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(out, "# skv bench sim") && strstr(out, "plans/s"), "%s", out);
  ck_assert_int_eq(skv_test_count(out, "\nnone "), 2);
  ck_assert_int_eq(skv_test_count(out, "\nlab "), 2);
  skv_test_usage_error("bench sim --policies lab,nope", "--policies: unknown policy 'nope'");
  skv_test_usage_error("bench sim --batches 0", "--batches");
  skv_test_usage_error("bench sim --gpu nope", "--gpu: no model 'nope'");
  skv_test_usage_error("calibrate --name 'a b'", "--name");
  skv_test_usage_error("calibrate --repeat 5", "--repeat");
  skv_test_usage_error("calibrate extra", "unexpected argument");
#ifndef SKV_WITH_CUDA
  ck_assert_int_eq(skv_test_run("calibrate", out, sizeof out, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "no CUDA device") || strstr(err, "built without CUDA"), "%s", err);
#endif
}
END_TEST

START_TEST(help_is_printed_with_exit_0) {
  ck_assert_int_eq(skv_test_run("plan --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--fixed-split-pages"));
  ck_assert(strstr(out, "--blocks-per-sm"));
  ck_assert_int_eq(skv_test_run("bench --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "--timeline DIR"));
  /* issue 12: bench --help said "CUDA events" for its default timer, "all six" policies and cuDNN ratios */
  ck_assert_msg(strstr(out, "CUPTI") && strstr(out, "all seven") && !strstr(out, "all six") && !strstr(out, "cuDNN"),
                "%s", out);
  ck_assert_int_eq(skv_test_run("--help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strstr(out, "plan"));
  ck_assert_int_eq(skv_test_run("version --help", out, sizeof out, err, sizeof err), 0);
  ck_assert(strncmp(out, "usage: skv version", 18) == 0 && err[0] == '\0');
  skv_test_usage_error("version --verbose", "--verbose: unknown flag");
  skv_test_usage_error("version now", "now: unexpected argument");
  skv_test_usage_error("model-error", "expected one argument, the run directory");
  skv_test_usage_error("model-error /nonexistent-skv-run", "/nonexistent-skv-run/results.csv");
  skv_test_usage_error("model-error a b", "b: unexpected argument");
}
END_TEST

/* The --flag names in text: "--" after a character that cannot be part of a flag, then [a-z][a-z0-9-]*. */
static int flags_in(const char *text, char names[][32], int max) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, "--")); p += 2) {
    if ((p > text && (p[-1] == '-' || (p[-1] >= 'a' && p[-1] <= 'z'))) || !(p[2] >= 'a' && p[2] <= 'z')) continue;
    char name[32];
    size_t k = 0;
    for (const char *c = p + 2; ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-') && k + 1 < sizeof name;
         c++)
      name[k++] = *c;
    name[k] = '\0';
    bool seen = strcmp(name, "help") == 0; /* every command has --help; README says so once */
    for (int i = 0; i < n && !seen; i++) seen = strcmp(names[i], name) == 0;
    if (!seen && n < max) snprintf(names[n++], sizeof names[0], "%s", name);
  }
  return n;
}

/* README's section of a command: from its "### `skv CMD" heading to the next heading. */
static void readme_section(const char *readme, const char *cmd, char *buf, size_t len) {
  char head[64];
  snprintf(head, sizeof head, "\n### `skv %s", cmd);
  const char *a = strstr(readme, head);
  ck_assert_msg(a != NULL, "README.md has no section '### `skv %s`'", cmd);
  a += strlen(head);
  const char *b = strstr(a, "\n#");
  const size_t n = b ? (size_t)(b - a) : strlen(a);
  ck_assert(n < len);
  memcpy(buf, a, n);
  buf[n] = '\0';
}

/* Every flag a command's --help lists is in README's section for that command, and every flag
 * that section names is one --help lists. */
START_TEST(every_help_agrees_with_readme) {
  static char readme[1 << 18], section[1 << 15];
  FILE *f = fopen("../README.md", "r");
  ck_assert(f != NULL);
  const size_t n = fread(readme, 1, sizeof readme - 1, f);
  readme[n] = '\0';
  ck_assert(n < sizeof readme - 1);
  fclose(f);
  static const char *const cmds[] = {"run", "plan", "graph-bounds", "layout", "bench", "bench sim", "calibrate", "model-error", "summary", "compare", "report", "merge",
                                     "version"};
  for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
    char args[64];
    snprintf(args, sizeof args, "%s --help", cmds[c]);
    ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
    /* the flags --help lists: the first word of each line that starts with "  --" */
    char listed[64][32], documented[64][32];
    int nl = 0;
    for (const char *line = out; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
      if (strncmp(line, "  --", 4) == 0 && nl < 64) nl += flags_in(line, listed + nl, 1);
    readme_section(readme, cmds[c], section, sizeof section);
    const int nd = flags_in(section, documented, 64);
    for (int i = 0; i < nl; i++) {
      bool found = false;
      for (int j = 0; j < nd && !found; j++) found = strcmp(listed[i], documented[j]) == 0;
      ck_assert_msg(found, "skv %s --help lists --%s; README's section does not", cmds[c], listed[i]);
    }
    for (int j = 0; j < nd; j++) {
      bool found = false;
      for (int i = 0; i < nl && !found; i++) found = strcmp(listed[i], documented[j]) == 0;
      ck_assert_msg(found, "README's section for skv %s names --%s; --help does not list it", cmds[c], documented[j]);
    }
  }
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
  tcase_add_test(tc, plan_refuses_what_the_suite_refuses);
  tcase_add_test(tc, bench_refuses_what_the_kernels_refuse_before_any_gpu_work);
  tcase_add_test(tc, bench_bad_flags_exit_2_before_any_gpu_work);
  tcase_add_test(tc, plan_plans_for_the_gpu_it_is_told);
  tcase_add_test(tc, bench_sim_and_calibrate_answer);
  tcase_add_test(tc, help_is_printed_with_exit_0);
  tcase_add_test(tc, every_help_agrees_with_readme);
  suite_add_tcase(s, tc);
  TCase *san = tcase_create("sanitizers");
  tcase_add_test(san, the_skv_under_test_is_instrumented_by_asan_and_ubsan);
  tcase_add_test(san, a_sanitizer_error_in_a_child_fails_its_run);
  suite_add_tcase(s, san);
  return s;
}
