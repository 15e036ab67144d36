/* check_report.c — a run's summary (harness/out/summary.h) and the comparison of two runs
 * (harness/out/compare.h) on small results tables whose answers are known by construction, and the
 * two commands' refusals. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/compare.h"
#include "out/csv.h"
#include "out/peers.h"
#include "out/plots.h"
#include "out/summary.h"
#include "out/text_file.h"
#include "skv_cmd.h"
#include "tmpdir.h"
#include "suites.h"

/* A results.csv with the columns the summary and compare read: two shape groups (B=1 and B=8 at
 * L=4096) under fa2 and lab. Times: fa2 10 / 40, lab 8 / 41 (so lab is best at B=1, fa2 at B=8);
 * min–max ±t_spread around each; predicted 11 everywhere; checks pass, pass, fail, none. */
static const char *table(double scale, double spread) {
  static char buf[4096];
  const double t[4] = {10 * scale, 8 * scale, 40 * scale, 41 * scale};
  const char *chk[4] = {"pass", "pass", "fail", "none"};
  int at = snprintf(buf, sizeof buf,
                    "config,suite,mode,batch,seqlen,kvlen_min,kvlen_max,kvlen_mean,qlen,hq,hkv,head_dim,page_size,"
                    "q_dtype,kv_dtype,v_dtype,kv_scale_mode,q_scale,k_scale,v_scale,drop_scale,policy,policy_options,"
                    "lse_layout,host_path,gpu_model,sms,predicted_us,total_us,total_min_us,total_max_us,"
                    "frac_of_read_ceiling,checks\n");
  for (int i = 0; i < 4; i++)
    at += snprintf(buf + at, sizeof buf - (size_t)at,
                   "b%d-L4096-%s,s,measured,%d,4096,4096,4096,4096,1,32,8,128,16,bf16,bf16,bf16,per_tensor,1,1,1,none,"
                   "%s,,logical,none,h200,132,11,%g,%g,%g,0.5,%s\n",
                   i < 2 ? 1 : 8, i % 2 ? "lab" : "fa2", i < 2 ? 1 : 8, i % 2 ? "lab" : "fa2", t[i], t[i] - spread,
                   t[i] + spread, chk[i]);
  return buf;
}

static void load(const char *text, skv_csv_table *t) {
  char err[256];
  ck_assert_msg(skv_csv_parse(text, strlen(text), "t", t, err, sizeof err), "%s", err);
}

static char *capture_summary(const skv_csv_table *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  char err[256];
  ck_assert_msg(skv_summary_write(m, t, err, sizeof err), "%s", err);
  ck_assert_int_eq(fclose(m), 0);
  return buf;
}

START_TEST(the_summary_ranks_each_group_and_counts_the_verdicts) {
  skv_csv_table t;
  load(table(1, 0.5), &t);
  char *s = capture_summary(&t);
  ck_assert_msg(strstr(s, "## s — measured run, 4 rows in 2 shape groups"), "%s", s);
  ck_assert_msg(strstr(s, "### B=1 L=4096\n") && strstr(s, "### B=8 L=4096\n"), "%s", s);
  /* B=1: lab best (8), fa2 1.25x; model error (11 - 10) / 10 = +10%, (11 - 8) / 8 = +37.5% */
  ck_assert_msg(strstr(s, "| fa2 | 10.00 | 9.50–10.50 | — | 1.250 | 0.500 | +10.0% | pass |"), "%s", s);
  ck_assert_msg(strstr(s, "| **lab** | 8.00 | 7.50–8.50 | — | 1.000 | 0.500 | +37.5% | pass |"), "%s", s);
  /* B=8: fa2 best (40), lab 41 / 40 */
  ck_assert_msg(strstr(s, "| **fa2** | 40.00 |") && strstr(s, "| lab | 41.00 | 40.50–41.50 | — | 1.025 |"), "%s", s);
  ck_assert_msg(strstr(s, "Checks: 2 pass, 1 fail, 1 none."), "%s", s);
  ck_assert_msg(strstr(s, "Every row: qlen 1, hq 32"), "%s", s);
  free(s);
  skv_csv_free(&t);
}
END_TEST

