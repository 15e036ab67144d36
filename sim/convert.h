/* convert.h — bit-exact float <-> bf16 / fp16 / e4m3 / int8 conversions, shared by host code and CUDA kernels.
 *
 * Each function is the single definition of its rounding: the host (sim/,
 * the reference, data generation) and the GPU (data generation kernels)
 * include this header, so a value generated on either side has the same bits.
 * SKV_HD (hd.h) marks them __host__ __device__ under nvcc and is empty in C. */
#ifndef SKV_CONVERT_H
#define SKV_CONVERT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hd.h"

/* A float product that the compiler may not fuse with a following add
 * (nvcc contracts a*b+c into an FMA, which rounds once instead of twice). */
#ifdef __CUDA_ARCH__
#define SKV_MUL_RN(a, b) __fmul_rn((a), (b))
#else
#define SKV_MUL_RN(a, b) ((a) * (b))
#endif

static inline SKV_HD uint32_t skv_f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static inline SKV_HD float skv_bits_f32(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* bf16 is the top half of a binary32. Round to nearest even by adding
 * 0x7FFF plus the lowest kept bit, which carries into the kept half exactly
 * when the dropped half is above one half ulp, or equal to it with an odd
 * kept half. NaN is handled first so the carry cannot turn it into inf. */
static inline SKV_HD uint16_t skv_f32_to_bf16(float x) {
  uint32_t u = skv_f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline SKV_HD float skv_bf16_to_f32(uint16_t h) { return skv_bits_f32((uint32_t)h << 16); }

/* Shift a significand right by `shift` bits with round to nearest, ties to even. */
static inline SKV_HD uint32_t skv_shift_rne(uint32_t m, int shift) {
  if (shift <= 0) return m;
  if (shift >= 32) return 0;
  uint32_t kept = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u))) kept++;
  return kept;
}

/* binary32 -> binary16. Normal results: drop 13 mantissa bits with round to
 * nearest even (a carry out of the mantissa correctly bumps the exponent, and
 * up to inf). Subnormal results (exponent below -14): the 24-bit significand
 * times 2^(e+1) rounded to an integer count of 2^-24. */
static inline SKV_HD uint16_t skv_f32_to_fp16(float x) {
  uint32_t u = skv_f32_bits(x);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00u);  /* NaN */
  if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* rounds to >= 65520: inf */
  int32_t e = (int32_t)(a >> 23) - 127;
  uint32_t m = (a & 0x7FFFFFu) | (a >> 23 ? 0x800000u : 0u);
  if (e >= -14) return (uint16_t)(sign | (skv_shift_rne(m, 13) - 0x400u + ((uint32_t)(e + 15) << 10)));
  return (uint16_t)(sign | skv_shift_rne(m, -e - 1));
}

static inline SKV_HD float skv_fp16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1F) return skv_bits_f32(sign | 0x7F800000u | (m << 13)); /* inf / NaN */
  if (e == 0) {                                                       /* zero / subnormal: m * 2^-24 */
    float v = (float)m * 0x1.0p-24f;
    return sign ? -v : v;
  }
  return skv_bits_f32(sign | ((e - 15 + 127) << 23) | (m << 13));
}

/* float -> OCP e4m3 ("e4m3fn": bias 7, normals 2^(E-7) * (1 + m/8) for
 * E = 1..15, S.1111.111 is NaN so the largest finite is 448, subnormals
 * m * 2^-9): round to nearest even, saturate to +-448 (inf too), NaN -> 0x7F
 * with the sign dropped, as CUDA's __nv_cvt_float_to_fp8(x, __NV_SATFINITE,
 * __NV_E4M3) does (cuda_fp8.hpp). */
static inline SKV_HD uint8_t skv_f32_to_e4m3(float x) {
  const uint32_t u = skv_f32_bits(x);
  const uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7F;
  if (a >= 0x43E00000u) return (uint8_t)(sign | 0x7E); /* |x| >= 448 */
  const int e = (int)(a >> 23) - 127;
  const uint32_t m = (a & 0x7FFFFFu) | (a >> 23 ? 0x800000u : 0u);
  uint32_t bits;
  if (e >= -6) /* normal: 3 fraction bits; a carry moves into the exponent field */
    bits = skv_shift_rne(m, 20) - 8u + ((uint32_t)(e + 7) << 3);
  else /* subnormal: x * 2^9 = m * 2^(e-14) rounded to 0..8 (8 = smallest normal, 0x08) */
    bits = skv_shift_rne(m, 14 - e);
  if (bits > 0x7E) bits = 0x7E; /* rounding past 448 saturates */
  return (uint8_t)(sign | bits);
}

static inline SKV_HD float skv_e4m3_to_f32(uint8_t b) {
  const int ex = (b >> 3) & 0xF, m = b & 7;
  if (ex == 15 && m == 7) return skv_bits_f32(0x7FC00000u);
  float v = ex == 0 ? (float)m * 0x1.0p-9f : skv_bits_f32((uint32_t)(ex - 7 + 127) << 23 | (uint32_t)m << 20);
  return (b & 0x80) ? -v : v;
}

/* Symmetric int8: x / scale rounded to nearest even, clamped to [-127, 127];
 * NaN -> 0. */
static inline SKV_HD int8_t skv_f32_to_int8(float x, float scale) {
  float q = rintf(x / scale);
  if (q > 127.f) q = 127.f;
  if (q < -127.f) q = -127.f;
  if (q != q) q = 0.f;
  return (int8_t)q;
}

#endif /* SKV_CONVERT_H */
