/* check_resume.c — results.csv as RFC 4180, interrupted and resumed runs, the run lock, meta.json's identity. */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/csv.h"
#include "skv_cmd.h"
#include "tmpdir.h"
#include "out/name_index.h"
#include "runner/run_dir.h"
#include "suites.h"


static void teardown(void) {
  skv_test_tmpdir_teardown();
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
}

/* Run skv; its stderr in err (stdout dropped). */
static int run_skv(const char *args, char *err, size_t errlen) {
  static char out[1 << 16];
  return skv_test_run(args, out, sizeof out, err, errlen);
}

/* A suite whose configuration names hold commas (a uniform and a list distribution, as 21 of
 * default.yaml's 63 do): 12 configurations. */
static const char *dist_suite =
    "name: t\n"
    "description: \"names with commas\"\n"
    "defaults: {hq: 8, hkv: 2, head_dim: 64, page_size: 16, seed: 4}\n"
    "sweep:\n"
    "  batch: [1, 3]\n"
    "  seqlen: [{dist: uniform, lo: 1, hi: 900, seed: 5}, {dist: list, values: [100, 700]}, 300]\n"
    "  policy: [fa2, {name: fixed, split_size: 128}]\n"
    "repeat: 3\n"
    "checks: {reference: true}\n"
    "plots: [latency_vs_seqlen]\n";

static void run_args(char *args, size_t len, const char *suite, const char *out, bool resume) {
  snprintf(args, len, "run %s --sim-only --out %s --gpus ../experiments/gpus.yaml%s", skv_test_tmp_path(suite), skv_test_tmp_path(out),
           resume ? " --resume" : "");
}

/* Every row of a results.csv without its run_id (which names the run), in file order, one string per row. */
static char **rows_without_run_id(const char *path, int64_t *n) {
  skv_csv_table t;
  char err[512];
  ck_assert_msg(skv_csv_load(path, &t, err, sizeof err), "%s", err);
  const int32_t id = skv_csv_col(&t, "run_id");
  ck_assert_int_ge(id, 0);
  char **rows = calloc((size_t)t.nrows + 1, sizeof *rows);
  ck_assert(rows);
  for (int64_t r = 0; r < t.nrows; r++) {
    size_t len = 0;
    for (int32_t c = 0; c < t.ncols; c++) len += strlen(skv_csv_get(&t, r, c)) + 1;
    rows[r] = calloc(len + 1, 1);
    ck_assert(rows[r]);
    for (int32_t c = 0; c < t.ncols; c++) {
      if (c == id) continue;
      strcat(rows[r], skv_csv_get(&t, r, c));
      strcat(rows[r], "\x1f");
    }
  }
  *n = t.nrows;
  skv_csv_free(&t);
  return rows;
}

static void free_rows(char **rows, int64_t n) {
  for (int64_t i = 0; i < n; i++) free(rows[i]);
  free(rows);
}

static json_t *load_meta(const char *dir) {
  char p[600];
  snprintf(p, sizeof p, "%s/meta.json", skv_test_tmp_path(dir));
  json_error_t je;
  json_t *m = json_load_file(p, 0, &je);
  ck_assert_msg(m != NULL, "%s: %s", p, je.text);
  return m;
}

static int64_t count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert(f);
  int64_t n = 0;
  for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
  fclose(f);
  return n;
}

