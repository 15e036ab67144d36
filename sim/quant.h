/* quant.h — FP8 (e4m3) and INT8 quantization settings of a workload: per-tensor scales and the reference-only dropped scales. */
#ifndef SKV_QUANT_H
#define SKV_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The conversions themselves (e4m3, int8) are in convert.h, shared with the kernels. */

/* Quantization settings of a workload (the storage types and the scale layout are the batch's:
 * batch.h). The variants (docs/architecture.md, case 4):
 *   kv fp8, per tensor:     K = e4m3 * k_scale, V = e4m3 * v_scale
 *   kv fp8, per token-head: K = e4m3 * ks[page,slot,h], V = e4m3 * vs[page,slot,h]
 *   kv int8:                K = int8 * ks[page,slot,h] (per token-head),
 *                           V = int8 * vc[h, d] (per channel), or V kept in v_dtype
 *   q fp8:                  Q = e4m3 * q_scale
 * The drop_* flags exist for the reference only: they emulate a kernel that
 * ignores one scale (the vLLM Triton bug) to show what that costs. */
typedef struct skv_quant_params {
  float q_scale, k_scale, v_scale; /* per-tensor scales (defaults 1) */
  bool drop_q_scale, drop_k_scale, drop_v_scale; /* reference only */
} skv_quant_params;

/* Scale arrays a workload owns when its mode needs them (NULL otherwise). */
typedef struct skv_quant_tensors {
  float *k_token;   /* [num_pages * page_size * hkv] per token-head K scales */
  float *v_token;   /* [num_pages * page_size * hkv] per token-head V scales (fp8) */
  float *v_channel; /* [hkv * head_dim] per-channel V scales (int8 V) */
} skv_quant_tensors;

void skv_quant_params_default(skv_quant_params *p);

#ifdef __cplusplus
}
#endif

#endif /* SKV_QUANT_H */
