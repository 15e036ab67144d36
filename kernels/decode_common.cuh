// decode_common.cuh — what the decode kernel's parts share: the CTA shape, the KV cache variants
// and their traits, and the exact conversions of 8-bit KV codes to the MMA's 16-bit type.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include <type_traits>

#include "mma.cuh"
#include "softmax_state.cuh"

namespace skv {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpTokens = 16;
constexpr int kTileTokens = kWarps * kWarpTokens;

// KV cache variants.
enum KvVariant {
  kKv16 = 0,     // K, V in T (bf16 / fp16), no scales
  kKvFp8Tensor,  // K, V e4m3, per-tensor k_scale, v_scale
  kKvFp8Token,   // K, V e4m3, per-token-head scales
  kKvInt8,       // K int8 per-token-head scale, V int8 per-channel scale
  kKvInt8K16V,   // K int8 per-token-head scale, V in T
};

template <int V>
struct KvTraits {
  static constexpr int kKBytes = V == kKv16 ? 2 : 1;
  static constexpr int kVBytes = (V == kKv16 || V == kKvInt8K16V) ? 2 : 1;
  static constexpr bool kKFp8 = V == kKvFp8Tensor || V == kKvFp8Token;
  static constexpr bool kVFp8 = kKFp8;
  static constexpr bool kKTokenScale = V == kKvFp8Token || V == kKvInt8 || V == kKvInt8K16V;
  static constexpr bool kVTokenScale = V == kKvFp8Token;
  static constexpr bool kVChannelScale = V == kKvInt8;
  static constexpr bool kVTensorScale = V == kKvFp8Tensor;
};

// Two e4m3 codes (low byte first) to an f16 pair, exactly (every e4m3 value is an f16 value).
__device__ __forceinline__ uint32_t e4m3x2_to_f16x2(uint32_t two) {
#if __CUDA_ARCH__ >= 890
  uint32_t h;
  asm("{cvt.rn.f16x2.e4m3x2 %0, %1;}\n" : "=r"(h) : "h"(static_cast<unsigned short>(two)));
  return h;
#else
  // Before sm_89 no instruction does it: e4m3 S.EEEE.MMM (bias 7) is f16 S.EEEEE.MMMMMMMMMM (bias 15)
  // with the exponent rebiased by 8 and the mantissa shifted by 7; subnormals (E = 0, value M * 2^-9)
  // go through float, where they are exact.
  uint32_t out = 0;
  for (int i = 0; i < 2; ++i) {
    const uint32_t b = (two >> (8 * i)) & 0xFFu, e = (b >> 3) & 0xFu, mant = b & 7u;
    uint32_t h;
    if (e == 15 && mant == 7) h = 0x7E00u;                                  // NaN
    else if (e == 0) h = __half_as_ushort(__float2half_rn(static_cast<float>(mant) * 0x1.0p-9f));
    else h = ((e + 8u) << 10) | (mant << 7);
    out |= (h | ((b & 0x80u) << 8)) << (16 * i);
  }
  return out;
#endif
}

// Four int8 codes to two f16 pairs, exactly: with the sign bit flipped each code u = b + 128 is an
// unsigned byte; 0x6400 | u is the f16 1024 + u, and subtracting 1152 leaves b (all exact in f16).
__device__ __forceinline__ void int8x4_to_f16(uint32_t w, uint32_t &lo, uint32_t &hi) {
  const uint32_t u = w ^ 0x80808080u;
  const uint32_t a = __byte_perm(u, 0x64646464u, 0x5140), b = __byte_perm(u, 0x64646464u, 0x7362);
  const __half2 bias = __halves2half2(__ushort_as_half(0x6480u), __ushort_as_half(0x6480u)); /* 1152 */
  const __half2 x = __hsub2(*reinterpret_cast<const __half2 *>(&a), bias);
  const __half2 y = __hsub2(*reinterpret_cast<const __half2 *>(&b), bias);
  lo = *reinterpret_cast<const uint32_t *>(&x);
  hi = *reinterpret_cast<const uint32_t *>(&y);
}

// Four 8-bit codes (one 32-bit word, lowest byte first) to four T values, exactly. Quantized caches
// run the fp16 MMA (e4m3 and int8 are exact in fp16, one or two instructions per pair), except an
// int8 K with a bf16 V, which runs bf16 (the codes go through float).
template <typename T, bool FP8>
__device__ __forceinline__ void codes_to_t(uint32_t w, uint32_t &lo, uint32_t &hi) {
  if constexpr (FP8) {
    static_assert(std::is_same<T, __half>::value, "fp8 codes feed the fp16 MMA");
#if __CUDA_ARCH__ >= 890
    // Split the word into its 16-bit halves inside the asm: ptxas then reads the high half as an
    // operand (R.H1) instead of shifting it down first — 2 instructions for 4 codes, not 3.
    asm("{.reg .b16 l, h;\n mov.b32 {l, h}, %2;\n cvt.rn.f16x2.e4m3x2 %0, l;\n cvt.rn.f16x2.e4m3x2 %1, h;}\n"
        : "=r"(lo), "=r"(hi)
        : "r"(w));
#else
    lo = e4m3x2_to_f16x2(w & 0xFFFFu);
    hi = e4m3x2_to_f16x2(w >> 16);
#endif
  } else if constexpr (std::is_same<T, __half>::value) {
    int8x4_to_f16(w, lo, hi);
  } else {
    const int8_t *c = reinterpret_cast<const int8_t *>(&w);
    lo = Mma<T>::pack(static_cast<float>(c[0]), static_cast<float>(c[1]));
    hi = Mma<T>::pack(static_cast<float>(c[2]), static_cast<float>(c[3]));
  }
}

}  // namespace skv
