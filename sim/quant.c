/* quant.c — e4m3 and int8 conversions; scale-mode names; synthetic scale amplitudes. */
#include "quant.h"

#include <math.h>
#include <string.h>

#include "datagen.h"

/* Shift a significand right by `shift` bits with round to nearest, ties to even. */
static uint32_t shift_rne(uint32_t m, int shift) {
  if (shift <= 0) return m;
  if (shift >= 32) return 0;
  uint32_t kept = m >> shift, rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u))) kept++;
  return kept;
}

/* e4m3fn: bias 7, normals 2^(E-7) * (1 + m/8) for E = 1..15 (S.1111.111 is
 * NaN, so the largest finite is 1.75 * 2^8 = 448), subnormals m * 2^-9. */
uint8_t skv_f32_to_e4m3(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  const uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return 0x7F;                  /* NaN: canonical, sign dropped */
  if (a >= 0x43E00000u) return (uint8_t)(sign | 0x7E); /* |x| >= 448, inf included: satfinite */
  const int e = (int)(a >> 23) - 127;
  const uint32_t m = (a & 0x7FFFFFu) | (a >> 23 ? 0x800000u : 0u); /* 24-bit significand */
  uint32_t bits;
  if (e >= -6) {
    /* Normal: keep 3 fraction bits; a carry out of the fraction moves into
     * the exponent field, which is the right result. */
    bits = shift_rne(m, 20) - 8u + ((uint32_t)(e + 7) << 3);
  } else {
    /* Subnormal (or zero): x * 2^9 rounded to an integer 0..8 (8 is the
     * smallest normal, whose encoding 0x08 follows on). value = m * 2^(e-23),
     * times 2^9 is m * 2^(e-14). A float subnormal has e = -127 and its
     * significand without implicit bit; it rounds to 0 either way. */
    bits = shift_rne(m, 14 - e);
  }
  if (bits > 0x7E) bits = 0x7E;                     /* rounding up past 448 saturates */
  return (uint8_t)(sign | bits);
}

float skv_e4m3_to_f32(uint8_t b) {
  const int ex = (b >> 3) & 0xF, m = b & 7;
  float v;
  if (ex == 15 && m == 7) return NAN;
  if (ex == 0) v = ldexpf((float)m, -9);
  else v = ldexpf(1.0f + (float)m / 8.0f, ex - 7);
  return (b & 0x80) ? -v : v;
}

int8_t skv_f32_to_int8(float x, float scale) {
  float q = rintf(x / scale); /* default rounding mode: nearest, ties to even */
  if (q > 127.f) q = 127.f;
  if (q < -127.f) q = -127.f;
  if (q != q) q = 0.f;
  return (int8_t)q;
}

static const char *const scale_mode_names[SKV_SCALE_MODE_COUNT] = {"per_tensor", "per_token_head"};

const char *skv_scale_mode_name(skv_scale_mode m) {
  return (m >= 0 && m < SKV_SCALE_MODE_COUNT) ? scale_mode_names[m] : "?";
}

bool skv_scale_mode_parse(const char *name, skv_scale_mode *out) {
  for (int m = 0; m < SKV_SCALE_MODE_COUNT; m++) {
    if (strcmp(name, scale_mode_names[m]) == 0) {
      *out = (skv_scale_mode)m;
      return true;
    }
  }
  return false;
}

void skv_quant_params_default(skv_quant_params *p) {
  memset(p, 0, sizeof *p);
  p->q_scale = p->k_scale = p->v_scale = 1.0f;
  p->kv_scale_mode = SKV_SCALE_PER_TENSOR;
  p->v_dtype = SKV_DTYPE_COUNT;
}

float skv_quant_amplitude(uint64_t seed, int64_t index) {
  /* uniform [-1, 1) -> [0.5, 2): 1.25 + 0.75 * u, exact enough and identical everywhere. */
  return 1.25f + 0.75f * skv_gen_uniform(seed, SKV_TENSOR_SCALE, (uint64_t)index);
}
