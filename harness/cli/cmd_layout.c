/* cmd_layout.c — `skv layout`: FA2's LSE layout table (kernel write x host path); --demo: the bug in numbers. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "runner/run.h"
#include "cli/commands.h"
#include "out/json.h"
#include "cli/layout_dcp.h"
#include "dcp.h"
#include "gpu/gpu_lse_demo.h"
#include "lse_demo.h"
#include "lse_layout.h"

/* Table defaults: small enough to print, large enough that every wrong row
 * misplaces most elements (with batch 1 the transposes are no-ops). */
#define TABLE_BATCH 3
#define TABLE_HKV 2
#define TABLE_GROUPS 4
#define TABLE_QLEN 2 /* query tokens per request in the not-swapped rows */
#define TABLE_MAX_ELEMS ((int64_t)1 << 22)
/* Demo defaults: FA2 splits the first batch (3 splits) and not the second. */
#define DEMO_BATCH_SPLIT 8
#define DEMO_BATCH_NOSPLIT 24
#define DEMO_PAGE 16
/* The demo's work: the reference and the chunked partial states each take
 * every (request, q head, key) pair over d dimensions, the KV regenerated on
 * demand, so its time grows as requests x hq x (prefix + seqlen) x d summed
 * over its batches. The default (batches 8 and 24, hq 32, 5120 keys, d 128)
 * is 6.7e8, about 10 s on one core; flags in range could ask for a million
 * times that and run without a word. More than 2^31 (about 3x the default,
 * half a minute) is refused before any work. */
#define DEMO_MAX_WORK ((int64_t)1 << 31)

typedef struct layout_flags {
  bool json, demo, gpu, dcp;
  int32_t batch, hkv, groups, sms, world, interleave;
  int64_t seqlen, prefix;
  bool seen_batch, seen_hkv, seen_groups, seen_sms, seen_seqlen, seen_prefix, seen_world, seen_interleave;
} layout_flags;

static void usage(FILE *f, const skv_arg_spec *specs, size_t n) {
  fprintf(f, "usage: skv layout [--json] [--batch B] [--hkv K] [--groups G]\n"
             "       skv layout --demo [--gpu] [--json] [--batch B] [--hkv K] [--groups G] [--sms N] [--seqlen L]\n"
             "                         [--prefix P]\n"
             "       skv layout --dcp [--json] [--hkv K] [--groups G] [--world W] [--interleave I]\n\n"
             "Model of FlashAttention-2's softmax LSE layouts (vllm-project/flash-attention PR #87):\n"
             "for GQA swap x unpadded LSE x kernel path (standard / split-1 / combine) x host code\n"
             "(fa2-upstream, vllm-fork-before-fix, vllm-fork-after-fix), does the caller receive its\n"
             "logical LSE ([hq, tokens], as merge_attn_states reads it; padded API: [b, hq, sq])?\n"
             "--demo runs vLLM's cascade attention on the CPU through each host path and prints\n"
             "the error of the merged output (default: a batch FA2 splits and one it does not);\n"
             "its work, requests x hq x (prefix + seqlen) x d over its batches, is at most 2^31\n"
             "(the default's is 6.7e8, about 10 s). --demo --gpu also runs it end to end on the GPU:\n"
             "the lab's kernels write the suffix LSE through FA2's layout, each host path hands the\n"
             "raw buffer over as the model says it reads it, and the cascade merge kernel combines\n"
             "the states; the GPU's errors are printed beside the simulator's prediction.\n"
             "--dcp prints the decode-context-parallel hand-off: for each LSE layout the attention call\n"
             "returns ([H,T] or [T,H]), the host's transpose or not, its base and the merge's, and the\n"
             "merge's empty-shard guard, whether vLLM's cp_lse_ag_out_rs merges the ranks right\n"
             "(executed in double on a DCP plan over W ranks against unsplit attention).\n\nflags:\n");
  skv_args_print_help(f, specs, n);
  fprintf(f, "\nexample: skv layout --batch 3 --hkv 2 --groups 4;  skv layout --demo --json\n");
}

/* The demo's batches: B alone with --batch, else one FA2 splits and one it does not. */
static int32_t demo_batches(const layout_flags *lf, int32_t batches[2]) {
  batches[0] = lf->seen_batch ? lf->batch : DEMO_BATCH_SPLIT;
  batches[1] = DEMO_BATCH_NOSPLIT;
  return lf->seen_batch ? 1 : 2;
}