START_TEST(csv_fields_with_commas_quotes_and_newlines_round_trip) {
  /* Written by hand from RFC 4180: a field with a comma, quote or line break is quoted, an inner
   * quote doubled. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert(f);
  static const char *fields[] = {"b1-Luniform(1,2000,seed=5)-fa2", "say \"hi\"", "two\nlines", "plain", ""};
  for (int i = 0; i < 5; i++) {
    if (i) fputc(',', f);
    ck_assert(skv_csv_write_field(f, fields[i]));
  }
  fputs("\na,b,c,d,e\r\n", f);
  fclose(f);
  ck_assert_str_eq(buf, "\"b1-Luniform(1,2000,seed=5)-fa2\",\"say \"\"hi\"\"\",\"two\nlines\",plain,\na,b,c,d,e\r\n");
  skv_csv_table t;
  char err[256];
  ck_assert_msg(skv_csv_parse(buf, len, "mem", &t, err, sizeof err), "%s", err);
  ck_assert_int_eq(t.ncols, 5);
  ck_assert_int_eq(t.nrows, 1);
  for (int i = 0; i < 5; i++) ck_assert_str_eq(t.header[i], fields[i]);
  ck_assert_str_eq(skv_csv_get(&t, 0, 4), "e");
  skv_csv_free(&t);
  free(buf);
  /* malformed input is refused with its line */
  static const char *bad[] = {"a,b\n\"x,y\n", "a,b\nx\"y,z\n", "a,b\n\"x\"y,z\n", "a,b\n1,2,3\n"};
  for (int i = 0; i < 4; i++) {
    ck_assert(!skv_csv_parse(bad[i], strlen(bad[i]), "mem", &t, err, sizeof err));
    ck_assert_msg(strstr(err, "mem:2:"), "%s", err);
  }
}
END_TEST

/* README: a second SIGINT ends the run at once. Two signals after 3 configurations: the process
 * dies of the second (the shell reports 130, or the wait status says SIGINT), says nothing about
 * an interruption and leaves meta.json without one; the 3 rows written before are whole, and a
 * resume ends the run equal to an uninterrupted one. */
START_TEST(a_second_sigint_ends_the_run_at_once) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  run_args(args, sizeof args, "t.yaml", "whole", false);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  int64_t nwhole;
  char **whole = rows_without_run_id(skv_test_tmp_path("whole/results.csv"), &nwhole);
  setenv("SKV_TEST_INTERRUPT_AFTER", "3", 1);
  setenv("SKV_TEST_INTERRUPT_SIGNALS", "2", 1);
  run_args(args, sizeof args, "t.yaml", "twice", false);
  const int rc = run_skv(args, err, sizeof err);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  unsetenv("SKV_TEST_INTERRUPT_SIGNALS");
  ck_assert_msg(rc == -1 || rc == 128 + SIGINT, "exit %d: %s", rc, err);
  ck_assert_msg(!strstr(err, "interrupt"), "%s", err);
  json_t *m = load_meta("twice");
  ck_assert(json_is_false(json_object_get(m, "complete")));
  ck_assert_ptr_null(json_object_get(m, "interrupted"));
  json_decref(m);
  int64_t n;
  char **rows = rows_without_run_id(skv_test_tmp_path("twice/results.csv"), &n);
  ck_assert_int_eq(n, 3);
  for (int64_t i = 0; i < n; i++) ck_assert_str_eq(rows[i], whole[i]);
  free_rows(rows, n);
  run_args(args, sizeof args, "t.yaml", "twice", true);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  rows = rows_without_run_id(skv_test_tmp_path("twice/results.csv"), &n);
  ck_assert_int_eq(n, nwhole);
  for (int64_t i = 0; i < n; i++) ck_assert_str_eq(rows[i], whole[i]);
  free_rows(rows, n);
  free_rows(whole, nwhole);
}
END_TEST

/* Issue 12: resume wrote a second row for every configuration whose name holds a comma. Runs
 * interrupted by SIGINT after 1, 5 and 11 configurations and resumed (once after 1, twice after
 * 5) end with exactly one row per configuration, equal to an uninterrupted run's. */
