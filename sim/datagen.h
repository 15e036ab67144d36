/* datagen.h — counter-based random data: element i of a tensor is a pure function of (seed, tensor, i).
 *
 * The same function runs on the host (sim/, tests, CPU reference) and on the
 * GPU (kernels/ fill the KV pools on the device), so a large KV cache never
 * has to cross PCIe and the CPU reference can regenerate any row it needs.
 * Values are uniform in [-1, 1) with 24 random bits: exactly representable in
 * float and computed with one exact multiply and one exact subtraction, hence
 * bit-identical on both sides (FMA contraction cannot change them). */
#ifndef SKV_DATAGEN_H
#define SKV_DATAGEN_H

#include <stdint.h>

#ifdef __CUDACC__
#define SKV_HD __host__ __device__ __forceinline__
#else
#define SKV_HD
#endif

/* Tensor ids: distinct streams from one seed. */
enum skv_tensor_id {
  SKV_TENSOR_Q = 1,
  SKV_TENSOR_K = 2,
  SKV_TENSOR_V = 3,
  SKV_TENSOR_PREFIX_Q = 4,
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

#endif /* SKV_DATAGEN_H */
