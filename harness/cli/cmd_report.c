/* cmd_report.c — `skv report RUN_DIR`: (re)write a run's report.html (harness/out/report.h). */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/run_dir_arg.h"
#include "out/report.h"
#include "runner/run.h"

int skv_cmd_report(int argc, char **argv) {
  static const char help[] =
      "usage: skv report RUN_DIR\n\n"
      "Write RUN_DIR/report.html: the run's meta (suite, commit, command, GPU and its in-run\n"
      "ceilings, the GPU model), its summary tables (skv summary) and every plot in plots/ with its\n"
      "SVG inlined: one file, readable offline. skv run writes it at the end of every run. No flags.\n";
  const char *dir;
  int rc;
  if (!skv_cli_run_dir(argc, argv, "report", help, &dir, &rc)) return rc;
  char err[1024];
  int nplots = 0;
  if (!skv_report_write(dir, &nplots, err, sizeof err)) {
    fprintf(stderr, "skv report: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  fprintf(stderr, "skv report: %s/report.html (%d plots)\n", dir, nplots);
  return SKV_EXIT_OK;
}
