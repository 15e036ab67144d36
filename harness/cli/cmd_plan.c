/* cmd_plan.c — `skv plan`: plan one batch under one policy and print it as a table or JSON. */
#include <stdio.h>

#include "cli/args.h"
#include "runner/run.h"
#include "cli/batch_flags.h"
#include "cli/commands.h"
#include "out/plan_print.h"

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv plan [flags]\n\n"
             "Plan a batch under a split-KV policy and print the chunks of every request,\n"
             "the CTA count, waves and scratch sizes. Nothing runs on a GPU.\n\nflags:\n");
  skv_args_print_help(f, specs, n);
  fprintf(f, "\nexample: skv plan --policy lab --gpu h100-sxm --batch 16 --seqlen 4096 --hq 32 --hkv 8 --head-dim 128\n");
}

int skv_cmd_plan(int argc, char **argv) {
  skv_batch_flags bf;
  skv_batch_flags_default(&bf);
  bool json = false, work = false;
  skv_arg_spec specs[SKV_BATCH_FLAG_COUNT + 2];
  size_t n = skv_batch_flags_specs(&bf, specs);
  specs[n++] = (skv_arg_spec){"json", SKV_ARG_FLAG, &json, NULL, "print JSON instead of a table", 0, 0, NULL};
  specs[n++] = (skv_arg_spec){"work", SKV_ARG_FLAG, &work, NULL, "with --json: include the CTA and combine work lists",
                              0, 0, NULL};
  char err[512];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 0, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv plan: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (work && !json) {
    fprintf(stderr, "skv plan: --work: only with --json (the table has no work lists)\n");
    return SKV_EXIT_USAGE;
  }
  skv_batch b;
  skv_policy policy;
  if (!skv_batch_flags_resolve(&bf, &b, &policy, err, sizeof err)) {
    fprintf(stderr, "skv plan: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  skv_gpus gpus;
  skv_gpu gpu;
  if (!skv_batch_flags_gpu(&bf, &gpus, &gpu, err, sizeof err)) {
    fprintf(stderr, "skv plan: %s\n", err);
    skv_batch_free(&b);
    return SKV_EXIT_USAGE;
  }
  skv_gpus_free(&gpus);
  skv_plan p;
  if (!skv_plan_build(&b, policy, &bf.opts, &gpu, &p, err, sizeof err)) {
    fprintf(stderr, "skv plan: %s\n", err);
    skv_batch_free(&b);
    return SKV_EXIT_USAGE;
  }
  if (json) {
    skv_json j;
    skv_json_init(&j, stdout, 2);
    skv_plan_write_json(&j, &p, &b, work);
  } else {
    skv_plan_print_table(stdout, &p, &b);
  }
  int rc = fflush(stdout) == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
  skv_plan_free(&p);
  skv_batch_free(&b);
  return rc;
}
