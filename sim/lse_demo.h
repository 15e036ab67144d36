/* lse_demo.h — `skv layout --demo`: vLLM's cascade attention on the CPU through each host path of FA2's LSE (docs/architecture.md, case 1). */
#ifndef SKV_LSE_DEMO_H
#define SKV_LSE_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lse_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skv_lse_demo_config {
  int32_t num_sms;   /* FA2 plans the suffix call for this GPU (108: A100) */
  int32_t batch;     /* decode requests, one query token each */
  int32_t kv_heads;
  int32_t groups;    /* hq = kv_heads * groups */
  int32_t head_dim;
  int32_t page_size;
  int64_t prefix;    /* shared prefix tokens (a multiple of page_size), attended by the prefix call */
  int64_t suffix;    /* per-request tokens after the prefix, attended by the split-KV suffix call */
  float q_amp;       /* q values uniform in [-q_amp, q_amp): how peaked attention is */
  uint64_t seed;
} skv_lse_demo_config;

typedef struct skv_lse_demo_host {
  int64_t lse_misplaced; /* suffix LSE elements the merge reads at the wrong (head, token) */
  double o_rel;          /* ||O - ref|| / ||ref|| of the cascaded output */
  double o_max_abs;
  double lse_max_abs;    /* merged LSE vs the reference LSE */
} skv_lse_demo_host;

typedef struct skv_lse_demo_result {
  int32_t num_splits;     /* FA2's num_splits for the suffix call */
  skv_lse_kernel kernel;  /* the kernel that wrote the suffix LSE (paged KV: split-1 or combine) */
  char plan_why[200];     /* the planner's one line */
  skv_lse_demo_host host[SKV_LSE_HOST_COUNT];
} skv_lse_demo_result;

/* Defaults: A100 (108 SMs), b = 8, hkv = 8, groups = 4 (hq = 32), d = 128,
 * page 16, prefix 1024, suffix 4096, q_amp 8, seed 1: FA2 splits the suffix
 * call in 3 (from b = 22 on, b * hkv >= 0.8 * 2 * 108: 1 split). q_amp 8 gives scores of standard
 * deviation ~2.7, a peaked attention whose LSEs differ by units between
 * heads and requests; with near-uniform attention (the workload default 2)
 * all LSEs are close and a misplaced LSE moves O less. */
void skv_lse_demo_config_default(skv_lse_demo_config *c);
/* Cascade attention as vLLM runs it on FA2: prefix call (not swapped, one
 * split: [hq, tokens] LSE), suffix call (swapped decode, paged KV, FA2's
 * num_splits; partial states from the reference merged in chunk order), the
 * LSEs delivered through each host path, merged like merge_attn_states, and
 * compared with the reference attention over the whole KV. False with a
 * message on bad config or out of memory. */
bool skv_lse_demo_run(const skv_lse_demo_config *c, skv_lse_demo_result *r, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SKV_LSE_DEMO_H */
