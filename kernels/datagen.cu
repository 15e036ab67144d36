// datagen.cu — fill K/V pools on the device with the counter-based generator of sim/datagen.h.
//
// Element i gets skv_kv_gen_bits(g, is_v, i): the function the host uses, compiled for the device,
// so the pool's bytes equal what the CPU reference regenerates for any row (tested in tests/gpu).
// A grid-stride loop over the pool; 2-byte and 1-byte storage types.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "skv_kernels.h"

namespace skv {
namespace {

__global__ void fill_kv_kernel(void *dst, bool is_v, const skv_kv_gen g, int64_t n, int elem_bytes) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t bits = skv_kv_gen_bits(&g, is_v, i);
    if (elem_bytes == 2) static_cast<uint16_t *>(dst)[i] = static_cast<uint16_t>(bits);
    else static_cast<uint8_t *>(dst)[i] = static_cast<uint8_t>(bits);
  }
}

}  // namespace
}  // namespace skv

extern "C" int skv_fill_kv_launch(void *d_dst, bool is_v, const skv_kv_gen *g, int64_t n, skv_stream s, char *err,
                                  size_t errlen) {
  const int bytes = skv_dtype_size(static_cast<skv_dtype>(is_v ? g->v_dtype : g->k_dtype));
  if (bytes != 1 && bytes != 2) {
    snprintf(err, errlen, "fill: unsupported KV dtype");
    return (int)cudaErrorInvalidValue;
  }
  if (n <= 0) return 0;
  int64_t blocks = (n + 255) / 256;
  if (blocks > 65536) blocks = 65536;
  skv::fill_kv_kernel<<<(unsigned)blocks, 256, 0, s>>>(d_dst, is_v, *g, n, bytes);
  SKV_CUDA_LAUNCH("fill_kv_kernel");
  return 0;
}
