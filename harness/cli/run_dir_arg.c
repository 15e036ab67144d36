/* run_dir_arg.c — one run folder as the only argument (run_dir_arg.h). */
#include "cli/run_dir_arg.h"

#include <stdio.h>

#include "cli/args.h"
#include "runner/run.h"

bool skv_cli_run_dir(int argc, char **argv, const char *cmd, const char *help, const char **dir, int *exit_code) {
  char err[1024];
  const char *pos[1];
  int npos;
  bool want_help;
  if (!skv_args_parse(argc, argv, NULL, 0, pos, 1, &npos, &want_help, err, sizeof err)) {
    fprintf(stderr, "skv %s: %s\n", cmd, err);
    *exit_code = SKV_EXIT_USAGE;
    return false;
  }
  if (want_help) {
    fputs(help, stdout);
    *exit_code = SKV_EXIT_OK;
    return false;
  }
  if (npos != 1) {
    fprintf(stderr, "skv %s: expected one argument, the run directory\n", cmd);
    *exit_code = SKV_EXIT_USAGE;
    return false;
  }
  *dir = pos[0];
  return true;
}

bool skv_cli_load_results(const char *cmd, const char *dir, skv_csv_table *t) {
  char path[1100], err[1024];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  if (skv_csv_load(path, t, err, sizeof err)) return true;
  fprintf(stderr, "skv %s: %s\n", cmd, err);
  return false;
}
