/* check_model_error.c — the cost model's error summary (harness/out/model_error.h) on a results
 * table whose errors are known by construction. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/csv.h"
#include "out/model_error.h"
#include "suites.h"

/* Rows: bf16 with errors +1, -2, +3, -4, +5 % (|e| sorted 1 2 3 4 5: median 3, p90 the 5th = 5,
 * signed median +1); fp8 with -10, -20 % (median 15, p90 the 2nd = 20, signed -15); int8 K with
 * a bf16 V: +50 %; one row not measured. all: |e| 1 2 3 4 5 10 20 50 -> median 4.5, p90 the 8th
 * (ceil(7.2)) = 50. */
START_TEST(the_summary_has_the_errors_it_was_built_from) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/skv-model-error-%d.csv", (int)getpid());
  FILE *f = fopen(path, "w");
  ck_assert(f != NULL);
  fprintf(f, "config,kv_dtype,v_dtype,predicted_us,total_us\n");
  fprintf(f, "a,bf16,bf16,101,100\nb,bf16,bf16,98,100\nc,bf16,bf16,103,100\nd,bf16,bf16,96,100\ne,bf16,bf16,105,100\n");
  fprintf(f, "f,fp8_e4m3,fp8_e4m3,45,50\ng,fp8_e4m3,fp8_e4m3,160,200\nh,int8,bf16,15,10\ni,bf16,bf16,7,\n");
  ck_assert_int_eq(fclose(f), 0);
  skv_csv_table t;
  char err[256];
  ck_assert_msg(skv_csv_load(path, &t, err, sizeof err), "%s", err);
  skv_model_error e;
  ck_assert_msg(skv_model_error_of(&t, &e, err, sizeof err), "%s", err);
  ck_assert_int_eq(e.ng, 4);
  ck_assert_int_eq(e.unmeasured, 1);
  ck_assert_str_eq(e.g[0].cache, "bf16");
  ck_assert_str_eq(e.g[1].cache, "fp8_e4m3");
  ck_assert_str_eq(e.g[2].cache, "int8/bf16");
  ck_assert_str_eq(e.g[3].cache, "all");
  ck_assert_int_eq(e.g[0].n, 5);
  ck_assert_double_eq_tol(e.g[0].median, 3, 1e-9);
  ck_assert_double_eq_tol(e.g[0].p90, 5, 1e-9);
  ck_assert_double_eq_tol(e.g[0].bias, 1, 1e-9);
  ck_assert_double_eq_tol(e.g[1].median, 15, 1e-9);
  ck_assert_double_eq_tol(e.g[1].p90, 20, 1e-9);
  ck_assert_double_eq_tol(e.g[1].bias, -15, 1e-9);
  ck_assert_double_eq_tol(e.g[2].max, 50, 1e-9);
  ck_assert_int_eq(e.g[3].n, 8);
  ck_assert_double_eq_tol(e.g[3].median, 4.5, 1e-9);
  ck_assert_double_eq_tol(e.g[3].p90, 50, 1e-9);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  ck_assert(m != NULL);
  skv_model_error_markdown(m, &e);
  ck_assert_int_eq(fclose(m), 0);
  ck_assert_msg(strstr(buf, "| bf16 | 5 | 3.0% | 5.0% | 5.0% | +1.0% |"), "%s", buf);
  ck_assert_msg(strstr(buf, "left out (no measurement or no prediction): 1."), "%s", buf);
  free(buf);
  skv_csv_free(&t);
  unlink(path);
}
END_TEST

/* A missing column or a value that is not a number is an error, not a row of zeros. */
START_TEST(a_bad_table_is_refused) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/skv-model-error-bad-%d.csv", (int)getpid());
  static const char *const bodies[2] = {"config,kv_dtype,v_dtype,total_us\na,bf16,bf16,1\n",
                                        "config,kv_dtype,v_dtype,predicted_us,total_us\na,bf16,bf16,x1,2\n"};
  static const char *const want[2] = {"no column 'predicted_us'", "is not a positive number"};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(bodies[i], f);
    ck_assert_int_eq(fclose(f), 0);
    skv_csv_table t;
    char err[256];
    ck_assert_msg(skv_csv_load(path, &t, err, sizeof err), "%s", err);
    skv_model_error e;
    ck_assert(!skv_model_error_of(&t, &e, err, sizeof err));
    ck_assert_msg(strstr(err, want[i]), "%s", err);
    skv_csv_free(&t);
  }
  unlink(path);
}
END_TEST

Suite *skv_suite_model_error(void) {
  Suite *s = suite_create("model_error");
  TCase *tc = tcase_create("summary");
  tcase_add_test(tc, the_summary_has_the_errors_it_was_built_from);
  tcase_add_test(tc, a_bad_table_is_refused);
  suite_add_tcase(s, tc);
  return s;
}
