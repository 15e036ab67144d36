/* check_shard.c — suites sharded across processes (`skv run --shard I/N`) and joined again (`skv
 * merge`): the merged run equals the unsharded one row for row (the run id aside), and shards that do
 * not make one whole run are refused. Simulated runs: what is checked is the bookkeeping. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/csv.h"
#include "skv_cmd.h"
#include "suites.h"
#include "tmpdir.h"

/* Six configurations: batch 1, 2, 3 x policy fa2, lab. */
static const char suite_text[] = "name: shards\ndescription: x\ndefaults: {hq: 8, hkv: 2, head_dim: 64}\n"
                                 "sweep: {batch: [1, 2, 3], seqlen: 300, policy: [fa2, lab]}\n";

static int skv(const char *fmt, const char *a, const char *b, char *err, size_t errlen) {
  char args[2048], out[1 << 16];
  snprintf(args, sizeof args, fmt, a, b);
  return skv_test_run(args, out, sizeof out, err, errlen);
}

static void load(const char *dir, skv_csv_table *t) {
  char p[1100], err[512];
  snprintf(p, sizeof p, "%s/results.csv", dir);
  ck_assert_msg(skv_csv_load(p, t, err, sizeof err), "%s", err);
}

START_TEST(shards_merge_into_the_unsharded_run) {
  char suite[512], err[8192];
  snprintf(suite, sizeof suite, "%s", skv_test_tmp_path("s.yaml"));
  skv_test_write_file(suite, suite_text);
  char dirs[4][512], all[512], merged[512];
  for (int i = 0; i < 4; i++) {
    char name[32], shard[32];
    snprintf(name, sizeof name, "shard%d", i);
    snprintf(dirs[i], sizeof dirs[i], "%s", skv_test_tmp_path(name));
    snprintf(shard, sizeof shard, "%d/4", i);
    char args[2048], out[1 << 16];
    snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --shard %s --out %s", suite, shard, dirs[i]);
    ck_assert_msg(skv_test_run(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
  }
  snprintf(all, sizeof all, "%s", skv_test_tmp_path("all"));
  ck_assert_msg(skv("run %s --sim-only --gpus ../experiments/gpus.yaml --out %s", suite, all, err, sizeof err) == 0, "%s", err);
  /* shard 0 of 4 holds positions 0 and 4 */
  skv_csv_table t;
  load(dirs[0], &t);
  ck_assert_int_eq(t.nrows, 2);
  ck_assert_str_eq(skv_csv_get(&t, 0, skv_csv_col(&t, "config")), "b1-L300-fa2");
  ck_assert_str_eq(skv_csv_get(&t, 1, skv_csv_col(&t, "config")), "b3-L300-fa2");
  skv_csv_free(&t);
  snprintf(merged, sizeof merged, "%s", skv_test_tmp_path("merged"));
  char args[4096], out[1 << 16];
  snprintf(args, sizeof args, "merge %s %s %s %s --out %s", dirs[3], dirs[1], dirs[0], dirs[2], merged);
  ck_assert_msg(skv_test_run(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
  skv_csv_table a, b;
  load(all, &a);
  load(merged, &b);
  ck_assert_int_eq(a.nrows, 6);
  ck_assert_int_eq(b.nrows, a.nrows);
  ck_assert_int_eq(b.ncols, a.ncols);
  const int32_t rid = skv_csv_col(&a, "run_id");
  for (int64_t r = 0; r < a.nrows; r++)
    for (int32_t c = 0; c < a.ncols; c++)
      if (c != rid)
        ck_assert_msg(strcmp(skv_csv_get(&a, r, c), skv_csv_get(&b, r, c)) == 0, "row %lld column %s: '%s' vs '%s'",
                      (long long)r + 1, a.header[c], skv_csv_get(&a, r, c), skv_csv_get(&b, r, c));
  skv_csv_free(&a);
  skv_csv_free(&b);
  char p[1100];
  snprintf(p, sizeof p, "%s/meta.json", merged);
  json_error_t je;
  json_t *m = json_load_file(p, 0, &je);
  ck_assert(m != NULL);
  ck_assert_int_eq(json_integer_value(json_object_get(m, "configurations")), 6);
  ck_assert(json_is_true(json_object_get(m, "complete")));
  ck_assert(json_object_get(m, "shard") == NULL);
  ck_assert_int_eq(json_array_size(json_object_get(m, "merged_from")), 4);
  json_decref(m);
  snprintf(p, sizeof p, "%s/summary.md", merged);
  ck_assert(access(p, F_OK) == 0);
  snprintf(p, sizeof p, "%s/report.html", merged);
  ck_assert(access(p, F_OK) == 0);
  /* refused: a shard missing, a shard twice, an output that holds a run */
  snprintf(args, sizeof args, "merge %s %s %s --out %s", dirs[0], dirs[1], dirs[2], skv_test_tmp_path("m2"));
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "but 3 folders were given"), "%s", err);
  snprintf(args, sizeof args, "merge %s %s %s %s --out %s", dirs[0], dirs[1], dirs[2], dirs[2], skv_test_tmp_path("m3"));
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "are both shard 2"), "%s", err);
  snprintf(args, sizeof args, "merge %s %s %s %s --out %s", dirs[0], dirs[1], dirs[2], dirs[3], merged);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "holds a run"), "%s", err);
  /* an unsharded run is not a shard */
  snprintf(args, sizeof args, "merge %s --out %s", all, skv_test_tmp_path("m4"));
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "is not a shard"), "%s", err);
}
END_TEST

