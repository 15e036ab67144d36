/* suites.h — the list of Check suites the runner executes (one per tests/check_*.c). */
#ifndef SKV_TEST_SUITES_H
#define SKV_TEST_SUITES_H

#include <check.h>
#include <stddef.h>

Suite *skv_suite_dtype(void);
Suite *skv_suite_plan(void);
Suite *skv_suite_reference(void);
Suite *skv_suite_cli(void);
Suite *skv_suite_layout(void);
Suite *skv_suite_cost(void);
Suite *skv_suite_cost_fit(void);
Suite *skv_suite_model_error(void);
Suite *skv_suite_report(void);
Suite *skv_suite_sharding(void);
Suite *skv_suite_run(void);
Suite *skv_suite_quant(void);
Suite *skv_suite_suite(void);
Suite *skv_suite_swizzle(void);
Suite *skv_suite_timeline(void);
Suite *skv_suite_resume(void);
Suite *skv_suite_determinism(void);
Suite *skv_suite_cascade(void);
Suite *skv_suite_dcp(void);

static Suite *(*const skv_test_suites[])(void) = {
    skv_suite_dtype, skv_suite_plan, skv_suite_reference, skv_suite_cli, skv_suite_layout, skv_suite_cost, skv_suite_cost_fit, skv_suite_model_error, skv_suite_report, skv_suite_sharding, skv_suite_run, skv_suite_quant,
    skv_suite_suite, skv_suite_swizzle, skv_suite_timeline, skv_suite_resume, skv_suite_determinism, skv_suite_cascade, skv_suite_dcp, NULL,
};

#endif /* SKV_TEST_SUITES_H */
