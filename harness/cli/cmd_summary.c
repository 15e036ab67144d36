/* cmd_summary.c — `skv summary RUN_DIR`: a run's per-shape-group Markdown tables (harness/out/summary.h). */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "out/csv.h"
#include "out/summary.h"
#include "runner/run.h"

int skv_cmd_summary(int argc, char **argv) {
  char err[1024];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, NULL, 0, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv summary: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv summary RUN_DIR\n\n"
           "Print a run's results as Markdown, one table per shape group (the configuration's columns\n"
           "other than the policy): each policy's time (measured: the median, the min-max over the\n"
           "repeats, the fraction of the in-run read ceiling and the model's error; simulated: the\n"
           "predicted time), its ratio to the group's best, and its check verdict; then the count of\n"
           "rows per verdict. skv run prints the same at the end of a run and writes it to summary.md.\n"
           "No flags.\n");
    return SKV_EXIT_OK;
  }
  if (npos != 1) {
    fprintf(stderr, "skv summary: expected one argument, the run directory\n");
    return SKV_EXIT_USAGE;
  }
  char csv[1100];
  snprintf(csv, sizeof csv, "%s/results.csv", pos[0]);
  skv_csv_table t;
  if (!skv_csv_load(csv, &t, err, sizeof err)) {
    fprintf(stderr, "skv summary: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  const bool ok = skv_summary_write(stdout, &t, err, sizeof err);
  skv_csv_free(&t);
  if (!ok) {
    fprintf(stderr, "skv summary: %s: %s\n", csv, err);
    return SKV_EXIT_USAGE;
  }
  return SKV_EXIT_OK;
}