/* The demo's configuration for one batch: its defaults, overridden by the flags given. */
static void demo_config(const layout_flags *lf, int32_t batch, skv_lse_demo_config *c) {
  skv_lse_demo_config_default(c);
  c->batch = batch;
  if (lf->seen_hkv) c->kv_heads = lf->hkv;
  if (lf->seen_groups) c->groups = lf->groups;
  if (lf->seen_sms) c->num_sms = lf->sms;
  if (lf->seen_seqlen) c->suffix = lf->seqlen;
  if (lf->seen_prefix) c->prefix = lf->prefix;
}

/* Work as DEMO_MAX_WORK counts it (at most 2^50 with the flags' ranges: no overflow). */
static int64_t demo_work(const layout_flags *lf) {
  int32_t batches[2];
  const int32_t n = demo_batches(lf, batches);
  int64_t work = 0;
  for (int32_t i = 0; i < n; i++) {
    skv_lse_demo_config c;
    demo_config(lf, batches[i], &c);
    work += (int64_t)c.batch * c.kv_heads * c.groups * (c.prefix + c.suffix) * c.head_dim;
  }
  return work;
}

/* Check flag combinations; every message names a flag. */
static bool check_flags(const layout_flags *lf, char *err, size_t errlen) {
  const struct {
    bool seen;
    const char *name;
  } demo_only[] = {{lf->seen_sms, "sms"}, {lf->seen_seqlen, "seqlen"}, {lf->seen_prefix, "prefix"}, {lf->gpu, "gpu"}};
  for (size_t i = 0; i < sizeof demo_only / sizeof demo_only[0]; i++)
    if (demo_only[i].seen && !lf->demo) {
      snprintf(err, errlen, "--%s: only with --demo", demo_only[i].name);
      return false;
    }
  if (lf->dcp && (lf->demo || lf->seen_batch)) {
    snprintf(err, errlen, "--dcp: not with %s (the hand-off table makes its own batches)", lf->demo ? "--demo" : "--batch");
    return false;
  }
  if ((lf->seen_world || lf->seen_interleave) && !lf->dcp) {
    snprintf(err, errlen, "--%s: only with --dcp", lf->seen_world ? "world" : "interleave");
    return false;
  }
  if (lf->gpu && lf->prefix == 0) {
    snprintf(err, errlen, "--gpu: the GPU cascade needs a shared prefix (--prefix > 0)");
    return false;
  }
  if (lf->prefix % DEMO_PAGE != 0) {
    snprintf(err, errlen, "--prefix: must be a multiple of the page size %d (got %" PRId64 ")", DEMO_PAGE,
             lf->prefix);
    return false;
  }
  if (lf->demo && demo_work(lf) > DEMO_MAX_WORK) {
    snprintf(err, errlen,
             "--batch/--hkv/--groups/--seqlen/--prefix: the demo's work, requests x hq x (prefix + seqlen) x d "
             "= %" PRId64 ", is more than its limit %" PRId64 " (about half a minute); lower one of them",
             demo_work(lf), DEMO_MAX_WORK);
    return false;
  }
  if (!lf->demo && (int64_t)lf->batch * lf->hkv * lf->groups * TABLE_QLEN > TABLE_MAX_ELEMS) {
    snprintf(err, errlen,
             "--batch: batch x hkv x groups x %d = %" PRId64 " LSE elements, more than the table's %" PRId64,
             TABLE_QLEN, (int64_t)lf->batch * lf->hkv * lf->groups * TABLE_QLEN, TABLE_MAX_ELEMS);
    return false;
  }
  return true;
}

/* ---------------------------------------------------------------- table */

static const char *kernel_splits(skv_lse_kernel k) { return k == SKV_LSE_COMBINE ? ">1" : "1"; }

/* "swapped, unpadded, >1 splits (combine)": the conditions of one row. */
static void row_conditions(const skv_lse_row *r, char *buf, size_t len) {
  snprintf(buf, len, "%s, %s, %s split%s (%s)", r->c.swapped ? "swapped" : "not swapped",
           r->c.unpadded ? "unpadded" : "padded", kernel_splits(r->c.kernel), r->c.kernel == SKV_LSE_COMBINE ? "s" : "",
           skv_lse_kernel_name(r->c.kernel));
}