START_TEST(interrupted_and_resumed_runs_equal_an_uninterrupted_one) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  run_args(args, sizeof args, "t.yaml", "whole", false);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  int64_t nwhole;
  char **whole = rows_without_run_id(skv_test_tmp_path("whole/results.csv"), &nwhole);
  ck_assert_int_eq(nwhole, 12);
  static const int stops[] = {1, 5, 11};
  for (int k = 0; k < 3; k++) {
    char out[32];
    snprintf(out, sizeof out, "cut%d", stops[k]);
    char n[16];
    snprintf(n, sizeof n, "%d", stops[k]);
    setenv("SKV_TEST_INTERRUPT_AFTER", n, 1);
    run_args(args, sizeof args, "t.yaml", out, false);
    ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
    ck_assert_msg(strstr(err, "--resume"), "%s", err);
    json_t *m = load_meta(out);
    ck_assert(json_is_false(json_object_get(m, "complete")));
    ck_assert_int_eq(json_integer_value(json_object_get(m, "configurations_done")), stops[k]);
    json_decref(m);
    /* after 5: resume, interrupted again after 2 more, then to the end */
    if (stops[k] == 5) {
      setenv("SKV_TEST_INTERRUPT_AFTER", "2", 1);
      run_args(args, sizeof args, "t.yaml", out, true);
      ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
    }
    unsetenv("SKV_TEST_INTERRUPT_AFTER");
    run_args(args, sizeof args, "t.yaml", out, true);
    ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
    char csv[64];
    snprintf(csv, sizeof csv, "%s/results.csv", out);
    int64_t nres;
    char **res = rows_without_run_id(skv_test_tmp_path(csv), &nres);
    ck_assert_int_eq(nres, nwhole);
    for (int64_t i = 0; i < nres; i++) ck_assert_msg(strcmp(res[i], whole[i]) == 0, "stop %d: row %lld differs", stops[k], (long long)i);
    free_rows(res, nres);
    m = load_meta(out);
    ck_assert(json_is_true(json_object_get(m, "complete")));
    ck_assert_int_eq(json_integer_value(json_object_get(m, "configurations_done")), 12);
    json_decref(m);
    /* a resume of a complete run changes nothing */
    ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(err, "nothing to resume"), "%s", err);
    ck_assert_int_eq(count_lines(skv_test_tmp_path(csv)), 13);
  }
  free_rows(whole, nwhole);
}
END_TEST

/* A process killed while appending leaves a last line without its newline: the resume drops it
 * and runs that configuration again. */
START_TEST(half_written_last_row_is_dropped_and_run_again) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  run_args(args, sizeof args, "t.yaml", "whole", false);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  setenv("SKV_TEST_INTERRUPT_AFTER", "4", 1);
  run_args(args, sizeof args, "t.yaml", "cut", false);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  /* half of a row, as a kill in the middle of its write would leave */
  FILE *f = fopen(skv_test_tmp_path("cut/results.csv"), "a");
  ck_assert(f);
  fputs("\"b1-Luniform(1,900,seed=5)-fi", f);
  fclose(f);
  run_args(args, sizeof args, "t.yaml", "cut", true);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  ck_assert_msg(strstr(err, "dropped a half-written last row"), "%s", err);
  int64_t a, b;
  char **ra = rows_without_run_id(skv_test_tmp_path("whole/results.csv"), &a), **rb = rows_without_run_id(skv_test_tmp_path("cut/results.csv"), &b);
  ck_assert_int_eq(a, b);
  for (int64_t i = 0; i < a; i++) ck_assert_str_eq(ra[i], rb[i]);
  free_rows(ra, a);
  free_rows(rb, b);
}
END_TEST

/* Issue 13: a run predicts with the GPU models it began with. A simulated run records the models
 * file's home model (every row names it; device_model stays empty) and every model its suite
 * names; a resume after either changed in the models file is refused, and goes on once they are
 * back. */
