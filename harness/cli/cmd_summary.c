/* cmd_summary.c — `skv summary RUN_DIR`: a run's per-shape-group Markdown tables (harness/out/summary.h). */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/run_dir_arg.h"
#include "out/peers.h"
#include "out/summary.h"
#include "runner/run.h"

int skv_cmd_summary(int argc, char **argv) {
  static const char help[] =
      "usage: skv summary RUN_DIR\n\n"
      "Print a run's results as Markdown, one table per shape group (the configuration's columns\n"
      "other than the policy): each policy's time (measured: the median, the min-max and the\n"
      "interquartile range over the repeats, the fraction of the in-run read ceiling and the model's\n"
      "error; simulated: the predicted time), its ratio to the group's best, and its check verdict;\n"
      "then the count of rows per verdict. skv run prints the same at the end of a run and writes it\n"
      "to summary.md. When the run directory holds peers.csv (peers/skv_peers.py: other libraries\n"
      "timed on the run's configurations), a last table sets the lab's best beside each peer. No flags.\n";
  const char *dir;
  int rc;
  if (!skv_cli_run_dir(argc, argv, "summary", help, &dir, &rc)) return rc;
  skv_csv_table t;
  if (!skv_cli_load_results("summary", dir, &t)) return SKV_EXIT_USAGE;
  char err[1024];
  skv_csv_table peers;
  bool have_peers = false, ok = skv_summary_write(stdout, &t, err, sizeof err);
  if (ok && !skv_peers_load(dir, &t, &peers, &have_peers, err, sizeof err)) {
    skv_csv_free(&t);
    fprintf(stderr, "skv summary: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (ok && have_peers) ok = skv_summary_write_peers(stdout, &t, &peers, err, sizeof err);
  if (have_peers) skv_csv_free(&peers);
  skv_csv_free(&t);
  if (!ok) {
    fprintf(stderr, "skv summary: %s/results.csv: %s\n", dir, err);
    return SKV_EXIT_USAGE;
  }
  return SKV_EXIT_OK;
}
