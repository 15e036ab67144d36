/* check_run.c — `skv run` in sim mode: results, resume, dump, errors before any work; npy and points. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "csv_table.h"
#include "npy.h"
#include "skv_cmd.h"
#include "suite.h"
#include "suites.h"

static char tmpdir[256];

static const char *tmp_path(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert(f);
  fputs(text, f);
  fclose(f);
}

/* skv ARGS: its exit code, its stderr in errbuf (its stdout is not looked at). */
static int run_cmd(const char *args, char *errbuf, size_t errlen) {
  static char out[1 << 16];
  return skv_test_run(args, out, sizeof out, errbuf, errlen);
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

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/skv-run-test-XXXXXX");
  ck_assert(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(sim_run_writes_rows_meta_and_plots) {
  write_file(tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", tmp_path("t.yaml"),
           tmp_path("run"));
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  skv_csv_table t;
  ck_assert_msg(skv_csv_load(tmp_path("run/results.csv"), &t, err, sizeof err), "%s", err);
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
  ck_assert(stat(tmp_path("run/plots/latency_vs_seqlen.png"), &st) == 0 && st.st_size > 0);
  ck_assert(stat(tmp_path("run/plots/error.svg"), &st) == 0 && st.st_size > 0);
  ck_assert(stat(tmp_path("run/results.csv.tmp"), &st) != 0); /* nothing half-written left */
  FILE *m = fopen(tmp_path("run/meta.json"), "r");
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
  write_file(tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", tmp_path("t.yaml"),
           tmp_path("run"));
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  /* Cut the last two rows, as an interrupted run would have left them. */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "head -n 5 %s > %s.cut && mv %s.cut %s", tmp_path("run/results.csv"),
           tmp_path("run/results.csv"), tmp_path("run/results.csv"), tmp_path("run/results.csv"));
  ck_assert_int_eq(system(cmd), 0);
  /* Without --resume the run refuses to overwrite. */
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert(strstr(err, "--resume"));
  strcat(args, " --resume");
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  ck_assert(strstr(err, "[5/6]") && strstr(err, "[6/6]") && !strstr(err, "[1/6]"));
  skv_csv_table t;
  ck_assert(skv_csv_load(tmp_path("run/results.csv"), &t, err, sizeof err));
  ck_assert_int_eq(t.nrows, 6);
  skv_csv_free(&t);
}
END_TEST

START_TEST(bad_suites_fail_with_a_position_before_any_work) {
  char err[4096], args[1024];
  write_file(tmp_path("bad.yaml"), "name: t\ndescription: x\nsweep:\n  seqlen: [100]\n  policy: [fa2]\n  bach: [2]\n");
  snprintf(args, sizeof args, "run %s --sim-only --out %s", tmp_path("bad.yaml"), tmp_path("run"));
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "bad.yaml:6:3:"), "%s", err);
  struct stat st;
  ck_assert(stat(tmp_path("run"), &st) != 0); /* nothing written */
  /* A configuration the planner refuses (FlashInfer's fixed split over a graph's padding), by name. */
  write_file(tmp_path("bad2.yaml"), "name: t\ndescription: x\ndefaults: {hq: 32, hkv: 8}\nsweep:\n  batch: [8]\n"
                                    "  seqlen: [65536]\n  policy: [{name: flashinfer, fixed_split_pages: 8, cuda_graph: true}]\n");
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml", tmp_path("bad2.yaml"),
           tmp_path("run"));
  ck_assert_int_eq(run_cmd(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "configuration 'b8-L65536-flashinfer") && strstr(err, "padded batch"), "%s", err);
  ck_assert(stat(tmp_path("run"), &st) != 0);
  ck_assert_int_eq(run_cmd("run", err, sizeof err), 2);
  ck_assert_int_eq(run_cmd("run a.yaml --no-cupti --trace x.json", err, sizeof err), 2);
}
END_TEST