START_TEST(resume_refuses_changed_gpu_models) {
  static const char *suite =
      "name: g\ndescription: x\ndefaults: {hq: 8, hkv: 2, head_dim: 64}\n"
      "sweep: {batch: [1, 2, 3], seqlen: 300, policy: lab, gpu_model: [a100-sxm, home]}\n";
  /* every stream kind alike: 40 GB/s per CTA (25 over 8-bit caches), a 4 TB/s stream ceiling */
#define ROW(v) "[" v ", " v ", " v ", " v "]"
#define TABLE(v) "{d64: " ROW(v) ", d128: " ROW(v) ", d256: " ROW(v) "}"
#define STREAM(name, cta) name ": {fixed_us: " TABLE("2") ", fixed_sm_us: 0, cta_gbps: " TABLE(cta) ", stream_tbps: " TABLE("4") "}"
#define STREAMS "streams: {" STREAM("16bit", "40") ", " STREAM("fp8", "25") ", " STREAM("int8", "25") ", " \
  STREAM("int8k_16v", "25") "}"
  static const char *home = "home: home\nmodels:\n"
      "  - {name: home, device: H, arch: sm_90, sms: 132, read_tbps: 4, launch_us: 3,"
      " combine_item_us: 2, combine_chunk_us: 0, " STREAMS ", ctas_per_sm: {16bit: [3, 2, 1], 8bit_cols: [6, 4, 3],"
      " 8bit_rows: [5, 3, 2], int8k_16v: [4, 2, 2]}}\n"
      "  - {name: a100-sxm, device: A, arch: sm_80, sms: 108, read_tbps: %s, launch_us: 3,"
      " combine_item_us: 2, combine_chunk_us: 0, " STREAMS ", ctas_per_sm: {16bit: [2, 1, 1], 8bit_cols: [4, 3, 2],"
      " 8bit_rows: [4, 2, 2], int8k_16v: [3, 1, 1]}}\n";
#undef STREAMS
#undef STREAM
#undef TABLE
#undef ROW
  char gpus[8192], err[8192], args[1024];
  skv_test_write_file(skv_test_tmp_path("g.yaml"), suite);
  snprintf(gpus, sizeof gpus, home, "1.9");
  skv_test_write_file(skv_test_tmp_path("gpus.yaml"), gpus);
  setenv("SKV_TEST_INTERRUPT_AFTER", "2", 1);
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus %s", skv_test_tmp_path("g.yaml"), skv_test_tmp_path("run"),
           skv_test_tmp_path("gpus.yaml"));
  ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  json_t *m = load_meta("run");
  const json_t *gm = json_object_get(m, "gpu_model");
  ck_assert_str_eq(json_string_value(json_object_get(gm, "name")), "home");
  ck_assert(strstr(json_string_value(json_object_get(gm, "source")), "home"));
  ck_assert_int_eq(json_array_size(json_object_get(m, "gpu_models_named")), 2);
  json_decref(m);
  /* the named model edited, then the home model: both refused */
  snprintf(gpus, sizeof gpus, home, "2.0");
  skv_test_write_file(skv_test_tmp_path("gpus.yaml"), gpus);
  snprintf(args, sizeof args, "run %s --sim-only --out %s --gpus %s --resume", skv_test_tmp_path("g.yaml"),
           skv_test_tmp_path("run"), skv_test_tmp_path("gpus.yaml"));
  ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "a GPU model the suite names changed"), "%s", err);
  snprintf(gpus, sizeof gpus, home, "1.9");
  char *four = strstr(gpus, "read_tbps: 4");
  ck_assert(four);
  four[11] = '5';
  skv_test_write_file(skv_test_tmp_path("gpus.yaml"), gpus);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "the GPU model 'home'") && strstr(err, "changed"), "%s", err);
  /* back as they were: the run goes on and ends complete, its rows naming their models */
  snprintf(gpus, sizeof gpus, home, "1.9");
  skv_test_write_file(skv_test_tmp_path("gpus.yaml"), gpus);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  skv_csv_table t;
  char e[512];
  ck_assert_msg(skv_csv_load(skv_test_tmp_path("run/results.csv"), &t, e, sizeof e), "%s", e);
  ck_assert_int_eq(t.nrows, 6);
  const int32_t model = skv_csv_col(&t, "gpu_model"), device = skv_csv_col(&t, "device_model");
  ck_assert(model >= 0 && device >= 0);
  for (int64_t r = 0; r < t.nrows; r++) {
    ck_assert_str_eq(skv_csv_get(&t, r, model), r % 2 ? "home" : "a100-sxm");
    ck_assert_str_eq(skv_csv_get(&t, r, device), "");
  }
  skv_csv_free(&t);
}
END_TEST

/* Issue 12: a default run resumed with smoke.yaml ended "complete" with both suites' rows. A
 * resume checks the suite file's hash, keeps the run's identity and records itself. */
