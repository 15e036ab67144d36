/* gpu_bench.c — `skv bench decode` on a GPU: ceilings, then every (B, L) point under every policy, checked then timed. */
#include "gpu/bench.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/atomic_file.h"
#include "out/csv.h"
#include "prof/cta_timeline.h"
#include "cuda_check.h"
#include "gpu/calibrate.h"
#include "gpu/gpu_ceiling.h"
#include "gpu/gpu_exec.h"
#include "gpu/gpu_graph.h"
#include "gpu/gpu_cupti.h"
#include "gpu/gpu_info.h"
#include "gpu/gpu_timing.h"
#include "check/numerics.h"
#include "plan.h"
#include "prof/stats.h"

/* --timeline: one more run of the row's plan with CTA timelines; the records go to
 * <dir>/cta-<kv dtype>-<B>x<L>-<policy>[-fused|-pdl].csv and a summary line to out. The run reads the
 * pool replica the timed runs would have used next (the least recently read, so not from L2). */
static bool timeline_row(const skv_bench_opts *o, skv_gpu_batch *g, skv_gpu_plan *gp, const skv_plan *pl,
                         const skv_gpu_rotation *rot, int32_t B, int64_t L, int k, const char *suffix, FILE *out,
                         char *err, size_t errlen) {
  skv_cta_times *t = malloc(sizeof *t * (size_t)(pl->num_work > 0 ? pl->num_work : 1));
  if (!t) {
    snprintf(err, errlen, "out of memory");
    return false;
  }
  int64_t tokens = 0;
  for (int64_t i = 0; i < pl->num_work; i++) tokens += pl->work[i].kv_end - pl->work[i].kv_begin;
  char path[1000]; /* within skv_atomic_file's names */
  if ((size_t)snprintf(path, sizeof path, "%s/cta-%s-%dx%lld-%s%s.csv", o->timeline_dir, skv_dtype_name(o->kv_dtype),
                       B, (long long)L, skv_policy_name(o->policies[k]), suffix) >= sizeof path) {
    free(t);
    snprintf(err, errlen, "--timeline: directory name too long");
    return false;
  }
  skv_cta_timeline_summary s;
  skv_gpu_rotation_use(g, rot, (int64_t)o->warmup + o->repeat);
  const bool ran = skv_gpu_run_timed_ctas(g, gp, t, err, errlen);
  skv_gpu_rotation_use(g, rot, 0);
  const bool ok = ran &&
                  skv_cta_timeline_summarize(t, pl->work, pl->num_work,
                                             tokens > 0 ? (double)(g->kv_read.kv + g->kv_read.scales) / (double)tokens : 0, &s, err,
                                             errlen) &&
                  skv_cta_timeline_write_csv(path, t, pl->work, pl->num_work, err, errlen);
  free(t);
  if (ok)
    fprintf(out,
            "      CTA timeline: span %.1f us; prologue p50 %.2f, p90 %.2f us; per-SM GB/s min %.1f median %.1f max %.1f "
            "(%d SMs); drain %.1f us; TB/s before it %.2f, in it %.2f -> %s\n",
            s.span_us, s.prologue_p50_us, s.prologue_p90_us, s.sm_gbps_min, s.sm_gbps_median, s.sm_gbps_max, s.sms,
            s.drain_us, s.gbps_before_drain * 1e-3, s.gbps_in_drain * 1e-3, path);
  return ok;
}

/* --graph: capture plan pl of batch b (its workload w on g) at its policy's bound, replay it, and
 * compare with the eager run's outputs (eo, el: logical LSE); then time a step both ways. A plan
 * past its bound (a policy without a graph mode, captured at its plan of the longest batch) runs
 * eagerly: *fits false, why in err, true returned. */
