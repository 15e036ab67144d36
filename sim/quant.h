/* quant.h — FP8 (e4m3) and INT8 quantization: conversions, scale modes, and the synthetic scales of a workload. */
#ifndef SKV_QUANT_H
#define SKV_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The conversions themselves (e4m3, int8) are in convert.h, shared with the kernels. */

/* How K/V scales are laid out. */
typedef enum skv_scale_mode {
  SKV_SCALE_PER_TENSOR = 0,  /* one k_scale and one v_scale (fp8) */
  SKV_SCALE_PER_TOKEN_HEAD,  /* a scale per (page, slot, kv head): [num_pages, page_size, hkv] */
  SKV_SCALE_MODE_COUNT
} skv_scale_mode;

const char *skv_scale_mode_name(skv_scale_mode m);
bool skv_scale_mode_parse(const char *name, skv_scale_mode *out);

/* Quantization settings of a workload. The variants (DESIGN.md case 4):
 *   kv fp8, per tensor:     K = e4m3 * k_scale, V = e4m3 * v_scale
 *   kv fp8, per token-head: K = e4m3 * ks[page,slot,h], V = e4m3 * vs[page,slot,h]
 *   kv int8:                K = int8 * ks[page,slot,h] (per token-head),
 *                           V = int8 * vc[h, d] (per channel), or V kept in v_dtype
 *   q fp8:                  Q = e4m3 * q_scale
 * The drop_* flags exist for the reference only: they emulate a kernel that
 * ignores one scale (the vLLM Triton bug) to show what that costs. */
typedef struct skv_quant_params {
  float q_scale, k_scale, v_scale; /* per-tensor scales (defaults 1) */
  skv_scale_mode kv_scale_mode;    /* fp8 KV: per tensor or per token-head; int8 K is always per token-head */
  skv_dtype v_dtype;               /* int8 K: V's storage type (int8, or bf16/fp16 kept unquantized);
                                      SKV_DTYPE_COUNT = same as K */
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
