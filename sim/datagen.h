/* datagen.h — counter-based random data: element i of a tensor is a pure function of (seed, tensor, i).
 *
 * The same functions run on the host (sim/, tests, CPU reference) and on the
 * GPU (kernels/ fill the KV pools on the device), so a large KV cache never
 * has to cross PCIe and the CPU reference can regenerate any row it needs.
 * Uniform values in [-1, 1) carry 24 random bits: exactly representable in
 * float and computed with one exact multiply and one exact subtraction, hence
 * bit-identical on both sides (FMA contraction cannot change them); the
 * roundings to storage types are convert.h's. */
#ifndef SKV_DATAGEN_H
#define SKV_DATAGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "convert.h"
#include "dtype.h"

/* Tensor ids: distinct streams from one seed. */
enum skv_tensor_id {
  SKV_TENSOR_Q = 1,
  SKV_TENSOR_K = 2,
  SKV_TENSOR_V = 3,
  SKV_TENSOR_SCALE = 5,
};

/* splitmix64's finaliser over a counter; seed and tensor pick the stream. */
static inline SKV_HD uint64_t skv_hash64(uint64_t seed, uint32_t tensor, uint64_t index) {
  uint64_t z = seed ^ ((uint64_t)tensor << 56) ^ (index * 0x9E3779B97F4A7C15ull);
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [-1, 1): a 24-bit integer times 2^-23, minus one (both exact). */
static inline SKV_HD float skv_gen_uniform(uint64_t seed, uint32_t tensor, uint64_t index) {
  uint32_t u = (uint32_t)(skv_hash64(seed, tensor, index) >> 40);
  return (float)u * 0x1.0p-23f - 1.0f;
}

/* The "true" amplitude behind a per-token or per-channel scale: uniform in
 * [0.5, 2). The stored scale is amplitude / 448 (fp8) or / 127 (int8). */
static inline SKV_HD float skv_gen_amplitude(uint64_t seed, uint64_t index) {
  return 1.25f + SKV_MUL_RN(0.75f, skv_gen_uniform(seed, SKV_TENSOR_SCALE, index));
}

/* Everything that decides the bytes of a K or V pool. Pools are NHD:
 * flat = ((page * page_size + slot) * num_kv_heads + head) * head_dim + c. */
typedef struct skv_kv_gen {
  uint64_t seed;
  int32_t head_dim, num_kv_heads;
  int32_t k_dtype, v_dtype;   /* skv_dtype of K and of V */
  bool per_token_head;        /* fp8: scale per (page, slot, head); int8 K always is */
  float k_scale, v_scale;     /* per-tensor fp8 scales */
} skv_kv_gen;

/* Per-channel int8 V scales draw their amplitudes far above any token index. */
#define SKV_CHANNEL_SCALE_BASE ((uint64_t)1 << 60)

/* The stored scale that goes with element `flat` of K or V (1 when none):
 * fp8 per tensor: k_scale / v_scale; fp8 per token-head: amplitude / 448;
 * int8 K: per token-head amplitude / 127; int8 V: per channel / 127. Token
 * amplitudes: K at index 2t, V at 2t + 1, t = flat / head_dim. */
static inline SKV_HD float skv_kv_gen_scale(const skv_kv_gen *g, bool is_v, int64_t flat) {
  const int32_t t = is_v ? g->v_dtype : g->k_dtype;
  const uint64_t tok = (uint64_t)(flat / g->head_dim);
  if (t == SKV_FP8_E4M3) {
    if (g->per_token_head) return skv_gen_amplitude(g->seed, 2 * tok + (is_v ? 1 : 0)) / 448.0f;
    return is_v ? g->v_scale : g->k_scale;
  }
  if (t == SKV_INT8) {
    if (is_v) {
      uint64_t ch = (uint64_t)(flat % ((int64_t)g->head_dim * g->num_kv_heads));
      return skv_gen_amplitude(g->seed, SKV_CHANNEL_SCALE_BASE + ch) / 127.0f;
    }
    return skv_gen_amplitude(g->seed, 2 * tok) / 127.0f;
  }
  return 1.0f;
}

/* The unquantized value behind element `flat`: uniform [-1, 1), times the
 * per-token / per-channel amplitude where the mode has one. */
static inline SKV_HD float skv_kv_gen_true(const skv_kv_gen *g, bool is_v, int64_t flat) {
  const int32_t t = is_v ? g->v_dtype : g->k_dtype;
  const float x = skv_gen_uniform(g->seed, is_v ? SKV_TENSOR_V : SKV_TENSOR_K, (uint64_t)flat);
  if (t == SKV_INT8 || (t == SKV_FP8_E4M3 && g->per_token_head)) {
    float s = skv_kv_gen_scale(g, is_v, flat);
    return x * (t == SKV_INT8 ? s * 127.0f : s * 448.0f);
  }
  return x;
}

/* A value rounded to storage type t (scale divides first for fp8 / int8). */
static inline SKV_HD uint32_t skv_encode(int32_t t, float x, float scale) {
  switch (t) {
  case SKV_BF16: return skv_f32_to_bf16(x);
  case SKV_FP16: return skv_f32_to_fp16(x);
  case SKV_FP8_E4M3: return skv_f32_to_e4m3(x / scale);
  case SKV_INT8: return (uint8_t)skv_f32_to_int8(x, scale);
  default: return 0;
  }
}

/* The stored bits of element `flat` of K (is_v false) or V. */
static inline SKV_HD uint32_t skv_kv_gen_bits(const skv_kv_gen *g, bool is_v, int64_t flat) {
  return skv_encode(is_v ? g->v_dtype : g->k_dtype, skv_kv_gen_true(g, is_v, flat), skv_kv_gen_scale(g, is_v, flat));
}

#endif /* SKV_DATAGEN_H */