/* Wrong rows of host path hp, optionally only the paged/combine ones (the
 * issue's 24 rows: vLLM's KV is always paged, so split-1 or combine). */
static int32_t wrong_rows(const skv_lse_row *rows, skv_lse_host hp, bool paged_only, int32_t *total, int32_t *idx) {
  int32_t n = 0;
  *total = 0;
  for (int32_t i = 0; i < SKV_LSE_TABLE_ROWS; i++) {
    const skv_lse_row *r = &rows[i];
    if (r->c.host != hp || (paged_only && r->c.kernel == SKV_LSE_STANDARD)) continue;
    (*total)++;
    if (!r->correct) idx[n++] = i;
  }
  return n;
}

static void print_table(FILE *f, const layout_flags *lf, const skv_lse_row *rows) {
  fprintf(f, "FA2 softmax LSE: kernel write layout x host code -> does the caller get its logical LSE?\n");
  fprintf(f, "shape: batch %d, hkv %d, groups %d (hq %d); not-swapped rows have %d query tokens per request\n",
          lf->batch, lf->hkv, lf->groups, lf->hkv * lf->groups, TABLE_QLEN);
  fprintf(f, "internal coordinate (b, h, sq): swapped (request, kv head, index in group), else (request, q head,\n"
             "query token); orders list the axes outermost first. 'host reads' is the order the host code assumes\n"
             "the kernel wrote: the row is right when it equals 'writes'. caller: [hq,tokens] is what\n"
             "merge_attn_states reads; padded rows use their API's documented [b,hq,sq].\n\n");
  fprintf(f, "%-4s %-5s %-6s %-8s %-20s %-4s %-11s %-8s %-10s %-6s %-9s %s\n", "swap", "unpad", "splits", "kernel",
          "host", "vLLM", "caller", "writes", "host reads", "result", "misplaced", "host ops");
  for (int32_t i = 0; i < SKV_LSE_TABLE_ROWS; i++) {
    const skv_lse_row *r = &rows[i];
    char mis[32];
    snprintf(mis, sizeof mis, "%" PRId64 "/%" PRId64, r->misplaced, r->elements);
    fprintf(f, "%-4s %-5s %-6s %-8s %-20s %-4s %-11s %-8s %-10s %-6s %-9s %s\n", r->c.swapped ? "yes" : "no",
            r->c.unpadded ? "yes" : "no", kernel_splits(r->c.kernel), skv_lse_kernel_name(r->c.kernel),
            skv_lse_host_name(r->c.host), r->vllm ? "yes" : "", r->caller, r->kernel_order, r->host_order,
            r->correct ? "OK" : "WRONG", mis, r->ops);
    if (!r->correct) fprintf(f, "%38s e.g. %s\n", "", r->example);
  }
  fprintf(f, "\nkernel paths: standard = compute_attn_1rowblock (1 split, contiguous KV); split-1 =\n"
             "compute_attn_1rowblock_splitkv with Split=false (1 split, paged KV); combine =\n"
             "combine_attn_seqk_parallel (num_splits > 1). vLLM = a path vLLM's FlashAttention backend takes.\n");
  fprintf(f, "\nsummary (computed from the rows above):\n");
  int32_t idx[SKV_LSE_TABLE_ROWS], total;
  for (int32_t pass = 0; pass < 2; pass++) {
    if (pass == 1)
      fprintf(f, "  the issue's 24 rows (split-1 and combine: paged KV, as vLLM runs FA2):\n");
    for (int32_t hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
      const int32_t n = wrong_rows(rows, (skv_lse_host)hp, pass == 1, &total, idx);
      fprintf(f, "%s%-21s ", pass ? "    " : "  ", skv_lse_host_name((skv_lse_host)hp));
      if (n == 0) fprintf(f, "right in all %d rows\n", total);
      else fprintf(f, "WRONG in %d of %d: ", n, total);
      for (int32_t k = 0; k < n; k++) {
        char cond[96];
        row_conditions(&rows[idx[k]], cond, sizeof cond);
        fprintf(f, "%s%s%s", k ? "; " : "", cond, rows[idx[k]].vllm ? " [vLLM path]" : "");
      }
      if (n) fputc('\n', f);
    }
  }
  /* Rows no entry point reaches (one per host path; print each condition once). */
  for (int32_t i = 0; i < SKV_LSE_TABLE_ROWS; i++) {
    if (rows[i].c.host != SKV_LSE_HOST_UPSTREAM || strncmp(rows[i].api, "none", 4) != 0) continue;
    char cond[96];
    row_conditions(&rows[i], cond, sizeof cond);
    fprintf(f, "  unreachable (%s): %s\n", cond, rows[i].api + strlen("none: "));
  }
}

