/* main.c — the skv command line: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "runner/run.h"
#include "cli/commands.h"
#include "runner/version.h"


typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

/* `skv version`: the commit and the build; it takes no flags but --help. */
static int cmd_version(int argc, char **argv) {
  char err[256];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, NULL, 0, pos, 0, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv version: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    printf("usage: skv version\n\nPrint the version (the git commit skv was built from) and whether it was built\n"
           "with the CUDA kernels. No flags.\n");
    return SKV_EXIT_OK;
  }
  printf("skv %s (%s)\n", skv_version,
#ifdef SKV_WITH_CUDA
         "with CUDA kernels"
#else
         "CPU only: built without CUDA"
#endif
  );
  return SKV_EXIT_OK;
}

static const command commands[] = {
    {"run", skv_cmd_run, "run an experiment suite (YAML): plan, predict, run and check on the GPU, record, plot"},
    {"plan", skv_cmd_plan, "plan a batch under a split-KV policy (table or --json)"},
    {"graph-bounds", skv_cmd_graph_bounds, "a policy's CUDA-graph bound: which runtime shapes fit it, what happens to the rest"},
    {"layout", skv_cmd_layout, "FA2 LSE layouts: kernel write x host code table; --demo: the PR #87 bug in numbers"},
    {"bench", skv_cmd_bench, "bench decode: the decode kernels over the benchmark grid, with ceilings (GPU)"},
    {"calibrate", skv_cmd_calibrate, "measure this GPU's cost-model numbers, fit them, print a gpus.yaml entry (GPU)"},
    {"summary", skv_cmd_summary, "a run's results as Markdown tables, one per shape group"},
    {"merge", skv_cmd_merge, "join the shards of a suite run (skv run --shard I/N) into one run folder"},
    {"report", skv_cmd_report, "write a run's report.html: meta, summary tables, plots (SVG inlined)"},
    {"compare", skv_cmd_compare, "two runs row by row: B / A per configuration, noise verdicts, geometric means"},
    {"model-error", skv_cmd_model_error, "the cost model's error per cache over a measured run (Markdown)"},
    {"version", cmd_version, "print the version (git commit) and build options"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: skv <command> [flags]    (skv <command> --help for its flags)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? SKV_EXIT_USAGE : SKV_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) return cmd_version(argc - 2, argv + 2);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
  fprintf(stderr, "skv: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return SKV_EXIT_USAGE;
}