static bool graph_row(const skv_batch *b, skv_policy p, const skv_policy_opts *po, const skv_gpu *model, int64_t L,
                      const skv_gpu_batch *g, const skv_gpu_plan *gp, const skv_workload *w, const skv_plan *pl,
                      const void *eo, const float *el, const skv_bench_opts *o, bool *fits, bool *same,
                      double *graph_us, double *eager_us, char *err, size_t errlen) {
  skv_graph_bound bound;
  if (!skv_graph_bound_make(b, p, po, model, L > 131072 ? L : 131072, &bound, err, errlen)) return false;
  *fits = skv_graph_bound_fits(&bound, pl, b, err, errlen);
  if (!*fits) return true;
  skv_gpu_graph gr;
  if (!skv_gpu_graph_capture(g, &bound, &gr, err, errlen)) return false;
  const int64_t hq = g->prob.num_q_heads, T = g->prob.total_q;
  void *go = malloc((size_t)g->o_elems * 2);
  float *gl = malloc((size_t)g->lse_elems * sizeof(float));
  bool ok = go && gl;
  if (!ok) snprintf(err, errlen, "out of memory");
  ok = ok && skv_gpu_graph_load(&gr, w, pl, err, errlen) && skv_gpu_graph_run_once(&gr, go, gl, err, errlen);
  if (ok) {
    *same = memcmp(go, eo, (size_t)g->o_elems * 2) == 0;
    for (int64_t t = 0; t < T && *same; t++)
      for (int64_t h = 0; h < hq && *same; h++) *same = memcmp(&gl[t * hq + h], &el[h * T + t], sizeof(float)) == 0;
    ok = skv_gpu_graph_time(&gr, g, gp, o->warmup, o->repeat, graph_us, eager_us, err, errlen);
  }
  free(go), free(gl);
  skv_gpu_graph_free(&gr);
  return ok;
}

