// decode_quant.cu — the decode kernel (decode_kernel.cuh) instantiated for quantized KV caches:
// fp8 e4m3 per tensor and per token-head, int8 (per-token-head K, per-channel V), int8 K with a
// 16-bit V. The MMA type is q's type for 16-bit q, and fp16 for fp8 q (e4m3 is exact in fp16).
#include "decode_kernel.cuh"

namespace skv {

static int variant_of(const skv_decode_problem *p) {
  if (p->k_dtype == SKV_FP8_E4M3) return p->per_token_head ? kKvFp8Token : kKvFp8Tensor;
  return p->v_dtype == SKV_INT8 ? kKvInt8 : kKvInt8K16V;
}

template <typename T>
static int launch_t(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s, char *err,
                    size_t errlen) {
  switch (variant_of(p)) {
  case kKvFp8Tensor: return launch_decode_dim<T, kKvFp8Tensor>(p, pd, page_shift, s, err, errlen);
  case kKvFp8Token: return launch_decode_dim<T, kKvFp8Token>(p, pd, page_shift, s, err, errlen);
  case kKvInt8: return launch_decode_dim<T, kKvInt8>(p, pd, page_shift, s, err, errlen);
  default: return launch_decode_dim<T, kKvInt8K16V>(p, pd, page_shift, s, err, errlen);
  }
}

int launch_decode_quant(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                        char *err, size_t errlen) {
  if (p->q_dtype == SKV_BF16) return launch_t<__nv_bfloat16>(p, pd, page_shift, s, err, errlen);
  return launch_t<__half>(p, pd, page_shift, s, err, errlen); /* fp16 q, or fp8 q */
}

size_t loop_bytes_quant(const skv_decode_problem *p) {
  switch (variant_of(p)) {
  case kKvFp8Tensor: return loop_bytes<kKvFp8Tensor>(p->head_dim);
  case kKvFp8Token: return loop_bytes<kKvFp8Token>(p->head_dim);
  case kKvInt8: return loop_bytes<kKvInt8>(p->head_dim);
  default: return loop_bytes<kKvInt8K16V>(p->head_dim);
  }
}

}  // namespace skv