START_TEST(dump_writes_npy_inputs_outputs_and_the_plan) {
  write_file(tmp_path("t.yaml"), suite_text);
  char err[4096], args[1024];
  snprintf(args, sizeof args, "run %s --sim-only --out %s --dump %s --gpus ../experiments/gpus.yaml",
           tmp_path("t.yaml"), tmp_path("run"), tmp_path("dump"));
  ck_assert_msg(run_cmd(args, err, sizeof err) == 0, "%s", err);
  static const char *files[] = {"q.npy", "k_pages.npy", "v_pages.npy", "page_table.npy", "page_indptr.npy",
                                "kv_lens.npy", "o.npy", "lse.npy", "plan.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p[600];
    snprintf(p, sizeof p, "dump/b3-L700-fixed-ss128/%s", files[i]);
    struct stat st;
    ck_assert_msg(stat(tmp_path(p), &st) == 0 && st.st_size > 0, "%s", p);
  }
  /* kv_lens.npy: 3 requests of 700 tokens, int64 after a 64-byte-aligned header */
  FILE *f = fopen(tmp_path("dump/b3-L700-fixed-ss128/kv_lens.npy"), "rb");
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
  ck_assert(skv_npy_write(tmp_path("a.npy"), "<f4", shape, 2, data, 4, err, sizeof err));
  FILE *f = fopen(tmp_path("a.npy"), "rb");
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
  ck_assert_msg(skv_write_file_atomic(tmp_path("f.txt"), "old", 3, err, sizeof err), "%s", err);
  skv_atomic_file a;
  ck_assert_msg(skv_atomic_open(&a, tmp_path("f.txt"), err, sizeof err), "%s", err);
  fputs("half", a.f);
  ck_assert(!skv_atomic_commit(&a, false, err, sizeof err)); /* the writer gave up */
  ck_assert(stat(tmp_path("f.txt.tmp"), &st) != 0);
  FILE *f = fopen(tmp_path("f.txt"), "r");
  ck_assert(f != NULL);
  ck_assert_int_eq(fread(text, 1, sizeof text - 1, f), 3);
  fclose(f);
  ck_assert_str_eq(text, "old");
  /* a directory that does not exist: the message names the temporary */
  ck_assert(!skv_write_file_atomic(tmp_path("no/f.txt"), "x", 1, err, sizeof err));
  char want[600];
  snprintf(want, sizeof want, "%s: No such file or directory", tmp_path("no/f.txt.tmp"));
  ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(points_zip_keys_and_the_sweep_multiplies_them) {
  write_file(tmp_path("p.yaml"), "name: p\ndescription: x\nsweep:\n  hkv: [1, 2]\n  points:\n    - {batch: 1, seqlen: 10}\n"
                                 "    - {batch: 4, seqlen: 20}\n    - {batch: 2, seqlen: {dist: list, values: [5, 6]}}\n"
                                 "  policy: [none]\n");
  skv_suite s;
  char err[512];
  ck_assert_msg(skv_suite_load(tmp_path("p.yaml"), &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.nconfigs, 6);
  ck_assert_int_eq(s.configs[1].batch, 4);
  ck_assert_int_eq(s.configs[1].seqlen.value, 20);
  ck_assert_int_eq(s.configs[1].hkv, 1);
  ck_assert_int_eq(s.configs[5].seqlen.values[1], 6);
  ck_assert_int_eq(s.configs[5].hkv, 2);
  ck_assert_str_eq(s.configs[0].name, "b1-L10-none-hkv1");
  skv_suite_free(&s);
  /* points may not repeat a sweep key, must set the same keys everywhere, and need seqlen somewhere */
  write_file(tmp_path("p2.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {batch: 1, seqlen: 10}\n"
                                  "    - {batch: 4}\n  policy: [none]\n");
  ck_assert(!skv_suite_load(tmp_path("p2.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "p2.yaml:6:7: points: every point sets the same keys"), "%s", err);
  write_file(tmp_path("p3.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {batch: 1}\n  policy: [none]\n");
  ck_assert(!skv_suite_load(tmp_path("p3.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "seqlen"), "%s", err);
  write_file(tmp_path("p4.yaml"), "name: p\ndescription: x\nsweep:\n  points:\n    - {policy: fa2, seqlen: 3}\n"
                                  "  policy: [none]\n");
  ck_assert(!skv_suite_load(tmp_path("p4.yaml"), &s, err, sizeof err));
  ck_assert_msg(strstr(err, "'policy' cannot be set in a point"), "%s", err);
}
END_TEST

Suite *skv_suite_run(void) {
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("sim");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, sim_run_writes_rows_meta_and_plots);
  tcase_add_test(tc, resume_runs_only_the_missing_configurations);
  tcase_add_test(tc, bad_suites_fail_with_a_position_before_any_work);
  tcase_add_test(tc, dump_writes_npy_inputs_outputs_and_the_plan);
  tcase_add_test(tc, npy_header_is_numpy_format_1_0);
  tcase_add_test(tc, an_atomic_write_that_fails_keeps_the_old_file_and_leaves_no_temporary);
  tcase_add_test(tc, points_zip_keys_and_the_sweep_multiplies_them);
  suite_add_tcase(s, tc);
  return s;
}
