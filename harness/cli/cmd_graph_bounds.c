/* cmd_graph_bounds.c — `skv graph-bounds`: for a policy's CUDA-graph mode, which runtime shapes fit the captured bound, and what the policy does with the others. No GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/batch_flags.h"
#include "cli/commands.h"
#include "cost_model.h"
#include "graph_bound.h"
#include "runner/run.h"

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv graph-bounds [flags]\n\n"
             "For each capture size B (--captures) the graph a policy's CUDA-graph mode captures\n"
             "(sim/graph_bound.h: decode grid, scratch rows, chunks per merge), and for each runtime\n"
             "batch of B requests at each KV length (--contexts): what its plan needs, whether it fits,\n"
             "and what the policy does otherwise (vllm clamps its splits to max_num_splits, FlashInfer\n"
             "refuses a fixed_split_size plan past its padding, a policy without a graph mode runs\n"
             "eagerly). Prints a Markdown table; the predicted cost of a clamp is the cost model's time\n"
             "of the clamped plan over the unclamped one. Nothing runs on a GPU.\n\nflags:\n");
  skv_args_print_help(f, specs, n);
  fprintf(f, "\nexample: skv graph-bounds --policy vllm --cuda-graph --max-splits 16\n");
}

/* The predicted time of b's plan under (p, o), or -1 when it fails. */
static double predicted(const skv_batch *b, skv_policy p, const skv_policy_opts *o, const skv_gpu *g, skv_plan *keep) {
  skv_plan pl;
  char err[256];
  if (!skv_plan_build(b, p, o, g, &pl, err, sizeof err)) return -1;
  skv_prediction pr;
  const double t = skv_cost_predict(&pl, b, g, &pr) ? pr.total_us : -1;
  if (keep) *keep = pl;
  else skv_plan_free(&pl);
  return t;
}

