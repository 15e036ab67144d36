/* cmd_model_error.c — `skv model-error RUN_DIR`: the cost model's error per cache over a measured run
 * (harness/out/model_error.h), as a Markdown table. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/run_dir_arg.h"
#include "out/model_error.h"
#include "runner/run.h"

int skv_cmd_model_error(int argc, char **argv) {
  static const char help[] =
      "usage: skv model-error RUN_DIR\n\n"
      "Print the cost model's error over a measured run's results.csv, per cache (K/V dtypes) and over\n"
      "all rows: (predicted - measured) / measured of each row's decode + combine time, its median,\n"
      "90th percentile and largest absolute value and its median signed value, as a Markdown table\n"
      "(the numbers of the model_error plot). No flags.\n";
  const char *dir;
  int rc;
  if (!skv_cli_run_dir(argc, argv, "model-error", help, &dir, &rc)) return rc;
  skv_csv_table t;
  if (!skv_cli_load_results("model-error", dir, &t)) return SKV_EXIT_USAGE;
  char err[1024];
  skv_model_error e;
  const bool ok = skv_model_error_of(&t, &e, err, sizeof err);
  skv_csv_free(&t);
  if (!ok) {
    fprintf(stderr, "skv model-error: %s/results.csv: %s\n", dir, err);
    return SKV_EXIT_USAGE;
  }
  if (e.ng == 0) {
    fprintf(stderr, "skv model-error: %s/results.csv: no row has both a measured and a predicted time (a sim-only run?)\n",
            dir);
    return SKV_EXIT_USAGE;
  }
  skv_model_error_markdown(stdout, &e);
  return SKV_EXIT_OK;
}
