// dequant.cuh — the value of a stored Q, K or V element, element by element, as the CPU reference
// defines it (sim/workload.c skv_workload_kv_row, quant.h): the stored code (sim/convert.h) times its
// scale. For the simple kernels that read one element at a time (ref_fp32.cu, decode_v1.cu); the
// optimised decode kernel folds the same scales into its MMAs instead (decode_kernel.cuh).
#pragma once

#include <stdint.h>

#include "convert.h"
#include "skv_kernels.h"

namespace skv {

// The stored code of element i of a buffer of type dtype, as a float (no scale).
__device__ __forceinline__ float load_code(const void *base, int64_t i, int dtype) {
  switch (dtype) {
  case SKV_BF16: return skv_bf16_to_f32(static_cast<const uint16_t *>(base)[i]);
  case SKV_FP16: return skv_fp16_to_f32(static_cast<const uint16_t *>(base)[i]);
  case SKV_FP8_E4M3: return skv_e4m3_to_f32(static_cast<const uint8_t *>(base)[i]);
  default: return static_cast<float>(static_cast<const int8_t *>(base)[i]);
  }
}

// The scale of K (is_v false) or V element c of the row of token slot `ts` ((page * page_size +
// slot) * hkv + kv head), as quant.h defines the variants: per channel (int8 V), per token and KV
// head (int8 K; fp8 with per-token-head scales), per tensor (fp8), none (16-bit).
__device__ __forceinline__ float kv_scale(const skv_decode_problem &p, bool is_v, int64_t ts, int kvh, int c) {
  const int dtype = is_v ? p.v_dtype : p.k_dtype;
  if (dtype == SKV_INT8) return is_v ? p.d_v_channel_scale[kvh * p.head_dim + c] : p.d_k_token_scale[ts];
  if (dtype != SKV_FP8_E4M3) return 1.f;
  if (p.per_token_head) return is_v ? p.d_v_token_scale[ts] : p.d_k_token_scale[ts];
  return is_v ? p.v_scale : p.k_scale;
}

// Element c of K (is_v false) or V for token slot ts of KV head kvh, dequantized.
__device__ __forceinline__ float load_kv(const skv_decode_problem &p, bool is_v, int64_t ts, int kvh, int c) {
  return load_code(is_v ? p.d_v : p.d_k, ts * p.head_dim + c, is_v ? p.v_dtype : p.k_dtype) *
         kv_scale(p, is_v, ts, kvh, c);
}

// Element i of q, dequantized (fp8 q times q_scale).
__device__ __forceinline__ float load_q(const skv_decode_problem &p, int64_t i) {
  return load_code(p.d_q, i, p.q_dtype) * (p.q_dtype == SKV_FP8_E4M3 ? p.q_scale : 1.f);
}

}  // namespace skv
