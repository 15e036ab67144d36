// softmax_state.cuh — the online-softmax state's arithmetic, written once for every kernel that keeps
// or merges one: both warp forms of the decode kernel (warp_rows.cuh, warp_cols.cuh), its merge of
// the CTA's warps (decode_kernel.cuh), the simple decode kernel (decode_v1.cu), and the merge of a
// request's chunks (merge.cuh: the combine kernel and the fused combine).
//
// A state over a set of keys is (m, l, o): m the largest score seen, l = sum_t exp(s_t - m) and
// o = sum_t exp(s_t - m) v_t (not yet divided by l); the final output is o / l and the log-sum-exp
// lse = m + log(l). Two states over disjoint key sets merge, with M = max(m_a, m_b), into
// (M, l_a e^(m_a - M) + l_b e^(m_b - M), o_a e^(m_a - M) + o_b e^(m_b - M)) (FlashAttention's
// online softmax; Milakov & Gimelshein 2018). The empty set is m = -inf, l = 0, o = 0 (docs/architecture.md):
// it merges away exactly, and two empty states give lse = -inf, never NaN.
//
// Exponentials run in one of two units, both here: the decode kernels keep scores in log2 units
// (s * log2 e), so exp2 does the work and the lse is converted to natural log at the end; the chunk
// merge reads the natural-log LSEs the decode kernel wrote.
#pragma once

#include <math.h>

namespace skv {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Scores in log2 units (the decode kernels).
struct Log2Units {
  static __device__ __forceinline__ float exp(float x) { return exp2f(x); }
  // lse (natural log) of a non-empty state: (m + log2 l) ln 2.
  static __device__ __forceinline__ float lse(float m, float l) { return (m + log2f(l)) * kLn2; }
};

// Natural-log units (the chunk merge, over the LSEs decode wrote).
struct NatUnits {
  static __device__ __forceinline__ float exp(float x) { return expf(x); }
  static __device__ __forceinline__ float lse(float m, float l) { return m + logf(l); }
};

// Base-2 LSEs (FlashInfer's merge_state convention): the states' LSEs are log2 sums, and so is the
// merged one.
struct Base2Units {
  static __device__ __forceinline__ float exp(float x) { return exp2f(x); }
  static __device__ __forceinline__ float lse(float m, float l) { return m + log2f(l); }
};

// The online update's first half: raise the running max m to include a block of scores whose max is
// mx. Returns alpha = exp(m_old - m_new), the factor the old l and o are rescaled by; *shift is what
// the block's scores are measured from (exp(s - shift)): m_new, or 0 while every score so far is
// -inf (masked), so that no exponential sees -inf - -inf.
template <typename U>
__device__ __forceinline__ float raise_max(float &m, float mx, float *shift) {
  const float mnew = fmaxf(m, mx);
  *shift = mnew == -INFINITY ? 0.f : mnew;
  const float alpha = U::exp(m - *shift);
  m = mnew;
  return alpha;
}

// The merge of n states k = 0..n-1 (any order fixed by the caller) against their common max M: state
// k weighs merge_factor(m_k, M); a state with m_k = -inf weighs 0.
template <typename U>
__device__ __forceinline__ float merge_factor(float m_k, float M) {
  return U::exp(m_k - M);
}

// The lse of a merged state of max M and sum l: -inf for an empty one (M = -inf).
template <typename U>
__device__ __forceinline__ float merged_lse(float M, float l) {
  return M == -INFINITY ? -INFINITY : U::lse(M, l);
}

}  // namespace skv
