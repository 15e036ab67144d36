// decode_quant.cu — the decode kernel (decode_kernel.cuh) instantiated for quantized KV caches:
// fp8 e4m3 per tensor and per token-head, int8 (per-token-head K, per-channel V), int8 K with a
// 16-bit V. The MMA type is fp16 (e4m3 and int8 codes are exact in it and convert in one or two
// instructions per pair; bf16 or fp8 q is converted once per CTA), except int8 K with a 16-bit V,
// which runs that V's type (q's).
#include "decode_kernel.cuh"

namespace skv {

static int variant_of(const skv_decode_problem *p) {
  if (p->k_dtype == SKV_FP8_E4M3) return p->per_token_head ? kKvFp8Token : kKvFp8Tensor;
  return p->v_dtype == SKV_INT8 ? kKvInt8 : kKvInt8K16V;
}

int launch_decode_quant(const skv_decode_problem *p, const skv_plan_device *pd, int page_shift, cudaStream_t s,
                        char *err, size_t errlen, int *occupancy) {
  if (variant_of(p) == kKvInt8K16V && p->q_dtype == SKV_BF16)
    return launch_decode_dim<__nv_bfloat16, kKvInt8K16V>(p, pd, page_shift, s, err, errlen, occupancy);
  switch (variant_of(p)) {
  case kKvFp8Tensor: return launch_decode_dim<__half, kKvFp8Tensor>(p, pd, page_shift, s, err, errlen, occupancy);
  case kKvFp8Token: return launch_decode_dim<__half, kKvFp8Token>(p, pd, page_shift, s, err, errlen, occupancy);
  case kKvInt8: return launch_decode_dim<__half, kKvInt8>(p, pd, page_shift, s, err, errlen, occupancy);
  default: return launch_decode_dim<__half, kKvInt8K16V>(p, pd, page_shift, s, err, errlen, occupancy);
  }
}

size_t loop_bytes_quant(const skv_decode_problem *p, const skv_plan_device *pd) {
  switch (variant_of(p)) {
  case kKvFp8Tensor: return loop_bytes<kKvFp8Tensor>(p, pd);
  case kKvFp8Token: return loop_bytes<kKvFp8Token>(p, pd);
  case kKvInt8: return loop_bytes<kKvInt8>(p, pd);
  default: return loop_bytes<kKvInt8K16V>(p, pd);
  }
}

}  // namespace skv