START_TEST(resume_refuses_another_suite_and_keeps_the_runs_identity) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  setenv("SKV_TEST_INTERRUPT_AFTER", "3", 1);
  run_args(args, sizeof args, "t.yaml", "run", false);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  json_t *before = load_meta("run");
  const char *before_text = json_dumps(before, JSON_SORT_KEYS);
  /* another file, and the same file edited: both refused, nothing touched */
  skv_test_write_file(skv_test_tmp_path("other.yaml"), "name: t\ndescription: x\nsweep:\n  seqlen: [100]\n  policy: [none]\n");
  char edited[2048];
  snprintf(edited, sizeof edited, "%s", dist_suite);
  char *d = strstr(edited, "seed: 4}");
  ck_assert(d);
  d[6] = '9'; /* any edit makes another version of the file */
  skv_test_write_file(skv_test_tmp_path("edited.yaml"), edited);
  static const char *bad[] = {"other.yaml", "edited.yaml"};
  for (int i = 0; i < 2; i++) {
    run_args(args, sizeof args, bad[i], "run", true);
    ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "another suite file or another version of it"), "%s", err);
    ck_assert_int_eq(count_lines(skv_test_tmp_path("run/results.csv")), 4);
    json_t *now = load_meta("run");
    char *now_text = json_dumps(now, JSON_SORT_KEYS);
    ck_assert_str_eq(now_text, before_text);
    free(now_text);
    json_decref(now);
  }
  /* --plots-only of another suite into this run: refused */
  snprintf(args, sizeof args, "run %s --plots-only --out %s --gpus ../experiments/gpus.yaml", skv_test_tmp_path("other.yaml"),
           skv_test_tmp_path("run"));
  ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "not of"), "%s", err);
  /* the right file resumes: the run id, start and command stay; the resume is recorded */
  run_args(args, sizeof args, "t.yaml", "run", true);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
  json_t *after = load_meta("run");
  static const char *kept[] = {"run_id", "start_utc", "command", "suite_hash_fnv1a64"};
  for (int i = 0; i < 4; i++)
    ck_assert_str_eq(json_string_value(json_object_get(after, kept[i])), json_string_value(json_object_get(before, kept[i])));
  const json_t *resumes = json_object_get(after, "resumes");
  ck_assert_int_eq(json_array_size(resumes), 1);
  const json_t *r0 = json_array_get(resumes, 0);
  ck_assert_int_eq(json_integer_value(json_object_get(r0, "configurations_done_before")), 3);
  ck_assert(strstr(json_string_value(json_object_get(r0, "command")), "--resume"));
  ck_assert(strstr(json_string_value(json_object_get(r0, "after_interruption")), "after 3 of 12"));
  ck_assert_ptr_null(json_object_get(after, "interrupted"));
  skv_csv_table t;
  ck_assert(skv_csv_load(skv_test_tmp_path("run/results.csv"), &t, err, sizeof err));
  const int32_t id = skv_csv_col(&t, "run_id");
  for (int64_t r = 0; r < t.nrows; r++)
    ck_assert_str_eq(skv_csv_get(&t, r, id), json_string_value(json_object_get(before, "run_id")));
  skv_csv_free(&t);
  json_decref(after);
  json_decref(before);
  free((char *)before_text);
}
END_TEST

/* Two runs into one --out raced on meta.json.tmp: a run directory is locked while a run writes it. */
START_TEST(a_locked_run_directory_refuses_a_second_writer) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  ck_assert_int_eq(mkdir(skv_test_tmp_path("run"), 0755), 0);
  const int fd = open(skv_test_tmp_path("run"), O_RDONLY | O_DIRECTORY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0); /* as a run in progress holds it */
  char err[8192], args[1024];
  run_args(args, sizeof args, "t.yaml", "run", false);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "another skv process is writing this run directory"), "%s", err);
  struct stat st;
  ck_assert(stat(skv_test_tmp_path("run/results.csv"), &st) != 0 && stat(skv_test_tmp_path("run/meta.json"), &st) != 0);
  close(fd);
  ck_assert_msg(run_skv(args, err, sizeof err) == 0, "%s", err);
}
END_TEST

