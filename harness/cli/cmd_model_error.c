/* cmd_model_error.c — `skv model-error RUN_DIR`: the cost model's error per cache over a measured run
 * (harness/out/model_error.h), as a Markdown table. */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "out/csv.h"
#include "out/model_error.h"
#include "runner/run.h"

int skv_cmd_model_error(int argc, char **argv) {
  char err[1024];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, NULL, 0, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv model-error: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv model-error RUN_DIR\n\n"
           "Print the cost model's error over a measured run's results.csv, per cache (K/V dtypes) and over\n"
           "all rows: (predicted - measured) / measured of each row's decode + combine time, its median,\n"
           "90th percentile and largest absolute value and its median signed value, as a Markdown table\n"
           "(the numbers of the model_error plot). No flags.\n");
    return SKV_EXIT_OK;
  }
  if (npos != 1) {
    fprintf(stderr, "skv model-error: expected one argument, the run directory\n");
    return SKV_EXIT_USAGE;
  }
  char csv[1100];
  snprintf(csv, sizeof csv, "%s/results.csv", pos[0]);
  skv_csv_table t;
  if (!skv_csv_load(csv, &t, err, sizeof err)) {
    fprintf(stderr, "skv model-error: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  skv_model_error e;
  const bool ok = skv_model_error_of(&t, &e, err, sizeof err);
  skv_csv_free(&t);
  if (!ok) {
    fprintf(stderr, "skv model-error: %s: %s\n", csv, err);
    return SKV_EXIT_USAGE;
  }
  if (e.ng == 0) {
    fprintf(stderr, "skv model-error: %s: no row has both a measured and a predicted time (a sim-only run?)\n", csv);
    return SKV_EXIT_USAGE;
  }
  skv_model_error_markdown(stdout, &e);
  return SKV_EXIT_OK;
}
