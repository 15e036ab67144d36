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

// The 16 bits of an output element.
__device__ __forceinline__ uint32_t bits_of(__nv_bfloat16 x) { return __bfloat16_as_ushort(x); }
__device__ __forceinline__ uint32_t bits_of(__half x) { return __half_as_ushort(x); }

// Four consecutive elements of an output row as one 8-byte store (o 8-byte aligned: an element index
// that is a multiple of 4 in a cudaMalloc'd buffer).
template <typename T>
__device__ __forceinline__ void store4(T *o, float4 x) {
  const uint2 v = make_uint2(bits_of(to_output<T>(x.x)) | bits_of(to_output<T>(x.y)) << 16,
                             bits_of(to_output<T>(x.z)) | bits_of(to_output<T>(x.w)) << 16);
  *reinterpret_cast<uint2 *>(o) = v;
}

// Element i of an output buffer of type t (SKV_FP16 or SKV_BF16).
__device__ __forceinline__ void store_output(skv_dtype t, void *base, int64_t i, float x) {
  if (t == SKV_FP16) static_cast<__half *>(base)[i] = to_output<__half>(x);
  else static_cast<__nv_bfloat16 *>(base)[i] = to_output<__nv_bfloat16>(x);
}

// Elements [i, i + 4) of an output buffer of type t, i a multiple of 4 (store4).
__device__ __forceinline__ void store_output4(skv_dtype t, void *base, int64_t i, float4 x) {
  if (t == SKV_FP16) store4(static_cast<__half *>(base) + i, x);
  else store4(static_cast<__nv_bfloat16 *>(base) + i, x);
}

}  // namespace skv