/* A row whose interquartile range is 10% of its median (over the 5% limit) is marked, and counted. */
START_TEST(the_summary_marks_a_row_whose_spread_is_wide) {
  static const char *csv =
      "config,suite,mode,batch,seqlen,kvlen_min,kvlen_max,kvlen_mean,qlen,hq,hkv,head_dim,page_size,q_dtype,kv_dtype,"
      "v_dtype,kv_scale_mode,q_scale,k_scale,v_scale,drop_scale,policy,policy_options,lse_layout,host_path,gpu_model,sms,"
      "predicted_us,total_us,total_min_us,total_max_us,total_q1_us,total_q3_us,spread,frac_of_read_ceiling,checks\n"
      "a,s,measured,1,64,64,64,64,1,8,8,64,16,bf16,bf16,bf16,per_tensor,1,1,1,none,fa2,,logical,none,h200,132,"
      "11,10,9,12,9.5,10.5,yes,0.5,pass\n"
      "b,s,measured,1,64,64,64,64,1,8,8,64,16,bf16,bf16,bf16,per_tensor,1,1,1,none,lab,,logical,none,h200,132,"
      "11,20,19.8,20.2,19.9,20.1,no,0.5,pass\n";
  skv_csv_table t;
  load(csv, &t);
  char *s = capture_summary(&t);
  ck_assert_msg(strstr(s, "| **fa2** | 10.00 | 9.00–12.00 | 10.0% (spread) |"), "%s", s);
  ck_assert_msg(strstr(s, "| lab | 20.00 | 19.80–20.20 | 1.0% | 2.000 |"), "%s", s);
  ck_assert_msg(strstr(s, "1 rows with an interquartile range over 5% of their median (spread)"), "%s", s);
  free(s);
  skv_csv_free(&t);
}
END_TEST

START_TEST(the_verdict_is_noise_when_the_ranges_overlap) {
  ck_assert_str_eq(skv_compare_verdict(10, 9, 11, 10.5, 10, 11.5), "noise");
  ck_assert_str_eq(skv_compare_verdict(10, 9.5, 10.5, 9, 8.5, 9.4), "faster");
  ck_assert_str_eq(skv_compare_verdict(10, 9.5, 10.5, 11, 10.6, 11.5), "slower");
  ck_assert_str_eq(skv_compare_verdict(10, NAN, NAN, 10, NAN, NAN), "same");
  ck_assert_str_eq(skv_compare_verdict(NAN, 1, 2, 1, 1, 2), "missing");
}
END_TEST

static json_t *meta(const char *commit, const char *gpu, double ceiling) {
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:i,s:f}}", "mode", "measured", "run_id", commit, "skv_commit", commit,
                   "suite", "s", "suite_hash_fnv1a64", "abc", "gpu", "name", gpu, "sm_count", 132, "read_ceiling_tbps",
                   ceiling);
}

static char *capture_compare(const skv_compare_run *a, const skv_compare_run *b) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  char err[256];
  ck_assert_msg(skv_compare_write(m, a, b, err, sizeof err), "%s", err);
  ck_assert_int_eq(fclose(m), 0);
  return buf;
}

/* Two runs of one commit whose times differ by 1% inside a ±5% spread: every row noise, geomean
 * 1.01. Then B 20% faster with a tight spread: every row faster, geomean 0.8. */
