/* check_timeline.c — the CTA-timeline summary and CSV (harness/cta_timeline.h) on hand-made records. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prof/cta_timeline.h"
#include "suites.h"

/* Four CTAs on SMs 0 and 3 (times in ns), 10 bytes per token:
 *   CTA 0: SM 0, start 1000, first tile 3000, loop end 11000, end 12000, 100 tokens
 *   CTA 1: SM 0, start 12000, first tile 13000, loop end 20000, end 21000, 100 tokens
 *   CTA 2: SM 3, start 1000, first tile 5000, loop end 30000, end 31000, 600 tokens
 *   CTA 3: SM 3, start 1500, empty range, loop end 1500, end 2000
 * By hand: span 31000 - 1000 = 30 us; prologues 2, 1, 4 us -> nearest-rank p50 2 us, p90 4 us;
 * SM 0 reads 2000 bytes in 21000 - 1000 ns (0.1 GB/s), SM 3 6000 bytes in 30000 ns (0.2 GB/s);
 * SM 0 finishes at 21000, the launch at 31000: drain 10 us. Reading evenly between first tile
 * and loop end, [1000, 21000) gets CTA 0's and 1's 1000 bytes each and 16000 / 25000 of CTA 2's
 * 6000 (3840): 5840 bytes in 20000 ns = 0.292 GB/s; the drain gets CTA 2's other 2160 bytes in
 * 10000 ns = 0.216 GB/s. */
static void records(skv_cta_times t[4], skv_work w[4]) {
  const uint64_t v[4][4] = {{1000, 3000, 11000, 12000}, {12000, 13000, 20000, 21000}, {1000, 5000, 30000, 31000},
                            {1500, 0, 1500, 2000}};
  const uint32_t sm[4] = {0, 0, 3, 3};
  const int64_t tokens[4] = {100, 100, 600, 0};
  memset(t, 0, 4 * sizeof *t);
  memset(w, 0, 4 * sizeof *w);
  for (int i = 0; i < 4; i++) {
    t[i] = (skv_cta_times){v[i][0], v[i][1], v[i][2], v[i][3], sm[i], 0};
    w[i] = (skv_work){.request = i / 2, .kv_head = i % 2, .chunk = 0, .num_chunks = 1, .kv_begin = 64,
                      .kv_end = 64 + tokens[i], .partial = -1};
  }
}

START_TEST(summary_matches_the_hand_computed_values) {
  skv_cta_times t[4];
  skv_work w[4];
  records(t, w);
  skv_cta_timeline_summary s;
  char err[256];
  ck_assert_msg(skv_cta_timeline_summarize(t, w, 4, 10.0, &s, err, sizeof err), "%s", err);
  ck_assert_int_eq(s.ctas, 4);
  ck_assert_int_eq(s.sms, 2);
  ck_assert_double_eq_tol(s.span_us, 30.0, 1e-9);
  ck_assert_double_eq_tol(s.prologue_p50_us, 2.0, 1e-9);
  ck_assert_double_eq_tol(s.prologue_p90_us, 4.0, 1e-9);
  ck_assert_double_eq_tol(s.sm_gbps_min, 0.1, 1e-12);
  ck_assert_double_eq_tol(s.sm_gbps_median, 0.1, 1e-12);
  ck_assert_double_eq_tol(s.sm_gbps_max, 0.2, 1e-12);
  ck_assert_double_eq_tol(s.drain_us, 10.0, 1e-9);
  ck_assert_double_eq_tol(s.gbps_before_drain, 0.292, 1e-12);
  ck_assert_double_eq_tol(s.gbps_in_drain, 0.216, 1e-12);
}
END_TEST

START_TEST(missing_or_disordered_records_are_refused) {
  skv_cta_times t[4];
  skv_work w[4];
  skv_cta_timeline_summary s;
  char err[256];
  records(t, w);
  t[1].start_ns = 0; /* a CTA that never recorded */
  ck_assert(!skv_cta_timeline_summarize(t, w, 4, 10.0, &s, err, sizeof err));
  ck_assert_msg(strstr(err, "CTA 1"), "%s", err);
  records(t, w);
  t[2].loop_end_ns = 40000; /* after its end */
  ck_assert(!skv_cta_timeline_summarize(t, w, 4, 10.0, &s, err, sizeof err));
  ck_assert_msg(strstr(err, "CTA 2") && strstr(err, "out of order"), "%s", err);
  records(t, w);
  t[0].first_tile_ns = 500; /* before its start */
  ck_assert(!skv_cta_timeline_summarize(t, w, 4, 10.0, &s, err, sizeof err));
  ck_assert(!skv_cta_timeline_summarize(t, w, 0, 10.0, &s, err, sizeof err));
}
END_TEST

START_TEST(csv_has_one_row_per_cta_relative_to_the_first_start) {
  skv_cta_times t[4];
  skv_work w[4];
  records(t, w);
  char dir[] = "/tmp/skv-timeline-XXXXXX", path[128], line[256], err[256];
  ck_assert(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/cta.csv", dir);
  ck_assert_msg(skv_cta_timeline_write_csv(path, t, w, 4, err, sizeof err), "%s", err);
  FILE *f = fopen(path, "r");
  ck_assert(f);
  const char *want[5] = {"cta,sm,request,kv_head,chunk,tokens,start_us,first_tile_us,loop_end_us,end_us\n",
                         "0,0,0,0,0,100,0.000,2.000,10.000,11.000\n", "1,0,0,1,0,100,11.000,12.000,19.000,20.000\n",
                         "2,3,1,0,0,600,0.000,4.000,29.000,30.000\n", "3,3,1,1,0,0,0.500,,0.500,1.000\n"};
  for (int i = 0; i < 5; i++) {
    ck_assert(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, want[i]);
  }
  ck_assert(!fgets(line, sizeof line, f));
  fclose(f);
  /* an unwritable place is an error that names it, and leaves nothing behind */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no-such-dir/cta.csv", dir);
  ck_assert(!skv_cta_timeline_write_csv(bad, t, w, 4, err, sizeof err));
  ck_assert_msg(strstr(err, "no-such-dir"), "%s", err);
  /* a refused record writes no file */
  snprintf(bad, sizeof bad, "%s/bad.csv", dir);
  t[3].end_ns = 1000;
  ck_assert(!skv_cta_timeline_write_csv(bad, t, w, 4, err, sizeof err));
  ck_assert_int_ne(access(bad, F_OK), 0);
  remove(path);
  ck_assert_int_eq(rmdir(dir), 0); /* empty: no temporary file left */
}
END_TEST

Suite *skv_suite_timeline(void) {
  Suite *s = suite_create("timeline");
  TCase *tc = tcase_create("cta");
  tcase_add_test(tc, summary_matches_the_hand_computed_values);
  tcase_add_test(tc, missing_or_disordered_records_are_refused);
  tcase_add_test(tc, csv_has_one_row_per_cta_relative_to_the_first_start);
  suite_add_tcase(s, tc);
  return s;
}
