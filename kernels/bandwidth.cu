// bandwidth.cu — the read-only streaming kernel that measures the in-run bandwidth ceiling.
//
// Decode attention reads K and V once and writes almost nothing, so its ceiling is a pure read
// stream, not a copy (which also writes). Each thread reads 16-byte vectors through the read-only
// path (ld.global.nc), UNROLL independent loads issued before any is used, grid-stride over the
// buffer; the words are XOR-folded into a sink so the loads cannot be optimised away. A few
// (CTAs per SM, UNROLL) variants exist because the best one differs between GPUs: the caller times
// each and takes the fastest as the ceiling.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "skv_kernels.h"

namespace skv {
namespace {

template <int UNROLL>
__global__ void __launch_bounds__(256) read_stream_kernel(const uint4 *__restrict__ buf, int64_t n,
                                                          uint32_t *sink) {
  uint32_t x = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  for (; i + (UNROLL - 1) * stride < n; i += UNROLL * stride) {
    uint4 v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) v[u] = __ldg(buf + i + u * stride);  // all loads issued before any use
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) x ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  for (; i < n; i += stride) {
    const uint4 a = __ldg(buf + i);
    x ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  // Fold the block's words; one atomic per warp.
  for (int o = 16; o > 0; o >>= 1) x ^= __shfl_xor_sync(0xffffffffu, x, o);
  if ((threadIdx.x & 31) == 0) atomicXor(&sink[blockIdx.x % 1024], x);
}

}  // namespace
}  // namespace skv

extern "C" int skv_read_stream_launch(const void *d_buf, int64_t bytes, uint32_t *d_sink, int32_t num_sms,
                                      int32_t variant, skv_stream s, char *err, size_t errlen) {
  if (bytes % 16 != 0 || bytes <= 0) {
    snprintf(err, errlen, "read stream: bytes must be a positive multiple of 16 (got %lld)", (long long)bytes);
    return (int)cudaErrorInvalidValue;
  }
  /* Variants: (CTAs per SM, loads in flight per thread) = (4, 8), (8, 4), (8, 8), (16, 4). */
  static const int ctas[SKV_READ_STREAM_VARIANTS] = {4, 8, 8, 16}, unroll[SKV_READ_STREAM_VARIANTS] = {8, 4, 8, 4};
  if (variant < 0 || variant >= SKV_READ_STREAM_VARIANTS) {
    snprintf(err, errlen, "read stream: variant %d out of range", variant);
    return (int)cudaErrorInvalidValue;
  }
  const unsigned grid = (unsigned)(num_sms * ctas[variant]);
  const uint4 *buf = static_cast<const uint4 *>(d_buf);
  if (unroll[variant] == 8) skv::read_stream_kernel<8><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
  else skv::read_stream_kernel<4><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
  SKV_CUDA_LAUNCH("read_stream_kernel");
  return 0;
}