static void write_table_json(skv_json *j, const layout_flags *lf, const skv_lse_row *rows) {
  skv_json_object_begin(j);
  skv_json_kv_string(j, "command", "layout");
  skv_json_key(j, "shape");
  skv_json_object_begin(j);
  skv_json_kv_int(j, "batch", lf->batch);
  skv_json_kv_int(j, "kv_heads", lf->hkv);
  skv_json_kv_int(j, "groups", lf->groups);
  skv_json_kv_int(j, "q_heads", (int64_t)lf->hkv * lf->groups);
  skv_json_kv_int(j, "qlen_not_swapped", TABLE_QLEN);
  skv_json_object_end(j);
  skv_json_key(j, "rows");
  skv_json_array_begin(j);
  for (int32_t i = 0; i < SKV_LSE_TABLE_ROWS; i++) {
    const skv_lse_row *r = &rows[i];
    char lay[160];
    skv_json_object_begin(j);
    skv_json_kv_bool(j, "swapped", r->c.swapped);
    skv_json_kv_bool(j, "unpadded", r->c.unpadded);
    skv_json_kv_string(j, "num_splits", kernel_splits(r->c.kernel));
    skv_json_kv_string(j, "kernel_path", skv_lse_kernel_name(r->c.kernel));
    skv_json_kv_string(j, "host_path", skv_lse_host_name(r->c.host));
    skv_json_kv_string(j, "api", r->api);
    skv_json_kv_bool(j, "vllm", r->vllm);
    skv_json_kv_string(j, "caller_layout", r->caller);
    skv_json_kv_string(j, "kernel_writes", r->kernel_order);
    skv_layout_format(&r->kernel, lay, sizeof lay);
    skv_json_kv_string(j, "kernel_layout", lay);
    skv_json_kv_string(j, "host_reads", r->host_order);
    skv_json_kv_string(j, "host_ops", r->ops);
    skv_json_kv_int(j, "host_copies", r->copies);
    skv_json_kv_bool(j, "returned_contiguous", r->contiguous);
    skv_json_kv_bool(j, "correct", r->correct);
    skv_json_kv_int(j, "misplaced", r->misplaced);
    skv_json_kv_int(j, "elements", r->elements);
    if (r->correct) skv_json_kv_string(j, "example", "");
    else skv_json_kv_string(j, "example", r->example);
    skv_json_object_end(j);
  }
  skv_json_array_end(j);
  skv_json_key(j, "summary");
  skv_json_array_begin(j);
  int32_t idx[SKV_LSE_TABLE_ROWS], total, total_paged, idx_paged[SKV_LSE_TABLE_ROWS];
  for (int32_t hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
    const int32_t n = wrong_rows(rows, (skv_lse_host)hp, false, &total, idx);
    const int32_t np = wrong_rows(rows, (skv_lse_host)hp, true, &total_paged, idx_paged);
    skv_json_object_begin(j);
    skv_json_kv_string(j, "host_path", skv_lse_host_name((skv_lse_host)hp));
    skv_json_kv_int(j, "rows", total);
    skv_json_kv_int(j, "wrong", n);
    skv_json_key(j, "wrong_rows");
    skv_json_array_begin(j);
    for (int32_t k = 0; k < n; k++) {
      char cond[96];
      row_conditions(&rows[idx[k]], cond, sizeof cond);
      skv_json_string(j, cond);
    }
    skv_json_array_end(j);
    skv_json_kv_int(j, "paged_rows", total_paged);
    skv_json_kv_int(j, "paged_wrong", np);
    skv_json_object_end(j);
  }
  skv_json_array_end(j);
  skv_json_object_end(j);
}

