/* sim_bench.c — `skv bench sim`: plans per second of every policy, the cost model's prediction included. */
#include "prof/sim_bench.h"

#include <stdlib.h>
#include <time.h>

#include "cost_model.h"
#include "plan.h"
#include "rng.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int skv_sim_bench_run(const skv_sim_bench_opts *o, FILE *out) {
  char err[512];
  char lengths[96];
  if (o->seqlen > 0) snprintf(lengths, sizeof lengths, "every request %lld tokens", (long long)o->seqlen);
  else
    snprintf(lengths, sizeof lengths, "lengths uniform in [1, %lld], %d compositions per batch size, cycled",
             (long long)o->max_seqlen, o->compositions);
  fprintf(out, "# skv bench sim — plan + predict on the CPU for GPU model %s (%d SMs); q bf16, hq 32, hkv 8, d 128, "
               "page 16; %s\n", o->gpu->name, o->gpu->sms, lengths);
  fprintf(out, "%-10s %6s %12s %12s %10s\n", "policy", "B", "plans/s", "us/plan", "plans");
  for (int bi = 0; bi < o->nbatches; bi++) {
    const int32_t B = o->batches[bi];
    skv_batch *bs = calloc((size_t)o->compositions, sizeof *bs);
    if (!bs) {
      fprintf(stderr, "skv bench sim: out of memory\n");
      return 1;
    }
    skv_rng rng;
    skv_rng_seed(&rng, 2026 + (uint64_t)B);
    int made = 0, rc = 0;
    for (; made < o->compositions; made++) {
      skv_batch *b = &bs[made];
      if (!skv_batch_alloc(b, B)) {
        fprintf(stderr, "skv bench sim: out of memory\n");
        rc = 1;
        break;
      }
      for (int32_t r = 0; r < B; r++)
        b->kvlen[r] = o->seqlen > 0 ? o->seqlen : skv_rng_range(&rng, 1, o->max_seqlen), b->qlen[r] = 1;
      b->num_q_heads = 32, b->num_kv_heads = 8, b->head_dim = 128, b->page_size = 16;
      b->kv_dtype = b->v_dtype = SKV_BF16;
    }
    for (int k = 0; k < o->npolicies && rc == 0; k++) {
      int64_t plans = 0;
      const double t0 = now_s();
      double t = t0;
      while (rc == 0 && (t - t0 < o->seconds || plans < o->compositions)) {
        const skv_batch *b = &bs[plans % o->compositions];
        skv_plan p;
        skv_prediction pr;
        if (!skv_plan_build(b, o->policies[k], NULL, o->gpu, &p, err, sizeof err)) {
          fprintf(stderr, "skv bench sim: %s B=%d: %s\n", skv_policy_name(o->policies[k]), B, err);
          rc = 1;
          break;
        }
        const bool ok = skv_cost_predict(&p, b, o->gpu, &pr);
        skv_plan_free(&p);
        if (!ok) {
          fprintf(stderr, "skv bench sim: out of memory\n");
          rc = 1;
        }
        plans++;
        if (plans % 8 == 0) t = now_s();
      }
      t = now_s();
      if (rc == 0)
        fprintf(out, "%-10s %6d %12.0f %12.2f %10lld\n", skv_policy_name(o->policies[k]), B, (double)plans / (t - t0),
                1e6 * (t - t0) / (double)plans, (long long)plans);
      fflush(out);
    }
    for (int i = 0; i < made; i++) skv_batch_free(&bs[i]);
    free(bs);
    if (rc) return rc;
  }
  return 0;
}
