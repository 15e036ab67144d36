/* check_run.c — `skv run` in sim mode: results, resume, dump, errors before any work; npy and points. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/atomic_file.h"
#include "out/csv.h"
#include "out/npy.h"
#include "skv_cmd.h"
#include "tmpdir.h"
#include "runner/row.h"
#include "suite/suite.h"
#include "suites.h"


/* skv ARGS: its exit code, its stderr in errbuf (its stdout is not looked at). */
static int run_cmd(const char *args, char *errbuf, size_t errlen) {
  static char out[1 << 16];
  return skv_test_run(args, out, sizeof out, errbuf, errlen);
}

/* skv run on tmp/<suite> with the project's GPU models into tmp/run, with more flags; its exit code. */
static int run_suite(const char *suite, const char *flags, char *errbuf, size_t errlen) {
  char args[1600];
  snprintf(args, sizeof args, "run %s --out %s --gpus ../experiments/gpus.yaml %s", skv_test_tmp_path(suite), skv_test_tmp_path("run"),
           flags);
  return run_cmd(args, errbuf, errlen);
}

static const char *suite_text =
    "name: t\n"
    "description: \"a test suite\"\n"
    "defaults: {hq: 8, hkv: 2, head_dim: 64, page_size: 16, seed: 4}\n"
    "sweep:\n"
    "  points:\n"
    "    - {batch: 3, seqlen: 700}\n"
    "    - {batch: 1, seqlen: 2000}\n"
    "  policy: [fa2, {name: fixed, split_size: 128}, none]\n"
    "repeat: 3\n"
    "checks: {reference: true, batch_invariance: true}\n"
    "plots: [latency_vs_seqlen, error]\n";

START_TEST(sim_run_writes_rows_meta_and_plots) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", skv_test_tmp_path("t.yaml"),
           skv_test_tmp_path("run"));
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  skv_csv_table t;
  ck_assert_msg(skv_csv_load(skv_test_tmp_path("run/results.csv"), &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.nrows, 6);
  const int32_t mode = skv_csv_col(&t, "mode"), ref = skv_csv_col(&t, "reference"), e = skv_csv_col(&t, "o_rel_err"),
                total = skv_csv_col(&t, "total_us"), pred = skv_csv_col(&t, "predicted_us"),
                inv = skv_csv_col(&t, "batch_invariant_predicted"), pol = skv_csv_col(&t, "policy"),
                b = skv_csv_col(&t, "batch");
  for (int64_t r = 0; r < t.nrows; r++) {
    ck_assert_str_eq(skv_csv_get(&t, r, mode), "sim");
    ck_assert_str_eq(skv_csv_get(&t, r, total), ""); /* nothing measured */
    ck_assert(atof(skv_csv_get(&t, r, pred)) > 0);
    ck_assert_str_eq(skv_csv_get(&t, r, ref), "plan-cpu");
    ck_assert(atof(skv_csv_get(&t, r, e)) < 1e-12);
    /* the simulator's batch-invariance statement: fixed yes, fa2 here (700 tokens: 1 block each) too */
    if (strcmp(skv_csv_get(&t, r, b), "3") == 0 && strcmp(skv_csv_get(&t, r, pol), "fixed") == 0)
      ck_assert_str_eq(skv_csv_get(&t, r, inv), "yes");
  }
  skv_csv_free(&t);
  struct stat st;
  ck_assert(stat(skv_test_tmp_path("run/plots/latency_vs_seqlen.png"), &st) == 0 && st.st_size > 0);
  ck_assert(stat(skv_test_tmp_path("run/plots/error.svg"), &st) == 0 && st.st_size > 0);
  ck_assert(stat(skv_test_tmp_path("run/results.csv.tmp"), &st) != 0 && stat(skv_test_tmp_path("run/meta.json.tmp"), &st) != 0);
  FILE *m = fopen(skv_test_tmp_path("run/meta.json"), "r");
  ck_assert(m);
  char meta[8192];
  size_t n = fread(meta, 1, sizeof meta - 1, m);
  meta[n] = '\0';
  fclose(m);
  ck_assert(strstr(meta, "\"complete\": true") && strstr(meta, "\"mode\": \"sim\"") &&
            strstr(meta, "\"predicted_columns\"") && strstr(meta, "\"suite_hash_fnv1a64\""));
}
END_TEST