static int run_table(const layout_flags *lf) {
  skv_lse_row rows[SKV_LSE_TABLE_ROWS];
  char err[256];
  if (!skv_lse_table(lf->batch, lf->hkv, lf->groups, TABLE_QLEN, rows, err, sizeof err)) {
    fprintf(stderr, "skv layout: %s\n", err);
    return SKV_EXIT_FAIL;
  }
  if (lf->json) {
    skv_json j;
    skv_json_init(&j, stdout, 2);
    write_table_json(&j, lf, rows);
  } else {
    print_table(stdout, lf, rows);
  }
  return fflush(stdout) == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}

/* ---------------------------------------------------------------- demo */

typedef struct demo_run {
  skv_lse_demo_config cfg;
  skv_lse_demo_result res;
  bool on_gpu;
  skv_lse_demo_result gpu; /* --gpu: the same cascade on the GPU (gpu_lse_demo.h) */
  char writes[64]; /* the suffix kernel's write order */
} demo_run;

static bool run_one_demo(demo_run *d, char *err, size_t errlen) {
  if (!skv_lse_demo_run(&d->cfg, &d->res, err, errlen)) return false;
  if (d->on_gpu && !skv_gpu_lse_demo_run(&d->cfg, &d->gpu, err, errlen)) return false;
  if (d->on_gpu && d->gpu.num_splits != d->res.num_splits) {
    snprintf(err, errlen, "demo --gpu: the GPU run planned %d splits, the simulator %d", d->gpu.num_splits,
             d->res.num_splits);
    return false;
  }
  skv_layout w;
  if (!skv_lse_write_layout(d->res.kernel, true, true, d->cfg.batch, d->cfg.kv_heads, d->cfg.groups, &w, err, errlen))
    return false;
  skv_lse_axis_order(&w, d->writes, sizeof d->writes);
  return true;
}

static void print_demo(FILE *f, const demo_run *runs, int32_t n) {
  const skv_lse_demo_config *c = &runs[0].cfg;
  fprintf(f, "PR #87 in numbers: vLLM cascade attention on FA2, on the CPU in double precision%s\n",
          runs[0].on_gpu ? " (left) and on the GPU (right)" : "");
  fprintf(f, "  prefix call: %" PRId64 " shared tokens, not swapped, 1 split (LSE [hq,tokens], right on every path)\n",
          c->prefix);
  fprintf(f, "  suffix call: %" PRId64 " tokens per request, GQA-swapped decode, paged KV, FA2's num_splits;\n"
             "               partial states from the reference, merged in chunk order as combine does\n",
          c->suffix);
  fprintf(f, "  merge: merge_attn_states (LSE read [hq,tokens]); error vs attention over all %" PRId64 " tokens\n",
          c->prefix + c->suffix);
  fprintf(f, "  hq %d, hkv %d, d %d, page %d, %d SMs, q amplitude %g (scores std ~%.1f), seed %" PRIu64 "\n",
          c->kv_heads * c->groups, c->kv_heads, c->head_dim, c->page_size, c->num_sms, (double)c->q_amp,
          (double)c->q_amp * 0.3333, c->seed);
  for (int32_t i = 0; i < n; i++) {
    const demo_run *d = &runs[i];
    const int64_t elems = (int64_t)d->cfg.batch * d->cfg.kv_heads * d->cfg.groups;
    fprintf(f, "\nbatch %d: %s\n  -> the %s kernel writes the suffix LSE as %s\n", d->cfg.batch, d->res.plan_why,
            skv_lse_kernel_name(d->res.kernel), d->writes);
    if (!d->on_gpu)
      fprintf(f, "  %-21s %-20s %-11s %-11s %s\n", "host path", "suffix LSE", "O rel err", "O max abs", "LSE max abs");
    else
      fprintf(f, "  %-21s %-20s %-11s %-11s %-11s | %-20s %-11s %-11s %s\n", "host path", "sim: suffix LSE", "O rel err",
              "O max abs", "LSE max abs", "GPU: suffix LSE", "O rel err", "O max abs", "LSE max abs");
    for (int32_t hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
      const skv_lse_demo_host *h = &d->res.host[hp];
      char lse[48];
      if (h->lse_misplaced == 0) snprintf(lse, sizeof lse, "right");
      else snprintf(lse, sizeof lse, "%" PRId64 "/%" PRId64 " misplaced", h->lse_misplaced, elems);
      fprintf(f, "  %-21s %-20s %-11.2e %-11.2e %-11.2e", skv_lse_host_name((skv_lse_host)hp), lse, h->o_rel,
              h->o_max_abs, h->lse_max_abs);
      if (d->on_gpu) {
        const skv_lse_demo_host *g = &d->gpu.host[hp];
        if (g->lse_misplaced == 0) snprintf(lse, sizeof lse, "right");
        else snprintf(lse, sizeof lse, "%" PRId64 "/%" PRId64 " misplaced", g->lse_misplaced, elems);
        fprintf(f, " | %-20s %-11.2e %-11.2e %.2e", lse, g->o_rel, g->o_max_abs, g->lse_max_abs);
      }
      fputc('\n', f);
    }
  }
  if (runs[0].on_gpu)
    fprintf(f, "\nGPU: the lab's kernels (bf16 data and output) ran both passes; the suffix LSE buffer as FA2's layout\n"
               "writes it, handed over by each host path as the model says it reads it, merged by the cascade merge\n"
               "kernel; errors against the double reference. Rounding on the GPU is bf16's (~1e-3), the simulator's\n"
               "double's.\n");
}