START_TEST(compare_calls_a_change_inside_the_spread_noise) {
  skv_csv_table ta, tb;
  load(table(1, 0.5), &ta);
  load(table(1.01, 0.5), &tb);
  json_t *ma = meta("abc1234", "NVIDIA H200", 4.5), *mb = meta("abc1234", "NVIDIA H200", 4.5);
  skv_compare_run a = {"A", ma, &ta}, b = {"B", mb, &tb};
  char what[256];
  ck_assert(!skv_compare_gpus_differ(&a, &b, what, sizeof what));
  char *s = capture_compare(&a, &b);
  ck_assert_msg(strstr(s, "Differs: nothing.\n"), "%s", s); /* one commit, one GPU, one ceiling, one run id */
  ck_assert_msg(strstr(s, "| all rows | 4 | 1.010 | 0 | 0 | 4 |"), "%s", s);
  ck_assert_msg(strstr(s, "| b1-L4096-fa2 | 10.00 (9.50–10.50) | 10.10 (9.60–10.60) | 1.010 | noise |"), "%s", s);
  free(s);
  skv_csv_free(&tb);
  load(table(0.8, 0.1), &tb);
  s = capture_compare(&a, &b);
  ck_assert_msg(strstr(s, "| all rows | 4 | 0.800 | 4 | 0 | 0 |"), "%s", s);
  ck_assert_msg(strstr(s, "| fa2 | 2 | 0.800 | 2 | 0 | 0 |") && strstr(s, "| B=8 L=4096 | 2 | 0.800 |"), "%s", s);
  free(s);
  json_decref(mb);
  mb = meta("def5678", "NVIDIA H100 80GB HBM3", 3.0);
  b.meta = mb;
  ck_assert(skv_compare_gpus_differ(&a, &b, what, sizeof what));
  ck_assert_msg(strstr(what, "NVIDIA H200 (132 SMs) against NVIDIA H100 80GB HBM3 (132 SMs)"), "%s", what);
  s = capture_compare(&a, &b);
  ck_assert_msg(strstr(s, "Differs: run, commit, GPU, read ceiling TB/s.") && strstr(s, "A / B is 1.500"), "%s", s);
  free(s);
  json_decref(ma);
  json_decref(mb);
  skv_csv_free(&ta);
  skv_csv_free(&tb);
}
END_TEST

/* The commands: usage errors, and runs of different GPUs refused without --cross-gpu. */
START_TEST(the_commands_refuse_what_they_cannot_compare) {
  skv_test_usage_error("summary", "expected one argument, the run directory");
  skv_test_usage_error("summary /nonexistent-skv-run", "/nonexistent-skv-run/results.csv");
  skv_test_usage_error("compare onlyone", "expected two run directories");
  skv_test_usage_error("compare /nonexistent-a /nonexistent-b", "/nonexistent-a/meta.json");
  char da[96], db[96];
  snprintf(da, sizeof da, "/tmp/skv-cmp-a-%d", (int)getpid());
  snprintf(db, sizeof db, "/tmp/skv-cmp-b-%d", (int)getpid());
  const char *dirs[2] = {da, db};
  for (int i = 0; i < 2; i++) {
    char p[160];
    ck_assert_int_eq(mkdir(dirs[i], 0755), 0);
    snprintf(p, sizeof p, "%s/results.csv", dirs[i]);
    skv_test_write_file(p, table(1, 0.5));
    json_t *m = meta("abc", i ? "NVIDIA H100 80GB HBM3" : "NVIDIA H200", 4.0);
    snprintf(p, sizeof p, "%s/meta.json", dirs[i]);
    ck_assert_int_eq(json_dump_file(m, p, 0), 0);
    json_decref(m);
  }
  char args[512], out[1 << 15], err[4096];
  snprintf(args, sizeof args, "compare %s %s", da, db);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "different GPUs") && strstr(err, "--cross-gpu"), "%s", err);
  snprintf(args, sizeof args, "compare %s %s --cross-gpu", da, db);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(out, "| all rows | 4 | 1.000 | 0 | 0 | 4 |"), "%s", out);
  char od[96];
  snprintf(od, sizeof od, "/tmp/skv-cmp-out-%d", (int)getpid());
  snprintf(args, sizeof args, "compare %s %s --cross-gpu --out %s", da, db, od);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
  static const char *const made[3] = {"compare.md", "compare.png", "compare.svg"};
  for (int i = 0; i < 3; i++) {
    char p[192];
    snprintf(p, sizeof p, "%s/%s", od, made[i]);
    ck_assert_msg(access(p, F_OK) == 0, "no %s", p);
  }
  snprintf(args, sizeof args, "rm -rf %s", od);
  ck_assert_int_eq(system(args), 0);
  snprintf(args, sizeof args, "summary %s", da);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(out, "Checks: 2 pass, 1 fail, 1 none."), "%s", out);
  for (int i = 0; i < 2; i++) {
    char p[160];
    snprintf(p, sizeof p, "%s/results.csv", dirs[i]);
    unlink(p);
    snprintf(p, sizeof p, "%s/meta.json", dirs[i]);
    unlink(p);
    rmdir(dirs[i]);
  }
}
END_TEST