START_TEST(resume_runs_only_the_missing_configurations) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", skv_test_tmp_path("t.yaml"),
           skv_test_tmp_path("run"));
  /* Interrupted (SIGINT) after 4 of the 6 configurations. */
  setenv("SKV_TEST_INTERRUPT_AFTER", "4", 1);
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 130);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  /* Without --resume the run refuses to overwrite. */
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert(strstr(err, "--resume"));
  strcat(args, " --resume");
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  ck_assert(strstr(err, "[5/6]") && strstr(err, "[6/6]") && !strstr(err, "[1/6]"));
  skv_csv_table t;
  ck_assert(skv_csv_load(skv_test_tmp_path("run/results.csv"), &t, err, sizeof err));
  ck_assert_int_eq(t.nrows, 6);
  skv_csv_free(&t);
}
END_TEST

START_TEST(bad_suites_fail_with_a_position_before_any_work) {
  char err[4096], args[1024];
  skv_test_write_file(skv_test_tmp_path("bad.yaml"), "name: t\ndescription: x\nsweep:\n  seqlen: [100]\n  policy: [fa2]\n  bach: [2]\n");
  snprintf(args, sizeof args, "run %s --sim-only --out %s", skv_test_tmp_path("bad.yaml"), skv_test_tmp_path("run"));
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "bad.yaml:6:3:"), "%s", err);
  struct stat st;
  ck_assert(stat(skv_test_tmp_path("run"), &st) != 0); /* nothing written */
  /* A configuration the planner refuses (FlashInfer's fixed split over a graph's padding), by name. */
  skv_test_write_file(skv_test_tmp_path("bad2.yaml"), "name: t\ndescription: x\ndefaults: {hq: 32, hkv: 8}\nsweep:\n  batch: [8]\n"
                                    "  seqlen: [65536]\n  policy: [{name: flashinfer, fixed_split_pages: 8, cuda_graph: true}]\n");
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", skv_test_tmp_path("bad2.yaml"),
           skv_test_tmp_path("run"));
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "configuration 'b8-L65536-flashinfer") && strstr(err, "padded batch"), "%s", err);
  ck_assert(stat(skv_test_tmp_path("run"), &st) != 0);
  /* The documented longest seqlen needs more pages than 32-bit ids name; a query longer than its
   * KV: both refused at the sweep, before the run directory. */
  skv_test_write_file(skv_test_tmp_path("bad3.yaml"), "name: t\ndescription: x\nsweep:\n  seqlen: [1099511627776]\n  policy: [none]\n");
  ck_assert_int_eq(run_suite("bad3.yaml", "--sim-only", err, sizeof err), 2);
  ck_assert_msg(strstr(err, "bad3.yaml:4:3: configuration 'b1-L1099511627776-none'") && strstr(err, "page ids"), "%s",
                err);
  ck_assert(stat(skv_test_tmp_path("run"), &st) != 0);
  skv_test_write_file(skv_test_tmp_path("bad4.yaml"), "name: t\ndescription: x\ndefaults: {qlen: 5000}\nsweep:\n  seqlen: [100]\n"
                                    "  policy: [none]\n");
  ck_assert_int_eq(run_suite("bad4.yaml", "--sim-only", err, sizeof err), 2);
  ck_assert_msg(strstr(err, "bad4.yaml:5:3: configuration 'b1-L100-none': qlen 5000 is longer"), "%s", err);
  ck_assert(stat(skv_test_tmp_path("run"), &st) != 0);
  ck_assert_int_eq(run_cmd("run", err, sizeof err), 2);
  ck_assert_int_eq(run_cmd("run a.yaml --no-cupti --trace x.json", err, sizeof err), 2);
}
END_TEST

/* Each configuration the GPU kernels refuse (sim/support.h): a simulated run takes it, warns with
 * the sweep's position, and says "no" in gpu_supported; the one they run says "yes". */