static void write_demo_json(skv_json *j, const demo_run *runs, int32_t n) {
  const skv_lse_demo_config *c = &runs[0].cfg;
  skv_json_object_begin(j);
  skv_json_kv_string(j, "command", "layout --demo");
  skv_json_key(j, "config");
  skv_json_object_begin(j);
  skv_json_kv_int(j, "num_sms", c->num_sms);
  skv_json_kv_int(j, "kv_heads", c->kv_heads);
  skv_json_kv_int(j, "q_heads", (int64_t)c->kv_heads * c->groups);
  skv_json_kv_int(j, "head_dim", c->head_dim);
  skv_json_kv_int(j, "page_size", c->page_size);
  skv_json_kv_int(j, "prefix", c->prefix);
  skv_json_kv_int(j, "suffix", c->suffix);
  skv_json_kv_double(j, "q_amp", c->q_amp);
  skv_json_kv_int(j, "seed", (int64_t)c->seed);
  skv_json_object_end(j);
  skv_json_key(j, "batches");
  skv_json_array_begin(j);
  for (int32_t i = 0; i < n; i++) {
    const demo_run *d = &runs[i];
    skv_json_object_begin(j);
    skv_json_kv_int(j, "batch", d->cfg.batch);
    skv_json_kv_int(j, "num_splits", d->res.num_splits);
    skv_json_kv_string(j, "plan", d->res.plan_why);
    skv_json_kv_string(j, "kernel_path", skv_lse_kernel_name(d->res.kernel));
    skv_json_kv_string(j, "kernel_writes", d->writes);
    skv_json_kv_int(j, "lse_elements", (int64_t)d->cfg.batch * d->cfg.kv_heads * d->cfg.groups);
    skv_json_key(j, "hosts");
    skv_json_array_begin(j);
    for (int32_t hp = 0; hp < SKV_LSE_HOST_COUNT; hp++) {
      const skv_lse_demo_host *h = &d->res.host[hp];
      skv_json_object_begin(j);
      skv_json_kv_string(j, "host_path", skv_lse_host_name((skv_lse_host)hp));
      skv_json_kv_int(j, "lse_misplaced", h->lse_misplaced);
      skv_json_kv_double(j, "o_rel_error", h->o_rel);
      skv_json_kv_double(j, "o_max_abs_error", h->o_max_abs);
      skv_json_kv_double(j, "lse_max_abs_error", h->lse_max_abs);
      if (d->on_gpu) {
        const skv_lse_demo_host *g = &d->gpu.host[hp];
        skv_json_key(j, "gpu");
        skv_json_object_begin(j);
        skv_json_kv_int(j, "lse_misplaced", g->lse_misplaced);
        skv_json_kv_double(j, "o_rel_error", g->o_rel);
        skv_json_kv_double(j, "o_max_abs_error", g->o_max_abs);
        skv_json_kv_double(j, "lse_max_abs_error", g->lse_max_abs);
        skv_json_object_end(j);
      }
      skv_json_object_end(j);
    }
    skv_json_array_end(j);
    skv_json_object_end(j);
  }
  skv_json_array_end(j);
  skv_json_object_end(j);
}