int skv_cmd_graph_bounds(int argc, char **argv) {
  skv_batch_flags bf;
  skv_batch_flags_default(&bf);
  const char *captures = "1,8,64,256", *contexts = "1024,4096,16384,65536,131072";
  int64_t max_seqlen = 131072;
  skv_arg_spec specs[SKV_BATCH_FLAG_COUNT + 3];
  size_t n = skv_batch_flags_specs(&bf, specs);
  specs[n++] = (skv_arg_spec){"captures", SKV_ARG_STRING, &captures, "B1,B2,..",
                              "batch sizes captured, each replayed for batches of that many requests (default "
                              "1,8,64,256)", 0, 0, NULL};
  specs[n++] = (skv_arg_spec){"contexts", SKV_ARG_STRING, &contexts, "L1,L2,..",
                              "KV lengths of the runtime batches (default 1024,4096,16384,65536,131072)", 0, 0, NULL};
  specs[n++] = (skv_arg_spec){"max-seqlen", SKV_ARG_INT64, &max_seqlen, "L",
                              "the longest KV length a capture holds (default 131072)", 1, SKV_MAX_KVLEN, NULL};
  char err[512];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 0, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv graph-bounds: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (bf.seen_batch || bf.seen_seqlen || bf.seen_seqlens) {
    fprintf(stderr, "skv graph-bounds: --batch/--seqlen/--seqlens: give the shapes with --captures and --contexts\n");
    return SKV_EXIT_USAGE;
  }
  int64_t *caps = NULL, *ctxs = NULL;
  int32_t ncap = 0, nctx = 0;
  if (!skv_args_int64_list("captures", captures, 1, 1 << 20, &caps, &ncap, err, sizeof err) ||
      !skv_args_int64_list("contexts", contexts, 1, SKV_MAX_KVLEN, &ctxs, &nctx, err, sizeof err)) {
    fprintf(stderr, "skv graph-bounds: %s\n", err);
    free(caps);
    return SKV_EXIT_USAGE;
  }
  for (int32_t i = 0; i < nctx; i++)
    if (ctxs[i] > max_seqlen) {
      fprintf(stderr, "skv graph-bounds: --contexts: %lld is longer than --max-seqlen %lld\n", (long long)ctxs[i],
              (long long)max_seqlen);
      free(caps), free(ctxs);
      return SKV_EXIT_USAGE;
    }
  skv_batch shape;
  skv_policy policy;
  skv_gpus gpus;
  skv_gpu gpu;
  if (!skv_batch_flags_resolve(&bf, &shape, &policy, err, sizeof err) ||
      !skv_batch_flags_gpu(&bf, &gpus, &gpu, err, sizeof err)) {
    fprintf(stderr, "skv graph-bounds: %s\n", err);
    free(caps), free(ctxs);
    return SKV_EXIT_USAGE;
  }
  skv_gpus_free(&gpus);
  skv_policy_opts unbounded = bf.opts; /* the same policy without its graph mode */
  unbounded.cuda_graph = false;
  printf("| capture B | runtime L | bound CTAs | plan CTAs | bound scratch rows | plan scratch rows | fits | action |\n");
  printf("|---:|---:|---:|---:|---:|---:|---|---|\n");
  int rc = SKV_EXIT_OK;
  char source[200] = "";
  for (int32_t ci = 0; ci < ncap && rc == SKV_EXIT_OK; ci++) {
    skv_batch b;
    if (!skv_batch_uniform(&shape, (int32_t)caps[ci], shape.qlen[0], max_seqlen, &b)) {
      rc = SKV_EXIT_FAIL;
      break;
    }
    int64_t *kv = b.kvlen;
    skv_graph_bound g;
    char why[256];
    const bool have = skv_graph_bound_make(&b, policy, &bf.opts, &gpu, max_seqlen, &g, why, sizeof why);
    if (have) snprintf(source, sizeof source, "%s", g.source);
    for (int32_t li = 0; li < nctx; li++) {
      for (int32_t r = 0; r < b.num_requests; r++) kv[r] = ctxs[li];
      skv_plan pl;
      char pwhy[256];
      if (!skv_plan_build(&b, policy, &bf.opts, &gpu, &pl, pwhy, sizeof pwhy)) {
        char bc[32] = "–", br[32] = "–";
        if (have) snprintf(bc, sizeof bc, "%lld", (long long)g.ctas), snprintf(br, sizeof br, "%lld", (long long)g.partials);
        printf("| %lld | %lld | %s | – | %s | – | no | fails: %s |\n", (long long)caps[ci], (long long)ctxs[li], bc, br,
               pwhy);
        continue;
      }
      char fwhy[160] = "no capture";
      const bool fits = have && skv_graph_bound_fits(&g, &pl, &b, fwhy, sizeof fwhy);
      char action[300];
      if (!have) {
        snprintf(action, sizeof action, "no capture: %s", why);
      } else if (!fits) {
        snprintf(action, sizeof action, "eager (%s)", fwhy);
      } else if (bf.opts.cuda_graph) {
        skv_plan un;
        const double tb = predicted(&b, policy, &bf.opts, &gpu, NULL), tu = predicted(&b, policy, &unbounded, &gpu, &un);
        int64_t smax = 0, umax = 0, dummy;
        double mean;
        skv_plan_split_stats(&pl, &dummy, &smax, &mean);
        if (tu > 0) skv_plan_split_stats(&un, &dummy, &umax, &mean), skv_plan_free(&un);
        if (tu > 0 && umax != smax)
          snprintf(action, sizeof action, "replay, splits %lld (unbounded %lld): predicted %.3fx the unbounded plan",
                   (long long)smax, (long long)umax, tb / tu);
        else
          snprintf(action, sizeof action, "replay");
      } else {
        snprintf(action, sizeof action, "replay");
      }
      if (have)
        printf("| %lld | %lld | %lld | %lld | %lld | %lld | %s | %s |\n", (long long)caps[ci], (long long)ctxs[li],
               (long long)g.ctas, (long long)pl.num_work, (long long)g.partials, (long long)pl.num_partials,
               fits ? "yes" : "no", action);
      else
        printf("| %lld | %lld | – | %lld | – | %lld | no | %s |\n", (long long)caps[ci], (long long)ctxs[li],
               (long long)pl.num_work, (long long)pl.num_partials, action);
      skv_plan_free(&pl);
    }
    skv_batch_free(&b);
  }
  if (rc == SKV_EXIT_OK && source[0]) printf("\nBound: %s; captures hold KV lengths up to %lld.\n", source, (long long)max_seqlen);
  free(caps), free(ctxs);
  skv_batch_free(&shape);
  if (fflush(stdout) != 0) rc = SKV_EXIT_FAIL;
  return rc;
}