int skv_bench_decode_run(const skv_bench_opts *o, FILE *out) {
  char err[1024];
  skv_gpu_info info;
  if (!skv_gpu_present()) {
    fprintf(stderr, "skv bench: no CUDA device on this host\n");
    return 1;
  }
  if (!skv_gpu_info_get(&info, err, sizeof err)) {
    fprintf(stderr, "skv bench: %s\n", err);
    return 1;
  }
  if (o->pdl && info.cc_major < 9) {
    fprintf(stderr, "skv bench: --pdl: programmatic dependent launch needs compute capability 9.0 (%s is %d.%d)\n",
            info.name, info.cc_major, info.cc_minor);
    return 1;
  }
  if (o->use_cupti && !skv_cupti_start(err, sizeof err)) {
    fprintf(stderr, "skv bench: CUPTI: %s (run with --no-cupti beside ncu or compute-sanitizer)\n", err);
    return 1;
  }
  /* The device's model (lab plans with it); a GPU gpus.yaml does not know is calibrated first. */
  skv_gpu model;
  const skv_gpu *known = skv_gpus_match(o->gpus, info.name, info.sm_count);
  const char *model_source = "gpus.yaml's entry for this device";
  if (known) {
    model = *known;
  } else {
    fprintf(stderr, "skv bench: %s (%d SMs) has no entry in %s: calibrating a model on the spot (skv calibrate)\n",
            info.name, info.sm_count, o->gpus->path);
    skv_calibrate_opts co;
    skv_calibrate_opts_default(&co);
    co.use_cupti = o->use_cupti, co.checks = false, co.version = o->version;
    skv_calibration *cal = malloc(sizeof *cal);
    if (!cal || !skv_calibrate(&co, cal, NULL, err, sizeof err)) {
      fprintf(stderr, "skv bench: calibrating this GPU failed: %s\n", cal ? err : "out of memory");
      free(cal);
      return 1;
    }
    model = cal->gpu;
    free(cal);
    model_source = "calibrated on the spot";
  }
  skv_ceilings ceil;
  if (!skv_gpu_measure_ceilings(o->ceiling_bytes, 10, o->use_cupti, &ceil, err, sizeof err)) {
    fprintf(stderr, "skv bench: ceilings: %s\n", err);
    return 1;
  }
  fprintf(out, "# skv bench decode — %s, %d SMs, L2 %lld MB, driver %d, runtime %d, skv %s\n", info.name,
          info.sm_count, (long long)(info.l2_bytes >> 20), info.driver_version, info.runtime_version, o->version);
  fprintf(out, "# ceilings (%.1f GiB buffers): read-only stream %.3f TB/s (the best reader: %s), device copy %.3f TB/s "
               "(read+write)\n# readers (TB/s, %s):",
          (double)o->ceiling_bytes / (1 << 30), ceil.read_tbps, skv_read_stream_name(ceil.read_variant), ceil.copy_tbps,
          ceil.read_cupti ? "CUPTI kernel durations" : "CUDA events around each launch");
  for (int v = 0; v < SKV_READ_STREAM_VARIANTS; v++)
    if (ceil.reader_tbps[v] > 0) fprintf(out, "%s %s %.3f", v ? ";" : "", skv_read_stream_name(v), ceil.reader_tbps[v]);
  fprintf(out, "\n");
  fprintf(out, "# GPU model %s (%s): lab plans with it, taper %d; decode grid: %s\n", model.name, model_source, o->taper,
          o->persistent ? "persistent (min(work items, resident CTAs) CTAs taking items from a queue)" : "one CTA per work item");
  fprintf(out, "# q %s, KV %s%s%s%s, hq %d, hkv %d, d %d, page %d; median of %d runs after %d warm-ups; KV rotated past "
               "4x L2\n",
          skv_dtype_name(o->dtype), skv_dtype_name(o->kv_dtype), o->v_dtype != SKV_DTYPE_COUNT ? " (V " : "",
          o->v_dtype != SKV_DTYPE_COUNT ? skv_dtype_name(o->v_dtype) : "",
          o->v_dtype != SKV_DTYPE_COUNT ? ")" : (o->kv_dtype == SKV_FP8_E4M3 && o->per_token_head ? ", per-token-head scales" : ""),
          o->hq, o->hkv, o->head_dim, o->page_size, o->repeat, o->warmup);
  fprintf(out, "# times: %s\n",
          o->use_cupti ? "CUPTI kernel durations (total = decode + combine kernel time)"
                       : "CUDA events around each kernel (include launch gaps)");
  fprintf(out, "# TB/s: bytes read (K and V elements, and their scales) over the total time\n");
  fprintf(out, "# span: a run's first kernel start to its last kernel end (median; CUPTI), gaps and overlaps included\n");
  fprintf(out, "%5s %7s %-10s %6s %6s %-7s %9s %9s %9s %9s %7s %6s %8s %8s %9s %9s\n", "B", "L", "policy", "splits", "CTAs",
          "combine", "decode_us", "comb_us", "total_us", "span_us", "TB/s", "/read", "Gtok/s", "combine%", "o_rel_err",
          "lse_err");
  skv_atomic_file csv_file;
  FILE *csv = NULL;
  if (o->csv_path) {
    if (!skv_atomic_open(&csv_file, o->csv_path, err, sizeof err)) {
      fprintf(stderr, "skv bench: --csv: %s\n", err);
      return 1;
    }
    csv = csv_file.f;
    fprintf(csv, "gpu,sms,skv_version,B,L,hq,hkv,head_dim,page_size,q_dtype,kv_dtype,v_dtype,policy,num_splits_max,ctas,combine,decode_us,"
                 "combine_us,total_us,total_min_us,total_max_us,kv_bytes,scale_bytes,tbps,read_ceiling_tbps,copy_ceiling_tbps,"
                 "frac_of_read_ceiling,tokens_per_s,combine_share,o_rel_err,o_max_abs,lse_max_abs,graph_us,eager_us,"
                 "graph_bits,span_us\n");
  }
  int rc = 0;
  for (int pi = 0; pi < o->npoints && rc == 0; pi++) {
    const int32_t B = o->points[pi].batch;
    const int64_t L = o->points[pi].seqlen;
    skv_batch b;
    if (!skv_batch_alloc(&b, B)) return 1;
    for (int32_t r = 0; r < B; r++) b.kvlen[r] = L, b.qlen[r] = 1;
    b.num_q_heads = o->hq, b.num_kv_heads = o->hkv, b.head_dim = o->head_dim, b.page_size = o->page_size;
    b.kv_dtype = o->kv_dtype;
    b.v_dtype = o->v_dtype == SKV_DTYPE_COUNT ? o->kv_dtype : o->v_dtype;
    b.kv_scale_mode = o->per_token_head ? SKV_SCALE_PER_TOKEN_HEAD : SKV_SCALE_PER_TENSOR;
    skv_workload_opts wo;
    skv_workload_opts_default(&wo);
    wo.seed = 2026 + (uint64_t)pi;
    wo.q_dtype = o->dtype;
    if (o->kv_dtype == SKV_FP8_E4M3 && !o->per_token_head) wo.quant.k_scale = 0.5f, wo.quant.v_scale = 0.25f;
    if (o->dtype == SKV_FP8_E4M3) wo.quant.q_scale = 0.75f;
    wo.materialize = false;
    skv_workload w;
    skv_gpu_batch g;
    skv_gpu_rotation rot;
    if (!skv_workload_make(&b, &wo, &w, err, sizeof err) || !skv_gpu_batch_upload(&w, NULL, &g, err, sizeof err) ||
        !skv_gpu_rotation_make(&g, &w, info.l2_bytes, &rot, err, sizeof err)) {
      fprintf(stderr, "skv bench: B=%d L=%lld: %s\n", B, (long long)L, err);
      skv_batch_free(&b);
      return 1;
    }
    /* The double reference of the first and last request, once per point. */
    const int32_t reqs[2] = {0, B - 1};
    const int32_t nreqs = B > 1 ? 2 : 1;
    double *ref_o = NULL, *ref_lse = NULL;
    if (!skv_numerics_reference(&w, reqs, nreqs, &ref_o, &ref_lse)) {
      fprintf(stderr, "skv bench: out of memory for the reference\n");
      return 1;
    }
    void *host_o = malloc((size_t)g.o_elems * 2); /* bf16 or fp16 output */
    float *host_lse = malloc((size_t)g.lse_elems * sizeof(float));
    double best_tbps = 0, best_kernel_tbps = 0, best_combine = 0;
    char best_name[48] = "-";
    for (int k = 0; k < o->npolicies && rc == 0; k++) {
      skv_plan pl;
      skv_gpu_plan gp;
      skv_policy_opts popts;
      skv_policy_opts_default(&popts);
      popts.taper = o->taper;
      if (!skv_plan_build(&b, o->policies[k], &popts, &model, &pl, err, sizeof err) ||
          !skv_gpu_plan_upload(&pl, w.page_indptr, &gp, err, sizeof err)) {
        fprintf(stderr, "skv bench: plan %s: %s\n", skv_policy_name(o->policies[k]), err);
        rc = 1;
        break;
      }
      /* A split plan runs merged by the combine kernel, fused into decode, and (--pdl) with the combine
       * launched as decode's programmatic dependent, as --combine and --pdl ask. */
      enum { M_KERNEL, M_FUSED, M_PDL };
      int mlist[3], modes = 0;
      if (pl.num_combine == 0 || o->combine_modes != SKV_BENCH_COMBINE_FUSED) mlist[modes++] = M_KERNEL;
      if (pl.num_combine > 0 && o->combine_modes != SKV_BENCH_COMBINE_KERNEL) mlist[modes++] = M_FUSED;
      if (pl.num_combine > 0 && o->pdl) mlist[modes++] = M_PDL;
      for (int mi = 0; mi < modes && rc == 0; mi++) {
        const int mode = mlist[mi];
        const bool fused = mode == M_FUSED;
        gp.dev.fused_combine = fused;
        gp.dev.pdl = mode == M_PDL;
        gp.dev.persistent = o->persistent;
        const char *combine = pl.num_combine == 0 ? "-" : (fused ? "fused" : mode == M_PDL ? "pdl" : "kernel");
        /* Check before timing: first and last request against the double reference, all outputs written. */
        skv_numerics num = {0, 0, 0, 0, 0};
        skv_timing t;
        memset(&t, 0, sizeof t);
        bool ok = skv_gpu_poison(&g, err, sizeof err) && skv_gpu_run(&g, &gp, 0, err, sizeof err) &&
                  skv_gpu_download(&g, host_o, host_lse, err, sizeof err);
        if (ok) {
          int64_t nan = skv_count_nan(g.prob.o_dtype, host_o, g.o_elems, host_lse, g.lse_elems);
          skv_numerics_compare(&w, g.prob.o_dtype, host_o, host_lse, &g.prob.lse_layout, reqs, nreqs, ref_o, ref_lse,
                               &num);
          const double tol = o->dtype == SKV_FP16 ? 2e-3 : 1e-2;
          if (ok && (nan != 0 || num.o_rel_l2 > tol || num.lse_max_abs > 1e-3)) {
            snprintf(err, sizeof err, "numerics failed: %lld unwritten, rel err %.3g, lse err %.3g", (long long)nan,
                     num.o_rel_l2, num.lse_max_abs);
            ok = false;
          }
        }
        if (ok)
          ok = skv_gpu_time(&g, &gp, &rot, o->warmup, o->repeat, o->use_cupti,
                            ((uint64_t)(pi + 1) << 32) | ((uint64_t)(k + 1) << 20) | ((uint64_t)mode << 16), NULL,
                            &t, err, sizeof err);
        if (!ok) {
          fprintf(stderr, "skv bench: B=%d L=%lld %s: %s\n", B, (long long)L, skv_policy_name(o->policies[k]), err);
          rc = 1;
        } else {
          int64_t smin, smax;
          double smean;
          skv_plan_split_stats(&pl, &smin, &smax, &smean);
          const double tbps = (double)(g.kv_read.kv + g.kv_read.scales) / (t.total_us * 1e-6) / 1e12;
          if (mode == M_KERNEL && tbps > best_kernel_tbps) {
            best_kernel_tbps = tbps;
            best_combine = t.combine_us / t.total_us;
          }
          if (tbps > best_tbps) {
            best_tbps = tbps;
            snprintf(best_name, sizeof best_name, "%s%s", skv_policy_name(o->policies[k]),
                     fused ? "+fused" : mode == M_PDL ? "+pdl" : "");
          }
          fprintf(out, "%5d %7lld %-10s %6lld %6lld %-7s %9.2f %9.2f %9.2f %9.2f %7.3f %6.3f ", B, (long long)L,
                  skv_policy_name(o->policies[k]), (long long)smax, (long long)pl.num_work, combine, t.decode_us,
                  t.combine_us, t.total_us, t.span_us, tbps, tbps / ceil.read_tbps);
          const double tokps = (double)B * (double)L / (t.total_us * 1e-6);
          fprintf(out, "%8.2f %7.1f%% %9.2e %9.2e\n", tokps / 1e9, 100.0 * t.combine_us / t.total_us, num.o_rel_l2,
                  num.lse_max_abs);
          /* --graph: the same plan captured at its policy's bound, replayed; bits against the checked
           * eager run (host_o, host_lse: logical LSE), then a step replayed and eager. */
          bool gr_ok = false, graph_same = false, fits = false;
          double graph_us = NAN, eager_us = NAN;
          if (o->graph && mode == M_KERNEL && rc == 0) {
            if (!graph_row(&b, o->policies[k], &popts, &model, L, &g, &gp, &w, &pl, host_o, host_lse, o, &fits,
                           &graph_same, &graph_us, &eager_us, err, sizeof err)) {
              fprintf(stderr, "skv bench: B=%d L=%lld %s: graph: %s\n", B, (long long)L, skv_policy_name(o->policies[k]),
                      err);
              rc = 1;
            } else if (!fits) {
              fprintf(out, "      graph: the plan does not fit its capture (%s): it runs eagerly\n", err);
            } else {
              gr_ok = true;
              fprintf(out, "      graph: replay %.2f us, eager %.2f us per step (CUDA events, back-to-back), %s\n",
                      graph_us, eager_us, graph_same ? "the eager bits" : "BITS DIFFER");
              if (!graph_same) rc = 1;
            }
          }
          if (o->timeline_dir && !timeline_row(o, &g, &gp, &pl, &rot, B, L, k,
                                                  fused ? "-fused" : mode == M_PDL ? "-pdl" : "", out, err, sizeof err)) {
            fprintf(stderr, "skv bench: B=%d L=%lld %s: CTA timeline: %s\n", B, (long long)L,
                    skv_policy_name(o->policies[k]), err);
            rc = 1;
          }
          fflush(out);
          if (csv) {
            skv_csv_write_field(csv, info.name);
            fprintf(csv, ",%d,", info.sm_count);
            skv_csv_write_field(csv, o->version);
            fprintf(csv,
                    ",%d,%lld,%d,%d,%d,%d,%s,%s,%s,%s,%lld,%lld,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%lld,%lld,%.4f,%.4f,%.4f,%.4f,"
                    "%.4e,%.4f,%.3e,%.3e,%.3e",
                    B, (long long)L, o->hq, o->hkv, o->head_dim, o->page_size, skv_dtype_name(o->dtype),
                    skv_dtype_name(o->kv_dtype), skv_dtype_name(b.v_dtype), skv_policy_name(o->policies[k]),
                    (long long)smax, (long long)pl.num_work, combine, t.decode_us, t.combine_us, t.total_us, t.total_min_us, t.total_max_us,
                    (long long)g.kv_read.kv, (long long)g.kv_read.scales, tbps, ceil.read_tbps, ceil.copy_tbps,
                    tbps / ceil.read_tbps, tokps, t.combine_us / t.total_us, num.o_rel_l2, num.o_max_abs,
                    num.lse_max_abs);
            if (gr_ok) fprintf(csv, ",%.3f,%.3f,%s", graph_us, eager_us, graph_same ? "yes" : "no");
            else fprintf(csv, ",,,");
            fprintf(csv, ",%.3f\n", t.span_us);
          }
        }
      }
      skv_gpu_plan_free(&gp);
      skv_plan_free(&pl);
    }
    if (rc == 0) {
      fprintf(out, "      best: %s %.3f TB/s = %.3f of the read ceiling; combine kernel %.1f%% of the fastest unfused total\n",
              best_name, best_tbps, best_tbps / ceil.read_tbps, 100 * best_combine);
    }
    free(host_o);
    free(host_lse);
    free(ref_o);
    free(ref_lse);
    skv_gpu_rotation_free(&rot);
    skv_gpu_batch_free(&g);
    skv_workload_free(&w);
    skv_batch_free(&b);
  }
  if (o->use_cupti) skv_cupti_stop();
  if (csv && !skv_atomic_commit(&csv_file, rc == 0, err, sizeof err) && rc == 0) {
    fprintf(stderr, "skv bench: --csv: %s\n", err);
    rc = 1;
  }
  return rc;
}