START_TEST(sim_run_flags_every_configuration_the_gpu_would_refuse) {
  skv_test_write_file(skv_test_tmp_path("g.yaml"),
             "name: g\n"
             "description: x\n"
             "sweep:\n"
             "  points:\n"
             "    - {hq: 8, hkv: 2, page_size: 16, qlen: 1, q_dtype: bf16, kv_dtype: bf16, v_dtype: same, kv_scale_mode: per_tensor}\n"
             "    - {hq: 8, hkv: 2, page_size: 24, qlen: 1, q_dtype: bf16, kv_dtype: bf16, v_dtype: same, kv_scale_mode: per_tensor}\n"
             "    - {hq: 34, hkv: 2, page_size: 16, qlen: 1, q_dtype: bf16, kv_dtype: bf16, v_dtype: same, kv_scale_mode: per_tensor}\n"
             "    - {hq: 8, hkv: 2, page_size: 16, qlen: 1, q_dtype: fp8_e4m3, kv_dtype: fp8_e4m3, v_dtype: same, kv_scale_mode: per_token_head}\n"
             "    - {hq: 8, hkv: 2, page_size: 16, qlen: 1, q_dtype: bf16, kv_dtype: fp16, v_dtype: same, kv_scale_mode: per_tensor}\n"
             "    - {hq: 8, hkv: 2, page_size: 16, qlen: 1, q_dtype: bf16, kv_dtype: int8, v_dtype: fp16, kv_scale_mode: per_tensor}\n"
             "  seqlen: [64]\n"
             "  policy: [none]\n"
             "plots: [error]\n");
  char err[8192];
  ck_assert_msg(run_suite("g.yaml", "--sim-only", err, sizeof err) == 0, "%s", err);
  static const char *const reasons[] = {
      "a power-of-two page size", "a GQA group (hq/hkv) of at most 16",
      "fp8_e4m3 queries with per_tensor KV scales only", "a fp16 cache with fp16 queries only",
      "an int8 K cache's 16-bit V in the queries' type",
  };
  char want[256];
  snprintf(want, sizeof want, "%s:4:3: warning: configuration '", skv_test_tmp_path("g.yaml"));
  ck_assert_msg(skv_test_count(err, want) == 5, "%s", err);
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) ck_assert_msg(strstr(err, reasons[i]), "%s", reasons[i]);
  skv_csv_table t;
  ck_assert_msg(skv_csv_load(skv_test_tmp_path("run/results.csv"), &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.nrows, 6);
  const int32_t g = skv_csv_col(&t, "gpu_supported");
  ck_assert_int_ge(g, 0);
  for (int64_t r = 0; r < t.nrows; r++) ck_assert_str_eq(skv_csv_get(&t, r, g), r == 0 ? "yes" : "no");
  skv_csv_free(&t);
}
END_TEST

/* --trace and --dump are checked before the run directory exists: a path that cannot be written
 * exits 2, and so does --trace where no kernel runs (it would write nothing). */
START_TEST(outputs_are_checked_before_the_run_directory_exists) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), suite_text);
  skv_test_write_file(skv_test_tmp_path("file"), "not a directory\n");
  static const struct {
    const char *flags, *needle;
  } bad[] = {
      {"--dump %s/file/dump --sim-only", "--dump: "},
      {"--dump %s/file --sim-only", "--dump: "},
      {"--trace %s/missing/trace.json", "--trace: "},
      {"--trace %s/file/trace.json", "--trace: "},
      {"--trace %s", "is a directory"},
      {"--trace %s/trace.json --sim-only", "--trace: --sim-only runs no kernels, so there is nothing to trace"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char flags[600], err[4096];
    snprintf(flags, sizeof flags, bad[i].flags, skv_test_tmpdir());
    ck_assert_msg(run_suite("t.yaml", flags, err, sizeof err) == 2, "%s: %s", flags, err);
    ck_assert_msg(strstr(err, bad[i].needle), "%s: %s", flags, err);
    struct stat st;
    ck_assert_msg(stat(skv_test_tmp_path("run"), &st) != 0, "%s: the run directory was made", flags);
    ck_assert(stat(skv_test_tmp_path("trace.json"), &st) != 0);
  }
}
END_TEST

/* A zero KV length has no place on a log axis: every plot is still drawn, and nothing is left
 * half-written. */
