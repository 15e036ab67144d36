// to_output.cuh — fp32 results to the output's type (bf16 or fp16, round to nearest even), written once for
// the decode kernels and the merge: a compile-time type T, or the problem's o_dtype at run time.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "dtype.h"

namespace skv {

template <typename T>
__device__ __forceinline__ T to_output(float x);
template <>
__device__ __forceinline__ __nv_bfloat16 to_output<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half to_output<__half>(float x) {
  return __float2half_rn(x);
}

// Element i of an output buffer of type t (SKV_FP16 or SKV_BF16).
__device__ __forceinline__ void store_output(skv_dtype t, void *base, int64_t i, float x) {
  if (t == SKV_FP16) static_cast<__half *>(base)[i] = to_output<__half>(x);
  else static_cast<__nv_bfloat16 *>(base)[i] = to_output<__nv_bfloat16>(x);
}

}  // namespace skv