/* --resume without --out: the newest run folder (by name, the run ids sort by time) whose meta.json
 * is unfinished and of this suite file; complete runs, other files' runs and unreadable folders are
 * passed over; none at all is an error naming the folder. */
START_TEST(resume_without_out_finds_the_newest_unfinished_run) {
  static const struct { const char *name, *meta; } runs[] = {
      {"20260101-000000-a", "{\"complete\": false, \"suite_hash_fnv1a64\": \"00000000000000aa\"}"},
      {"20260102-000000-a", "{\"complete\": false, \"suite_hash_fnv1a64\": \"00000000000000aa\"}"},
      {"20260103-000000-a", "{\"complete\": false, \"suite_hash_fnv1a64\": \"00000000000000bb\"}"},
      {"20260104-000000-a", "{\"complete\": true, \"suite_hash_fnv1a64\": \"00000000000000aa\"}"},
      {"20260105-000000-a", "not json"},
  };
  char base[512], path[700], found[1024], err[1024];
  snprintf(base, sizeof base, "%s/results/t", skv_test_tmpdir());
  snprintf(path, sizeof path, "mkdir -p %s", base);
  ck_assert_int_eq(system(path), 0);
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", base, runs[i].name);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%s/meta.json", base, runs[i].name);
    skv_test_write_file(path, runs[i].meta);
  }
  ck_assert_msg(skv_run_dir_find_unfinished(base, "00000000000000aa", found, sizeof found, err, sizeof err), "%s", err);
  snprintf(path, sizeof path, "%s/20260102-000000-a", base);
  ck_assert_str_eq(found, path);
  ck_assert_msg(skv_run_dir_find_unfinished(base, "00000000000000bb", found, sizeof found, err, sizeof err), "%s", err);
  snprintf(path, sizeof path, "%s/20260103-000000-a", base);
  ck_assert_str_eq(found, path);
  ck_assert(!skv_run_dir_find_unfinished(base, "00000000000000cc", found, sizeof found, err, sizeof err));
  ck_assert_msg(strstr(err, "no unfinished run of this suite file (hash 00000000000000cc)"), "%s", err);
  snprintf(path, sizeof path, "%s/missing", base);
  ck_assert(!skv_run_dir_find_unfinished(path, "00000000000000aa", found, sizeof found, err, sizeof err));
  ck_assert_msg(strstr(err, "No such file or directory"), "%s", err);
}
END_TEST

/* The index resume and skv_results_has look configurations up in: every name at its first index
 * through several growths, a name added again keeps its first index, an absent name is -1. */
START_TEST(name_index_finds_the_first_occurrence) {
  static char names[3000][16];
  skv_name_index x;
  memset(&x, 0, sizeof x);
  for (int i = 0; i < 3000; i++) {
    snprintf(names[i], sizeof names[i], "c%d", i % 2000); /* 1000 names twice */
    ck_assert(skv_name_index_add(&x, names[i], i));
  }
  ck_assert_int_eq(x.n, 2000);
  for (int i = 0; i < 2000; i++) {
    char probe[16];
    snprintf(probe, sizeof probe, "c%d", i);
    ck_assert_int_eq(skv_name_index_find(&x, probe), i);
  }
  ck_assert_int_eq(skv_name_index_find(&x, "c2000"), -1);
  ck_assert_int_eq(skv_name_index_find(&x, ""), -1);
  skv_name_index_free(&x);
  ck_assert_int_eq(skv_name_index_find(&x, "c1"), -1);
}
END_TEST

/* A resumed results.csv must hold only this run's rows: a row of another configuration or run id
 * is refused rather than mixed in. */