START_TEST(zero_length_configurations_draw_every_plot) {
  skv_test_write_file(skv_test_tmp_path("z.yaml"), "name: z\ndescription: x\nsweep:\n  seqlen: [0]\n"
                                 "  policy: [none, fa2, {name: fa2, num_splits: 2}]\n"
                                 "plots: [latency_vs_seqlen, bandwidth_fraction, predicted_vs_measured, error,"
                                 " splits_heuristic, quant_error, lse_layout]\n");
  char err[4096], args[1024];
  ck_assert_msg(run_suite("z.yaml", "--sim-only", err, sizeof err) == 0, "%s", err);
  static const char *const plots[] = {"latency_vs_seqlen", "bandwidth_fraction", "predicted_vs_measured", "error",
                                      "splits_heuristic",  "quant_error",        "lse_layout"};
  for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++)
    for (int k = 0; k < 2; k++) {
      char p[256];
      snprintf(p, sizeof p, "run/plots/%s.%s", plots[i], k ? "svg" : "png");
      struct stat st;
      ck_assert_msg(stat(skv_test_tmp_path(p), &st) == 0 && st.st_size > 0, "%s", p);
    }
  snprintf(args, sizeof args, "ls %s | grep -q tmp", skv_test_tmp_path("run/plots"));
  ck_assert_int_ne(system(args), 0);
}
END_TEST

/* A plot gnuplot fails on fails the run (exit 1), leaves no temporary output, and does not keep
 * the plots after it from being drawn. gnuplot here is a stand-in that fails on the first plot. */
START_TEST(a_failed_plot_fails_the_run_and_the_others_are_drawn) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), suite_text); /* plots: latency_vs_seqlen, error */
  ck_assert_int_eq(mkdir(skv_test_tmp_path("bin"), 0755), 0);
  skv_test_write_file(skv_test_tmp_path("bin/gnuplot"), "#!/bin/sh\n"
                                      "n=${1%.gp}\n"
                                      ": > \"$n.png.tmp\"\n"
                                      "[ \"$n\" = latency_vs_seqlen ] && exit 1\n"
                                      ": > \"$n.svg.tmp\"\n");
  ck_assert_int_eq(chmod(skv_test_tmp_path("bin/gnuplot"), 0755), 0);
  char path[4096];
  snprintf(path, sizeof path, "%s:%s", skv_test_tmp_path("bin"), getenv("PATH"));
  ck_assert_int_eq(setenv("PATH", path, 1), 0);
  char err[4096];
  const int rc = run_suite("t.yaml", "--sim-only", err, sizeof err);
  ck_assert_int_eq(setenv("PATH", strchr(path, ':') + 1, 1), 0);
  ck_assert_msg(rc == 1 && strstr(err, "gnuplot latency_vs_seqlen.gp failed"), "exit %d: %s", rc, err);
  struct stat st;
  ck_assert(stat(skv_test_tmp_path("run/plots/error.png"), &st) == 0 && stat(skv_test_tmp_path("run/plots/error.svg"), &st) == 0);
  ck_assert(stat(skv_test_tmp_path("run/plots/latency_vs_seqlen.png.tmp"), &st) != 0);
  ck_assert(stat(skv_test_tmp_path("run/plots/latency_vs_seqlen.png"), &st) != 0);
}
END_TEST

START_TEST(dump_writes_npy_inputs_outputs_and_the_plan) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --dump %s --gpus ../experiments/gpus.yaml",
           skv_test_tmp_path("t.yaml"), skv_test_tmp_path("run"), skv_test_tmp_path("dump"));
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  static const char *files[] = {"q.npy", "k_pages.npy", "v_pages.npy", "page_table.npy", "page_indptr.npy",
                                "kv_lens.npy", "o.npy", "lse.npy", "plan.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[600];
    snprintf(p, sizeof p, "dump/b3-L700-fixed-ss128/%s", files[i]);
    struct stat st;
    ck_assert_msg(stat(skv_test_tmp_path(p), &st) == 0 && st.st_size > 0, "%s", p);
  }
  /* kv_lens.npy: 3 requests of 700 tokens, int64 after a 64-byte-aligned header */
  FILE *f = fopen(skv_test_tmp_path("dump/b3-L700-fixed-ss128/kv_lens.npy"), "rb");
  ck_assert(f);
  unsigned char h[128];
  ck_assert_int_eq(fread(h, 1, 10, f), 10);
  const int hl = h[8] | h[9] << 8;
  ck_assert_int_eq((10 + hl) % 64, 0);
  ck_assert_int_eq(fread(h + 10, 1, (size_t)hl, f), (size_t)hl);
  ck_assert(strstr((char *)h + 10, "'descr': '<i8'") && strstr((char *)h + 10, "'shape': (3,)"));
  long long v[3];
  ck_assert_int_eq(fread(v, 8, 3, f), 3);
  ck_assert(v[0] == 700 && v[1] == 700 && v[2] == 700);
  fclose(f);
}
END_TEST