/* The first of chromium / chromium-browser / google-chrome on PATH into buf; false if none. */
static bool find_browser(char *buf, size_t len) {
  static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
  const char *path = getenv("PATH");
  for (size_t i = 0; path && i < sizeof names / sizeof names[0]; i++) {
    char *copy = strdup(path);
    ck_assert(copy != NULL);
    for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
      snprintf(buf, len, "%s/%s", dir, names[i]);
      if (access(buf, X_OK) == 0) {
        free(copy);
        return true;
      }
    }
    free(copy);
  }
  return false;
}

/* report.html of a small run (the table above, two plots) rendered by headless Chromium: the DOM it
 * builds holds the meta table, both summary tables and both plots' SVG, and the page renders to a
 * PNG. Without a browser the test fails (make test installs chromium: scripts/deps.sh test), unless
 * SKV_NO_BROWSER=1 says to skip it, and then it says so. */
START_TEST(report_html_renders_in_a_real_browser_with_every_table_and_plot) {
  char dir[96];
  snprintf(dir, sizeof dir, "/tmp/skv-report-%d", (int)getpid());
  char p[256];
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  snprintf(p, sizeof p, "%s/plots", dir);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/results.csv", dir);
  skv_test_write_file(p, table(1, 0.5));
  json_t *m = meta("abc1234", "NVIDIA H200", 4.5);
  snprintf(p, sizeof p, "%s/meta.json", dir);
  ck_assert_int_eq(json_dump_file(m, p, 0), 0);
  json_decref(m);
  static const char *const plots[2] = {"alpha", "beta"};
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/plots/%s.svg", dir, plots[i]);
    char svg[512];
    snprintf(svg, sizeof svg,
             "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"100\">"
             "<rect id=\"r-%s\" width=\"150\" height=\"60\" fill=\"#36c\"/></svg>\n",
             plots[i]);
    skv_test_write_file(p, svg);
  }
  char args[256], out[1 << 16], err[4096];
  snprintf(args, sizeof args, "report %s", dir);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "(2 plots)"), "%s", err);
  char browser[512];
  if (!find_browser(browser, sizeof browser)) {
    const char *skip = getenv("SKV_NO_BROWSER");
    ck_assert_msg(skip && strcmp(skip, "1") == 0,
                  "no chromium on PATH: make test installs it (scripts/deps.sh test); SKV_NO_BROWSER=1 skips this test");
    fprintf(stderr, "SKIPPED report_html_renders_in_a_real_browser: SKV_NO_BROWSER=1 and no chromium on PATH\n");
  } else {
    char cmd[4096], dom[128], png[128];
    snprintf(dom, sizeof dom, "%s/dom.html", dir);
    snprintf(png, sizeof png, "%s/report.png", dir);
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout 120 %s --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir=%s/profile"
             " --dump-dom file://%s/report.html > %s 2>/dev/null && timeout 120 %s --headless --no-sandbox --disable-gpu"
             " --disable-dev-shm-usage --user-data-dir=%s/profile --window-size=1200,1600 --screenshot=%s"
             " file://%s/report.html > /dev/null 2>&1",
             dir, browser, dir, dir, dom, browser, dir, png, dir);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    FILE *f = fopen(dom, "r");
    ck_assert(f != NULL);
    static char text[1 << 17];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "<table id=\"meta\">"), "no meta table in the DOM");
    ck_assert_msg(strstr(text, "<h3>B=1 L=4096</h3>") && strstr(text, "<h3>B=8 L=4096</h3>"), "a summary table is missing");
    int tables = 0;
    for (const char *q = text; (q = strstr(q, "<table")); q++) tables++;
    ck_assert_int_eq(tables, 3); /* meta + two shape groups */
    ck_assert_msg(strstr(text, "id=\"plot-alpha\"") && strstr(text, "id=\"r-alpha\"") &&
                      strstr(text, "id=\"plot-beta\"") && strstr(text, "id=\"r-beta\""),
                  "a plot's SVG is missing from the DOM");
    ck_assert_msg(strstr(text, "<b>lab</b>"), "the best row is not marked");
    f = fopen(png, "rb");
    ck_assert_msg(f != NULL, "no screenshot");
    unsigned char sig[8];
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fclose(f);
    ck_assert(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0);
    ck_assert_msg(size > 5000, "the screenshot is %ld bytes: nothing rendered?", size);
  }
  snprintf(args, sizeof args, "rm -rf %s", dir);
  ck_assert_int_eq(system(args), 0);
}
END_TEST