START_TEST(shard_flags_are_checked_before_any_work) {
  char suite[512], err[8192];
  snprintf(suite, sizeof suite, "%s", skv_test_tmp_path("s.yaml"));
  skv_test_write_file(suite, suite_text);
  static const char *const bad[] = {"4/4", "-1/3", "1/0", "a/3", "1/3x", "1"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ck_assert_int_eq(skv("run %s --sim-only --gpus ../experiments/gpus.yaml --shard %s", suite, bad[k], err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--shard: '"), "%s: %s", bad[k], err);
  }
  /* 6 configurations: shard 7 of 10 holds none */
  ck_assert_int_eq(skv("run %s --sim-only --gpus ../experiments/gpus.yaml --shard 7/10 --out %s", suite, skv_test_tmp_path("none"), err, sizeof err), 2);
  ck_assert_msg(strstr(err, "no configuration of the suite's 6 is in it"), "%s", err);
  /* a shard resumed as another shard, or as the whole suite */
  const char *dir = skv_test_tmp_path("one");
  setenv("SKV_TEST_INTERRUPT_AFTER", "1", 1);
  char args[2048], out[1 << 16];
  snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --shard 0/2 --out %s", suite, dir);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 130);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --shard 1/2 --out %s --resume", suite, dir);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "resume it with the same --shard"), "%s", err);
  snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --out %s --resume", suite, dir);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --shard 0/2 --out %s --resume", suite, dir);
  ck_assert_msg(skv_test_run(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
}
END_TEST

/* --devices: one child per device listed, each a shard, merged into --out: the same rows as the
 * unsharded run; the flag's refusals. */
START_TEST(devices_run_the_shards_at_once_and_merge_them) {
  char suite[512], err[8192], args[2048], out[1 << 16];
  snprintf(suite, sizeof suite, "%s", skv_test_tmp_path("s.yaml"));
  skv_test_write_file(suite, suite_text);
  char all[512], dev[512];
  snprintf(all, sizeof all, "%s", skv_test_tmp_path("all"));
  snprintf(dev, sizeof dev, "%s", skv_test_tmp_path("dev"));
  ck_assert_msg(skv("run %s --sim-only --gpus ../experiments/gpus.yaml --out %s", suite, all, err, sizeof err) == 0, "%s",
                err);
  snprintf(args, sizeof args, "run %s --sim-only --gpus ../experiments/gpus.yaml --devices 0,1,2 --out %s", suite, dev);
  ck_assert_msg(skv_test_run(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(strstr(out, "## shards — simulated"), "the merged summary is printed: %s", out);
  skv_csv_table a, b;
  load(all, &a);
  load(dev, &b);
  ck_assert_int_eq(b.nrows, a.nrows);
  const int32_t rid = skv_csv_col(&a, "run_id");
  for (int64_t r = 0; r < a.nrows; r++)
    for (int32_t c = 0; c < a.ncols; c++)
      if (c != rid) ck_assert_str_eq(skv_csv_get(&a, r, c), skv_csv_get(&b, r, c));
  skv_csv_free(&a);
  skv_csv_free(&b);
  static const struct { const char *flags, *want; } bad[] = {
      {"--devices 0,1", "needs --out DIR"},
      {"--devices 0,0 --out X", "device 0 is listed twice"},
      {"--devices 0,x --out X", "is not a list"},
      {"--devices 0,1 --shard 0/2 --out X", "not with --shard"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    snprintf(args, sizeof args, "run %s --sim-only %s", suite, bad[k].flags);
    ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, bad[k].want), "%s: %s", bad[k].flags, err);
  }
}
END_TEST

Suite *skv_suite_sharding(void) {
  Suite *s = suite_create("shard");
  TCase *tc = tcase_create("shard+merge");
  tcase_add_checked_fixture(tc, skv_test_tmpdir_setup, skv_test_tmpdir_teardown);
  tcase_add_test(tc, shards_merge_into_the_unsharded_run);
  tcase_add_test(tc, shard_flags_are_checked_before_any_work);
  tcase_add_test(tc, devices_run_the_shards_at_once_and_merge_them);
  suite_add_tcase(s, tc);
  return s;
}
