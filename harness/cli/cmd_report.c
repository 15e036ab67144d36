/* cmd_report.c — `skv report RUN_DIR`: (re)write a run's report.html (harness/out/report.h). */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "out/report.h"
#include "runner/run.h"

int skv_cmd_report(int argc, char **argv) {
  char err[1024];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, NULL, 0, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv report: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv report RUN_DIR\n\n"
           "Write RUN_DIR/report.html: the run's meta (suite, commit, command, GPU and its in-run\n"
           "ceilings, the GPU model), its summary tables (skv summary) and every plot in plots/ with its\n"
           "SVG inlined: one file, readable offline. skv run writes it at the end of every run. No flags.\n");
    return SKV_EXIT_OK;
  }
  if (npos != 1) {
    fprintf(stderr, "skv report: expected one argument, the run directory\n");
    return SKV_EXIT_USAGE;
  }
  int nplots = 0;
  if (!skv_report_write(pos[0], &nplots, err, sizeof err)) {
    fprintf(stderr, "skv report: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  fprintf(stderr, "skv report: %s/report.html (%d plots)\n", pos[0], nplots);
  return SKV_EXIT_OK;
}