START_TEST(rows_of_another_run_are_refused) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  setenv("SKV_TEST_INTERRUPT_AFTER", "2", 1);
  run_args(args, sizeof args, "t.yaml", "run", false);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "sed -n 2p %s | sed 's/^\"b1-Luniform(1,900,seed=5)-fa2\"/b9-L1-none/' > %s && cat %s >> %s",
           skv_test_tmp_path("run/results.csv"), skv_test_tmp_path("row.csv"), skv_test_tmp_path("row.csv"), skv_test_tmp_path("run/results.csv"));
  ck_assert_int_eq(system(cmd), 0);
  run_args(args, sizeof args, "t.yaml", "run", true);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "configuration 'b9-L1-none' is not in"), "%s", err);
  /* a row written twice (the second row again), and a row of another run id */
  static const char *const edits[2][2] = {
      {"sed -n 3p %s > %s", "rows 2 and 3 are both configuration"},
      {"sed -n 3p %s | sed 's/,t,[^,]*,/,t,20200101-000000-abc-sim,/' > %s", "run id '20200101-000000-abc-sim'"}};
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd, "sed -i '$d' %s", skv_test_tmp_path("run/results.csv")); /* drop the last edit */
    ck_assert_int_eq(system(cmd), 0);
    char edit[600], both[1400];
    snprintf(edit, sizeof edit, edits[k][0], skv_test_tmp_path("run/results.csv"), skv_test_tmp_path("row.csv"));
    snprintf(both, sizeof both, "%.600s && cat %.200s >> %.200s", edit, skv_test_tmp_path("row.csv"),
             skv_test_tmp_path("run/results.csv"));
    snprintf(cmd, sizeof cmd, "%s", both);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, edits[k][1]), "case %d: %s", k, err);
  }
}
END_TEST

/* A resume continues only the run it continues: meta.json made in the other mode or by another skv
 * build is refused (exit 2), the run untouched. */
START_TEST(resume_refuses_another_mode_or_build) {
  skv_test_write_file(skv_test_tmp_path("t.yaml"), dist_suite);
  char err[8192], args[1024];
  setenv("SKV_TEST_INTERRUPT_AFTER", "2", 1);
  run_args(args, sizeof args, "t.yaml", "run", false);
  ck_assert_int_eq(run_skv(args, err, sizeof err), 128 + SIGINT);
  unsetenv("SKV_TEST_INTERRUPT_AFTER");
  char meta[600];
  snprintf(meta, sizeof meta, "%s", skv_test_tmp_path("run/meta.json"));
  json_t *m = load_meta("run");
  static const struct { const char *key, *value, *says; } edits[] = {
      {"mode", "measured", "is a measured run; this one would be sim"},
      {"skv_commit", "0000000", "was made by skv 0000000"},
  };
  for (int i = 0; i < 2; i++) {
    json_t *e = json_deep_copy(m);
    json_object_set_new(e, edits[i].key, json_string(edits[i].value));
    ck_assert_int_eq(json_dump_file(e, meta, JSON_INDENT(2)), 0);
    json_decref(e);
    run_args(args, sizeof args, "t.yaml", "run", true);
    ck_assert_int_eq(run_skv(args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, edits[i].says), "%s", err);
    ck_assert_int_eq(count_lines(skv_test_tmp_path("run/results.csv")), 3);
  }
  json_decref(m);
}
END_TEST

Suite *skv_suite_resume(void) {
  Suite *s = suite_create("resume");
  TCase *tc = tcase_create("resume");
  tcase_add_checked_fixture(tc, skv_test_tmpdir_setup, teardown);
  tcase_add_test(tc, csv_fields_with_commas_quotes_and_newlines_round_trip);
  tcase_add_test(tc, interrupted_and_resumed_runs_equal_an_uninterrupted_one);
  tcase_add_test(tc, a_second_sigint_ends_the_run_at_once);
  tcase_add_test(tc, resume_refuses_changed_gpu_models);
  tcase_add_test(tc, name_index_finds_the_first_occurrence);
  tcase_add_test(tc, resume_without_out_finds_the_newest_unfinished_run);
  tcase_add_test(tc, half_written_last_row_is_dropped_and_run_again);
  tcase_add_test(tc, resume_refuses_another_suite_and_keeps_the_runs_identity);
  tcase_add_test(tc, a_locked_run_directory_refuses_a_second_writer);
  tcase_add_test(tc, rows_of_another_run_are_refused);
  tcase_add_test(tc, resume_refuses_another_mode_or_build);
  suite_add_tcase(s, tc);
  return s;
}