static int run_demo(const layout_flags *lf) {
  demo_run runs[2];
  int32_t n = 0, batches[2];
  const int32_t count = demo_batches(lf, batches);
  char err[256];
  for (; n < count; n++) {
    demo_config(lf, batches[n], &runs[n].cfg);
    runs[n].on_gpu = lf->gpu;
    if (!run_one_demo(&runs[n], err, sizeof err)) {
      fprintf(stderr, "skv layout: %s\n", err);
      return SKV_EXIT_FAIL;
    }
  }
  if (lf->json) {
    skv_json j;
    skv_json_init(&j, stdout, 2);
    write_demo_json(&j, runs, n);
  } else {
    print_demo(stdout, runs, n);
  }
  return fflush(stdout) == 0 ? SKV_EXIT_OK : SKV_EXIT_FAIL;
}

int skv_cmd_layout(int argc, char **argv) {
  skv_lse_demo_config dc;
  skv_lse_demo_config_default(&dc);
  layout_flags lf = {.world = 4, .interleave = 16, .batch = TABLE_BATCH, .hkv = TABLE_HKV, .groups = TABLE_GROUPS, .sms = dc.num_sms,
                     .seqlen = dc.suffix, .prefix = dc.prefix};
  const skv_arg_spec specs[] = {
      {"json", SKV_ARG_FLAG, &lf.json, NULL, "print JSON instead of a table", 0, 0, NULL},
      {"demo", SKV_ARG_FLAG, &lf.demo, NULL, "run vLLM's cascade attention through each host path (CPU)", 0, 0, NULL},
      {"gpu", SKV_ARG_FLAG, &lf.gpu, NULL, "demo: also run it end to end on the GPU (needs a CUDA build and device)", 0, 0,
       NULL},
      {"dcp", SKV_ARG_FLAG, &lf.dcp, NULL, "the decode-context-parallel LSE hand-off table (CPU)", 0, 0, NULL},
      {"world", SKV_ARG_INT, &lf.world, "W", "dcp: ranks (default 4)", 2, SKV_DCP_MAX_WORLD, &lf.seen_world},
      {"interleave", SKV_ARG_INT, &lf.interleave, "I", "dcp: tokens per block dealt to a rank (default 16)", 1, 65536,
       &lf.seen_interleave},
      {"batch", SKV_ARG_INT, &lf.batch, "B", "requests (table: default 3; demo: one batch of B instead of 8 and 24)",
       1, 4096, &lf.seen_batch},
      {"hkv", SKV_ARG_INT, &lf.hkv, "K", "KV heads (table: default 2; demo: 8)", 1, 256, &lf.seen_hkv},
      {"groups", SKV_ARG_INT, &lf.groups, "G", "q heads per KV head, 2..64: the GQA swap needs hq > hkv (default 4)",
       2, 64, &lf.seen_groups},
      {"sms", SKV_ARG_INT, &lf.sms, "N", "demo: SMs of the GPU FA2 plans for (default 108, A100)", 1, 4096,
       &lf.seen_sms},
      {"seqlen", SKV_ARG_INT64, &lf.seqlen, "L", "demo: suffix tokens per request after the prefix (default 4096)", 1,
       65536, &lf.seen_seqlen},
      {"prefix", SKV_ARG_INT64, &lf.prefix, "P", "demo: shared prefix tokens, a multiple of 16 (default 1024)", 0,
       65536, &lf.seen_prefix},
  };
  const size_t n = sizeof specs / sizeof specs[0];
  char err[512];
  const char *pos[1];
  int npos;
  bool help;
  if (!skv_args_parse(argc, argv, specs, n, pos, 0, &npos, &help, err, sizeof err)) {
    fprintf(stderr, "skv layout: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (help) {
    usage(stdout, specs, n);
    return SKV_EXIT_OK;
  }
  if (!check_flags(&lf, err, sizeof err)) {
    fprintf(stderr, "skv layout: %s\n", err);
    return SKV_EXIT_USAGE;
  }
  if (lf.dcp) return skv_layout_dcp_run(lf.hkv, lf.groups, lf.world, lf.interleave, lf.json);
  return lf.demo ? run_demo(&lf) : run_table(&lf);
}
