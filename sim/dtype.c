/* dtype.c — element types and their exact conversions to and from float. */
#include "dtype.h"

#include <math.h>
#include <string.h>

static const struct { const char *name; int size; } dtype_info[SKV_DTYPE_COUNT] = {
    [SKV_BF16] = {"bf16", 2},         [SKV_FP16] = {"fp16", 2},
    [SKV_FP8_E4M3] = {"fp8_e4m3", 1}, [SKV_INT8] = {"int8", 1},
    [SKV_FP32] = {"fp32", 4},
};

int skv_dtype_size(skv_dtype t) { return (t >= 0 && t < SKV_DTYPE_COUNT) ? dtype_info[t].size : 0; }

const char *skv_dtype_name(skv_dtype t) {
  return (t >= 0 && t < SKV_DTYPE_COUNT) ? dtype_info[t].name : "?";
}

bool skv_dtype_parse(const char *name, skv_dtype *out) {
  for (int t = 0; t < SKV_DTYPE_COUNT; t++) {
    if (strcmp(name, dtype_info[t].name) == 0) {
      *out = (skv_dtype)t;
      return true;
    }
  }
  return false;
}

static uint32_t f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

static float bits_f32(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* bf16 is the top half of a binary32. Round to nearest even by adding
 * 0x7FFF plus the lowest kept bit, which carries into the kept half exactly
 * when the dropped half is above one half ulp, or equal to it with an odd
 * kept half. NaN is handled first so the carry cannot turn it into inf. */
uint16_t skv_f32_to_bf16(float x) {
  uint32_t u = f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

float skv_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* binary32 -> binary16. Normal results: drop 13 mantissa bits with round to
 * nearest even (a carry out of the mantissa correctly bumps the exponent, and
 * up to inf). Subnormal results (exponent below -14): shift the mantissa with
 * its implicit bit right and round the same way at the new position. */
uint16_t skv_f32_to_fp16(float x) {
  uint32_t u = f32_bits(x);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00u);          /* NaN */
  if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);         /* rounds to >= 65520: inf */
  int32_t e = (int32_t)(a >> 23) - 127;
  if (e >= -14) {                                                   /* normal half */
    uint32_t m = a & 0x7FFFFFu;
    uint32_t h = ((uint32_t)(e + 15) << 10) | (m >> 13);
    uint32_t rest = m & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  if (e < -25) return sign;                                         /* below half the smallest subnormal */
  uint32_t m = (a & 0x7FFFFFu) | 0x800000u;                         /* 24-bit significand */
  int shift = -e - 1;                                               /* 14 .. 24 */
  uint32_t h = m >> shift;
  uint32_t rest = m & ((1u << shift) - 1u);
  uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u))) h++;
  return (uint16_t)(sign | h);
}

float skv_fp16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1F) return bits_f32(sign | 0x7F800000u | (m << 13));  /* inf / NaN */
  if (e == 0) {                                                     /* zero / subnormal: m * 2^-24 */
    float v = ldexpf((float)m, -24);
    return sign ? -v : v;
  }
  return bits_f32(sign | ((e - 15 + 127) << 23) | (m << 13));
}

double skv_load_as_double(skv_dtype t, const void *buf, int64_t i) {
  switch (t) {
  case SKV_BF16: return skv_bf16_to_f32(((const uint16_t *)buf)[i]);
  case SKV_FP16: return skv_fp16_to_f32(((const uint16_t *)buf)[i]);
  case SKV_FP32: return ((const float *)buf)[i];
  default: return NAN;
  }
}

void skv_store_from_float(skv_dtype t, void *buf, int64_t i, float x) {
  switch (t) {
  case SKV_BF16: ((uint16_t *)buf)[i] = skv_f32_to_bf16(x); break;
  case SKV_FP16: ((uint16_t *)buf)[i] = skv_f32_to_fp16(x); break;
  case SKV_FP32: ((float *)buf)[i] = x; break;
  default: break;
  }
}
