/* cmd_run.c — `skv run SUITE.yaml`: flags of the main job (the work is in run.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "runner/run.h"

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv run SUITE.yaml [flags]\n\n"
             "Run an experiment suite (experiments/README.md describes the format): for every\n"
             "configuration build the batch (seeded data), plan it, predict it with the cost model,\n"
             "run and check it on the GPU (numerics against the reference, and the checks the suite\n"
             "asks for), time it, and write results/<suite>/<run-id>/results.csv, meta.json and\n"
             "plots/. Without a GPU, or with --sim-only, the simulator runs instead: plans,\n"
             "predictions and CPU reference numerics; meta.json and the mode column say which\n"
             "columns were measured and which predicted. Bad YAML, an impossible configuration, one\n"
             "the GPU kernels refuse (on a GPU; a simulated run flags it), or a --dump/--trace path\n"
             "that cannot be written exits 2 before any GPU work and before the run directory exists.\n"
             "\nflags:\n");
  skv_args_print_help(f, specs, n);
}

int skv_cmd_run(int argc, char **argv) {
  skv_run_opts o;
  memset(&o, 0, sizeof o);
  const char *shard = NULL;
  skv_arg_spec specs[] = {
      {"out", SKV_ARG_STRING, &o.out_dir, "DIR", "the run directory (default results/<suite>/<run-id>)", 0, 0, NULL},
      {"sim-only", SKV_ARG_FLAG, &o.sim_only, NULL, "do not use the GPU: planner, cost model, CPU reference", 0, 0,
       NULL},
      {"no-cupti", SKV_ARG_FLAG, &o.no_cupti, NULL, "time with CUDA events (beside ncu or compute-sanitizer)", 0, 0,
       NULL},
      {"resume", SKV_ARG_FLAG, &o.resume, NULL,
       "continue an interrupted run (--out DIR, or the newest unfinished run of the suite)", 0, 0, NULL},
      {"trace", SKV_ARG_STRING, &o.trace_path, "FILE", "write a Chrome-trace JSON (kernels, ranges) for Perfetto; GPU runs only", 0,
       0, NULL},
      {"dump", SKV_ARG_STRING, &o.dump_dir, "DIR", "write each configuration's inputs/outputs as .npy + plan.json", 0,
       0, NULL},
      {"gpus", SKV_ARG_STRING, &o.gpus_path, "FILE", "GPU models (default experiments/gpus.yaml)", 0, 0, NULL},
      {"plots-only", SKV_ARG_FLAG, &o.plots_only, NULL, "redraw the plots of the run in --out DIR from its results.csv",
       0, 0, NULL},
      {"shard", SKV_ARG_STRING, &shard, "I/N",
       "run shard I of N: the configurations whose position in the suite is I mod N (skv merge joins the shards)", 0,
       0, NULL},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[512];
  const char *pos[2];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 1, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv run: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (npos != 1) {
    fprintf(stderr, "skv run: expected one suite file (skv run SUITE.yaml [flags])\n");
    return SKV_EXIT_USAGE;
  }
  if (o.trace_path && o.no_cupti) {
    fprintf(stderr, "skv run: --trace: needs CUPTI's kernel records (drop --no-cupti)\n");
    return SKV_EXIT_USAGE;
  }
  if (shard) {
    int si = -1, sn = 0, used = 0;
    if (sscanf(shard, "%d/%d%n", &si, &sn, &used) != 2 || shard[used] != '\0' || sn < 1 || sn > 100000 || si < 0 ||
        si >= sn) {
      fprintf(stderr, "skv run: --shard: '%s' is not I/N with 0 <= I < N <= 100000\n", shard);
      return SKV_EXIT_USAGE;
    }
    if (o.plots_only) {
      fprintf(stderr, "skv run: --shard: not with --plots-only (redraw a shard's run with --out alone)\n");
      return SKV_EXIT_USAGE;
    }
    o.shard_index = si, o.shard_count = sn;
  }
  o.suite_path = pos[0];
  /* The command line, for meta.json. */
  char command[2048] = "skv run";
  for (int i = 0; i < argc; i++) {
    strncat(command, " ", sizeof command - strlen(command) - 1);
    strncat(command, argv[i], sizeof command - strlen(command) - 1);
  }
  o.command = command;
  return skv_run_suite(&o);
}