/* The error plot draws only rows that had a check and a positive error; the unchecked and the
 * zero-error rows are counted in its title, never drawn at a floor; gnuplot leaves no empty log. */
START_TEST(the_error_plot_leaves_out_unchecked_and_zero_rows_and_says_so) {
  char dir[96], p[256];
  snprintf(dir, sizeof dir, "/tmp/skv-errplot-%d", (int)getpid());
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  snprintf(p, sizeof p, "%s/results.csv", dir);
  skv_test_write_file(p, "config,reference,o_rel_err,lse_max_abs\n"
                         "a,cpu-double,0.002,1e-6\nb,none,,\nc,cpu-double,0,0\nd,gpu-fp32,0.003,2e-6\n");
  static const char plots[1][32] = {"error"};
  char err[1024];
  ck_assert_msg(skv_plots_make(dir, plots, 1, true, 4.0, err, sizeof err), "%s", err);
  snprintf(p, sizeof p, "%s/plots/error.gp", dir);
  char *gp = skv_read_text_file(p, NULL);
  ck_assert(gp != NULL);
  ck_assert_msg(strstr(gp, "2 rows drawn; 1 without a reference check and 1 with error 0 not drawn"), "%s", gp);
  ck_assert_msg(strstr(gp, "$E << EOD\n1 0.002 1e-06\n2 0.003 2e-06\nEOD"), "%s", gp);
  ck_assert_msg(strstr(gp, "\"a\" 1, \"d\" 2"), "%s", gp); /* the drawn rows' names as the x tics */
  free(gp);
  snprintf(p, sizeof p, "%s/plots/error.log", dir);
  ck_assert_msg(access(p, F_OK) != 0, "an empty gnuplot log was left behind");
  snprintf(p, sizeof p, "%s/plots/error.png", dir);
  ck_assert(access(p, F_OK) == 0);
  snprintf(p, sizeof p, "rm -rf %s", dir);
  ck_assert_int_eq(system(p), 0);
}
END_TEST

/* A peers.csv in results.csv's schema (peers.h): peer "fi" at B=1 (16 us, pass) and B=8 (82 us, a
 * failed check), peer "sd" at B=1 only (4 us). The lab's best checked row is lab 8 us at B=1 and, with
 * fa2's 40 us failing its check, lab 41 us at B=8. So the table shows 8 / 16 = 0.500 and 8 / 4 = 2.000
 * at B=1, fi's failed row without a ratio at B=8; the lab is faster in one pair and slower in one. */
static const char *peers_table(void) {
  static char buf[4096];
  const char *t = table(1, 0.5);
  const char *nl = strchr(t, '\n');
  int at = snprintf(buf, sizeof buf, "%.*s\n", (int)(nl - t), t);
  static const struct {
    int b;
    const char *peer;
    double us;
    const char *chk;
  } r[3] = {{1, "fi", 16, "pass"}, {8, "fi", 82, "fail"}, {1, "sd", 4, "pass"}};
  for (int i = 0; i < 3; i++)
    at += snprintf(buf + at, sizeof buf - (size_t)at,
                   "b%d-L4096-%s,s,measured,%d,4096,4096,4096,4096,1,32,8,128,16,bf16,bf16,bf16,per_tensor,1,1,1,none,"
                   "%s,,logical,none,h200,132,,%g,%g,%g,0.5,%s\n",
                   r[i].b, r[i].peer, r[i].b, r[i].peer, r[i].us, r[i].us, r[i].us, r[i].chk);
  return buf;
}

