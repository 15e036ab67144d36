/* cmd_merge.c — `skv merge RUN_DIR... --out DIR`: the shards of a suite run joined (harness/runner/merge.h). */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "runner/merge.h"
#include "runner/run.h"

int skv_cmd_merge(int argc, char **argv) {
  const char *out_dir = NULL;
  skv_arg_spec specs[] = {
      {"out", SKV_ARG_STRING, &out_dir, "DIR", "the merged run folder (required; made, must not hold a run)", 0, 0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[1024];
  enum { MAX_SHARDS = 4096 };
  static const char *pos[MAX_SHARDS];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, MAX_SHARDS, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv merge: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv merge RUN_DIR... --out DIR\n\n"
           "Join the shards of one suite run (skv run SUITE --shard I/N, every I from 0 to N-1, each complete,\n"
           "all of one suite file, commit and mode) into one run folder: results.csv with the rows in the\n"
           "suite's order, meta.json listing the shards (folder, run id, host, GPU, times), summary.md,\n"
           "report.html and the suite's plots. Shards that do not make one whole run are refused (exit 2).\n\n"
           "flags:\n");
    skv_args_print_help(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (!out_dir) {
    fprintf(stderr, "skv merge: --out DIR is required\n");
    return SKV_EXIT_USAGE;
  }
  if (npos < 1) {
    fprintf(stderr, "skv merge: expected the shards' run folders\n");
    return SKV_EXIT_USAGE;
  }
  return skv_merge_runs(pos, npos, out_dir);
}