START_TEST(npy_header_is_numpy_format_1_0) {
  const int64_t shape[2] = {2, 3};
  const float data[6] = {1, 2, 3, 4, 5, 6};
  char err[256];
  ck_assert(skv_npy_write(skv_test_tmp_path("a.npy"), "<f4", shape, 2, data, 4, err, sizeof err));
  FILE *f = fopen(skv_test_tmp_path("a.npy"), "rb");
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0);
  const int hl = buf[8] | buf[9] << 8;
  ck_assert_int_eq(n, (size_t)(10 + hl + 24));
  ck_assert_int_eq(buf[10 + hl - 1], '\n');
  ck_assert(strstr((char *)buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  ck_assert(memcmp(buf + 10 + hl, data, 24) == 0);
}
END_TEST

START_TEST(an_atomic_write_that_fails_keeps_the_old_file_and_leaves_no_temporary) {
  char err[1300], text[16] = {0};
  struct stat st;
  ck_assert_msg(skv_write_file_atomic(skv_test_tmp_path("f.txt"), "old", 3, err, sizeof err), "%s", err);
  skv_atomic_file a;
  ck_assert_msg(skv_atomic_open(&a, skv_test_tmp_path("f.txt"), err, sizeof err), "%s", err);
  fputs("half", a.f);
  ck_assert(!skv_atomic_commit(&a, false, err, sizeof err)); /* the writer gave up */
  ck_assert(stat(skv_test_tmp_path("f.txt.tmp"), &st) != 0);
  FILE *f = fopen(skv_test_tmp_path("f.txt"), "r");
  ck_assert(f != NULL);
  ck_assert_int_eq(fread(text, 1, sizeof text - 1, f), 3);
  fclose(f);
  ck_assert_str_eq(text, "old");
  /* a directory that does not exist: the message names the temporary */
  ck_assert(!skv_write_file_atomic(skv_test_tmp_path("no/f.txt"), "x", 1, err, sizeof err));
  char want[600];
  snprintf(want, sizeof want, "%s: No such file or directory", skv_test_tmp_path("no/f.txt.tmp"));
  ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(points_zip_keys_and_the_sweep_multiplies_them) {
  skv_test_write_file(skv_test_tmp_path("p.yaml"), "name: p\ndescription: x\nsweep:\n  hkv: [1, 2]\n  points:\n    - {batch: 1, seqlen: 10}\n"
                                 "    - {batch: 4, seqlen: 20}\n    - {batch: 2, seqlen: {dist: list, values: [5, 6]}}\n"
                                 "  policy: [none]\n");
  skv_suite s;
  char err[512];
  ck_assert_msg(skv_suite_load(skv_test_tmp_path("p.yaml"), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.nconfigs, 6);
  ck_assert_int_eq(s.configs[1].batch, 4);
  ck_assert_int_eq(s.configs[1].seqlen.value, 20);
  ck_assert_int_eq(s.configs[1].hkv, 1);
  ck_assert_int_eq(s.configs[5].seqlen.values[1], 6);
  ck_assert_int_eq(s.configs[5].hkv, 2);
  ck_assert_str_eq(s.configs[0].name, "b1-L10-none-hkv1");
  skv_suite_free(&s);
  /* points may not repeat a sweep key, must set the same keys everywhere, and need seqlen somewhere */
  skv_test_write_file(skv_test_tmp_path("p2.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {batch: 1, seqlen: 10}\n"
                                  "    - {batch: 4}\n  policy: [none]\n");
  ck_assert(!skv_suite_load(skv_test_tmp_path("p2.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "p2.yaml:6:7: points: every point sets the same keys"), "%s", err);
  skv_test_write_file(skv_test_tmp_path("p3.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {batch: 1}\n  policy: [none]\n");
  ck_assert(!skv_suite_load(skv_test_tmp_path("p3.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "seqlen"), "%s", err);
  skv_test_write_file(skv_test_tmp_path("p4.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {policy: fa2, seqlen: 3}\n"
                                  "  policy: [none]\n");
  ck_assert(!skv_suite_load(skv_test_tmp_path("p4.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "'policy' cannot be set in a point"), "%s", err);
}
END_TEST

/* A row fails its run when a check the suite asked for did not run, or failed (runner/row.c). */
START_TEST(a_row_fails_when_an_asked_check_did_not_run_or_failed) {
  skv_suite s;
  memset(&s, 0, sizeof s);
  s.check_reference = s.check_bitwise_repeat = s.check_batch_invariance = true;
  skv_config c;
  memset(&c, 0, sizeof c);
  c.q_dtype = SKV_BF16;
  skv_run_row ok;
  skv_run_row_init(&ok);
  ok.batch = 4;
  snprintf(ok.reference, sizeof ok.reference, "cpu-double");
  ok.o_rel_err = 3e-3;
  ok.unwritten = 0;
  ok.bitwise_repeat = ok.batch_invariant = ok.batch_invariant_predicted = SKV_CHECK_YES;
  ck_assert(!skv_row_failed(&ok, &s, true, &c));
  skv_run_row r = ok; /* the reference check asked for and not run */
  snprintf(r.reference, sizeof r.reference, "none");
  ck_assert(skv_row_failed(&r, &s, true, &c));
  ck_assert(skv_row_failed(&r, &s, false, &c));
  s.check_reference = false;
  ck_assert(!skv_row_failed(&r, &s, true, &c));
  s.check_reference = true;
  r = ok; /* a measured run without its bitwise repeat; a simulated one has none to miss */
  r.bitwise_repeat = SKV_CHECK_NA;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  ck_assert(!skv_row_failed(&r, &s, false, &c));
  r = ok; /* batch invariance asked of a batch of 4, not run */
  r.batch_invariant = SKV_CHECK_NA;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  r.batch = 1; /* a batch of one has no other requests: nothing to run */
  ck_assert(!skv_row_failed(&r, &s, true, &c));
  r = ok; /* the configuration has an LSE layout to check, the run did not check it */
  r.lse_correct_predicted = SKV_CHECK_NO;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  r.lse_correct = SKV_CHECK_NO; /* checked: the GPU does what the simulator predicts */
  ck_assert(!skv_row_failed(&r, &s, true, &c));
  r = ok; /* failed checks */
  r.o_rel_err = 2e-2;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  c.q_dtype = SKV_FP16;
  r.o_rel_err = 3e-3;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  c.q_dtype = SKV_BF16;
  r = ok;
  r.unwritten = 1;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  r = ok;
  r.bitwise_repeat = SKV_CHECK_NO;
  ck_assert(skv_row_failed(&r, &s, true, &c));
  r = ok;
  r.batch_invariant = SKV_CHECK_NO; /* predicted yes */
  ck_assert(skv_row_failed(&r, &s, true, &c));
}
END_TEST

Suite *skv_suite_run(void) {
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("sim");
  tcase_add_checked_fixture(tc, skv_test_tmpdir_setup, skv_test_tmpdir_teardown);
  tcase_add_test(tc, sim_run_writes_rows_meta_and_plots);
  tcase_add_test(tc, resume_runs_only_the_missing_configurations);
  tcase_add_test(tc, bad_suites_fail_with_a_position_before_any_work);
  tcase_add_test(tc, sim_run_flags_every_configuration_the_gpu_would_refuse);
  tcase_add_test(tc, outputs_are_checked_before_the_run_directory_exists);
  tcase_add_test(tc, zero_length_configurations_draw_every_plot);
  tcase_add_test(tc, a_failed_plot_fails_the_run_and_the_others_are_drawn);
  tcase_add_test(tc, dump_writes_npy_inputs_outputs_and_the_plan);
  tcase_add_test(tc, npy_header_is_numpy_format_1_0);
  tcase_add_test(tc, an_atomic_write_that_fails_keeps_the_old_file_and_leaves_no_temporary);
  tcase_add_test(tc, points_zip_keys_and_the_sweep_multiplies_them);
  tcase_add_test(tc, a_row_fails_when_an_asked_check_did_not_run_or_failed);
  suite_add_tcase(s, tc);
  return s;
}