START_TEST(the_peers_table_sets_the_labs_best_checked_row_beside_each_peer) {
  skv_csv_table t, p;
  load(table(1, 0.5), &t);
  load(peers_table(), &p);
  char *buf = NULL, err[256];
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  ck_assert_msg(skv_summary_write_peers(m, &t, &p, err, sizeof err), "%s", err);
  ck_assert_int_eq(fclose(m), 0);
  ck_assert_msg(strstr(buf, "| shape | lab best | µs | of read ceiling | fi µs | lab ÷ fi | sd µs | lab ÷ sd |"), "%s", buf);
  ck_assert_msg(strstr(buf, "| B=1 L=4096 | lab | 8.00 | 0.500 | 16.00 | 0.500 | 4.00 | 2.000 |"), "%s", buf);
  ck_assert_msg(strstr(buf, "| B=8 L=4096 | lab | 41.00 | 0.500 | 82.00 (check failed) | — | — | — |"), "%s", buf);
  ck_assert_msg(strstr(buf, "2 shape groups with peer rows (0 without); of the lab-peer pairs, the lab is faster in 1 "
                            "and slower in 1."),
                "%s", buf);
  free(buf);
  skv_csv_free(&t);
  skv_csv_free(&p);
}
END_TEST

/* peers.csv is optional; one whose header is not results.csv's is refused, naming the column. The
 * peers' plot is drawn beside the suite's plots, with the lab's best and each checked peer's time. */
START_TEST(peers_csv_is_optional_must_match_results_csv_and_gets_a_plot) {
  char dir[96], p[256], err[1024];
  snprintf(dir, sizeof dir, "/tmp/skv-peers-%d", (int)getpid());
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  skv_csv_table t, pe;
  load(table(1, 0.5), &t);
  bool present = true;
  ck_assert_msg(skv_peers_load(dir, &t, &pe, &present, err, sizeof err), "%s", err);
  ck_assert(!present);
  snprintf(p, sizeof p, "%s/peers.csv", dir);
  skv_test_write_file(p, "config,suite,policy\nx,s,fi\n");
  ck_assert(!skv_peers_load(dir, &t, &pe, &present, err, sizeof err));
  ck_assert_msg(strstr(err, "column 3 is 'policy', results.csv's is 'mode'"), "%s", err);
  skv_test_write_file(p, peers_table());
  ck_assert_msg(skv_peers_load(dir, &t, &pe, &present, err, sizeof err), "%s", err);
  ck_assert(present && pe.nrows == 3);
  skv_csv_free(&pe);
  snprintf(p, sizeof p, "%s/results.csv", dir);
  skv_test_write_file(p, table(1, 0.5));
  ck_assert_msg(skv_plots_make(dir, NULL, 0, true, 4.0, err, sizeof err), "%s", err);
  snprintf(p, sizeof p, "%s/plots/peers.gp", dir);
  char *gp = skv_read_text_file(p, NULL);
  ck_assert(gp != NULL);
  /* x, lab best, fi, sd: fi's failed row at B=8 is not drawn (NaN) */
  ck_assert_msg(strstr(gp, "$P << EOD\n1 8 16 4\n2 41 nan nan\nEOD"), "%s", gp);
  free(gp);
  snprintf(p, sizeof p, "%s/plots/peers.png", dir);
  ck_assert(access(p, F_OK) == 0);
  skv_csv_free(&t);
  snprintf(p, sizeof p, "rm -rf %s", dir);
  ck_assert_int_eq(system(p), 0);
}
END_TEST

/* skv compare RUN --peer NAME: A is the lab's best checked row of each point the peer ran, B the
 * peer's row, both named by the point; a peer row whose check failed is left out (fi at B=8), so fi
 * pairs one row, 8 against 16 (B / A 2.000, slower), sd one, 8 against 4 (0.500, faster). Refusals:
 * a run without peers.csv, a peer it does not hold, two runs with --peer. */
START_TEST(compare_peer_pairs_the_labs_best_with_a_peer_point_by_point) {
  skv_csv_table t, p, lab, prow;
  load(table(1, 0.5), &t);
  load(peers_table(), &p);
  char err[256];
  ck_assert_msg(skv_peers_pair_tables(&t, &p, "fi", &lab, &prow, err, sizeof err), "%s", err);
  ck_assert_int_eq(lab.nrows, 1);
  ck_assert_int_eq(prow.nrows, 1);
  ck_assert_str_eq(skv_csv_get(&lab, 0, skv_csv_col(&lab, "config")), "B=1 L=4096");
  ck_assert_str_eq(skv_csv_get(&prow, 0, skv_csv_col(&prow, "config")), "B=1 L=4096");
  ck_assert_str_eq(skv_csv_get(&lab, 0, skv_csv_col(&lab, "policy")), "lab");
  ck_assert_str_eq(skv_csv_get(&prow, 0, skv_csv_col(&prow, "total_us")), "16");
  skv_csv_free(&lab), skv_csv_free(&prow);
  ck_assert(!skv_peers_pair_tables(&t, &p, "nope", &lab, &prow, err, sizeof err));
  ck_assert_msg(strstr(err, "no rows of peer 'nope'"), "%s", err);
  char d[96], path[160], args[512], out[1 << 15], errb[4096];
  snprintf(d, sizeof d, "/tmp/skv-cmp-peer-%d", (int)getpid());
  ck_assert_int_eq(mkdir(d, 0755), 0);
  snprintf(path, sizeof path, "%s/results.csv", d);
  skv_test_write_file(path, table(1, 0.5));
  json_t *m = meta("abc", "NVIDIA H200", 4.0);
  snprintf(path, sizeof path, "%s/meta.json", d);
  ck_assert_int_eq(json_dump_file(m, path, 0), 0);
  json_decref(m);
  snprintf(args, sizeof args, "compare %s --peer sd", d);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, errb, sizeof errb), 2);
  ck_assert_msg(strstr(errb, "has no peers.csv"), "%s", errb);
  snprintf(path, sizeof path, "%s/peers.csv", d);
  skv_test_write_file(path, peers_table());
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, errb, sizeof errb), 0);
  ck_assert_msg(strstr(out, "| B=1 L=4096 | 8.00 (7.50–8.50) | 4.00 (4.00–4.00) | 0.500 | faster |"), "%s", out);
  snprintf(args, sizeof args, "compare %s --peer fi", d);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, errb, sizeof errb), 0);
  ck_assert_msg(strstr(out, "| B=1 L=4096 | 8.00 (7.50–8.50) | 16.00 (16.00–16.00) | 2.000 | slower |"), "%s", out);
  snprintf(args, sizeof args, "compare %s %s --peer fi", d, d);
  ck_assert_int_eq(skv_test_run(args, out, sizeof out, errb, sizeof errb), 2);
  ck_assert_msg(strstr(errb, "--peer takes one run directory"), "%s", errb);
  skv_csv_free(&t), skv_csv_free(&p);
  snprintf(args, sizeof args, "rm -rf %s", d);
  ck_assert_int_eq(system(args), 0);
}
END_TEST

Suite *skv_suite_report(void) {
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("summary+compare");
  tcase_add_test(tc, the_summary_ranks_each_group_and_counts_the_verdicts);
  tcase_add_test(tc, the_summary_marks_a_row_whose_spread_is_wide);
  tcase_add_test(tc, the_verdict_is_noise_when_the_ranges_overlap);
  tcase_add_test(tc, compare_calls_a_change_inside_the_spread_noise);
  tcase_add_test(tc, the_commands_refuse_what_they_cannot_compare);
  tcase_add_test(tc, report_html_renders_in_a_real_browser_with_every_table_and_plot);
  tcase_add_test(tc, the_error_plot_leaves_out_unchecked_and_zero_rows_and_says_so);
  tcase_add_test(tc, the_peers_table_sets_the_labs_best_checked_row_beside_each_peer);
  tcase_add_test(tc, peers_csv_is_optional_must_match_results_csv_and_gets_a_plot);
  tcase_add_test(tc, compare_peer_pairs_the_labs_best_with_a_peer_point_by_point);
  suite_add_tcase(s, tc);
  return s;
}
