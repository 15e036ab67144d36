// bandwidth.cu — the read-only streaming kernels that measure the in-run bandwidth ceiling.
//
// Decode attention reads K and V once and writes almost nothing, so its ceiling is a pure read
// stream, not a copy (which also writes). No single read kernel is the fastest on every GPU, and a
// ceiling set by a slow reader makes every kernel look closer to it than it is (issue 20: the first
// version read 2-5% below a plain Triton reduction on the H200). So the ceiling is the best of
// several readers, each timed by the caller:
//   - vector loads: each thread reads 16-byte vectors through the read-only path (ld.global.nc),
//     UNROLL independent loads issued before any is used (UNROLL x 16 bytes in flight per thread),
//     grid-stride over the buffer, at a few CTAs per SM; one shape adds the L1::no_allocate and
//     L2::256B prefetch hints (PTX ISA, "ld": the L2 fetches 256-byte sectors ahead of the load);
//   - bulk asynchronous copies (Hopper's TMA engine, PTX cp.async.bulk): one thread per CTA keeps
//     STAGES chunks of CHUNK bytes in flight from global into shared memory, each completing on its
//     own mbarrier (PTX ISA, "cp.async.bulk" and "mbarrier"), with no register traffic at all.
// The vector readers fold every word into a sink so the loads cannot be dropped; a bulk copy lands in
// shared memory whatever follows, and its last word of each chunk is folded in the same way.
#include <cuda_runtime.h>

#include "cuda_check.h"
#include "skv_kernels.h"

namespace skv {
namespace {

template <bool HINTS>
__device__ __forceinline__ uint4 load16(const uint4 *p) {
  if constexpr (HINTS) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
  } else {
    return __ldg(p);
  }
}

template <int UNROLL, bool HINTS>
__global__ void __launch_bounds__(256) read_stream_kernel(const uint4 *__restrict__ buf, int64_t n,
                                                          uint32_t *sink) {
  uint32_t x = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  for (; i + (UNROLL - 1) * stride < n; i += UNROLL * stride) {
    uint4 v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) v[u] = load16<HINTS>(buf + i + u * stride);  // all issued before any use
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

// Bulk copies: chunk c of the buffer goes to CTA c mod gridDim.x, into stage (its turn mod STAGES).
// A stage's mbarrier completes when its copy's bytes have landed (expect_tx); its phase bit flips on
// each use, so the thread waits for parity (use count mod 2) before reusing the stage.
template <int STAGES>
__global__ void __launch_bounds__(32) bulk_read_kernel(const char *__restrict__ buf, int64_t bytes, int32_t chunk,
                                                       uint32_t *sink) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) unsigned char stage_mem[];
  __shared__ __align__(8) uint64_t bar[STAGES];
  if (threadIdx.x != 0) return;
  const uint32_t bar0 = static_cast<uint32_t>(__cvta_generic_to_shared(&bar[0]));
  const uint32_t mem0 = static_cast<uint32_t>(__cvta_generic_to_shared(stage_mem));
  for (int s = 0; s < STAGES; ++s) asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(bar0 + 8 * s));
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");  // the barriers' init visible to the copy engine
  const int64_t nchunks = (bytes + chunk - 1) / chunk;
  uint32_t x = 0, phase = 0;  // bit s: the parity stage s waits for next
  auto issue = [&](int64_t c, int s) {
    const int64_t off = c * chunk;
    const uint32_t size = static_cast<uint32_t>(bytes - off < chunk ? bytes - off : chunk);
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar0 + 8 * s), "r"(size) : "memory");
    asm volatile(
        "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
            mem0 + static_cast<uint32_t>(s) * static_cast<uint32_t>(chunk)),
        "l"(buf + off), "r"(size), "r"(bar0 + 8 * s)
        : "memory");
  };
  int64_t next = blockIdx.x;  // the next chunk to issue
  for (int s = 0; s < STAGES && next < nchunks; ++s, next += gridDim.x) issue(next, s);
  int s = 0;
  for (int64_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    uint32_t done = 0;
    while (!done)
      asm volatile(
          "{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
          : "=r"(done)
          : "r"(bar0 + 8 * s), "r"((phase >> s) & 1u)
          : "memory");
    phase ^= 1u << s;
    const int64_t off = c * chunk;
    const int32_t size = static_cast<int32_t>(bytes - off < chunk ? bytes - off : chunk);
    x ^= *reinterpret_cast<const uint32_t *>(stage_mem + static_cast<int64_t>(s) * chunk + size - 4);
    // The generic read above must finish before the copy engine overwrites the stage.
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    if (next < nchunks) issue(next, s), next += gridDim.x;
    s = s + 1 == STAGES ? 0 : s + 1;
  }
  atomicXor(&sink[blockIdx.x % 1024], x);
#else
  (void)buf, (void)bytes, (void)chunk, (void)sink;
  __trap();  // never launched: the host offers bulk readers on compute capability 9.0 and above only
#endif
}

// The readers, in the order the caller times them.
enum Kind { kVector, kVectorHints, kBulk };
struct Reader {
  Kind kind;
  int ctas_per_sm;
  int unroll_or_stages;
  int chunk;  // bulk: bytes per copy
  const char *name;
};
constexpr Reader kReaders[SKV_READ_STREAM_VARIANTS] = {
    {kVector, 4, 8, 0, "ldg16 4x256 thr/SM, 8 in flight"},
    {kVector, 8, 4, 0, "ldg16 8x256 thr/SM, 4 in flight"},
    {kVector, 8, 8, 0, "ldg16 8x256 thr/SM, 8 in flight"},
    {kVector, 16, 4, 0, "ldg16 16x256 thr/SM, 4 in flight"},
    {kVector, 4, 16, 0, "ldg16 4x256 thr/SM, 16 in flight"},
    {kVectorHints, 8, 8, 0, "ldg16 no_allocate L2::256B, 8x256/SM, 8 in flight"},
    {kBulk, 2, 6, 16384, "bulk copy (TMA) 2 CTAs/SM, 6 x 16 KiB"},
    {kBulk, 8, 3, 8192, "bulk copy (TMA) 8 CTAs/SM, 3 x 8 KiB"},
};

template <int STAGES>
int launch_bulk(const char *buf, int64_t bytes, int32_t chunk, uint32_t *sink, unsigned grid, cudaStream_t s,
                char *err, size_t errlen) {
  const int smem = STAGES * chunk;
  SKV_CUDA_TRY(cudaFuncSetAttribute(bulk_read_kernel<STAGES>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  bulk_read_kernel<STAGES><<<grid, 32, smem, s>>>(buf, bytes, chunk, sink);
  SKV_CUDA_LAUNCH("bulk_read_kernel");
  return 0;
}

}  // namespace
}  // namespace skv

extern "C" const char *skv_read_stream_name(int32_t variant) {
  return variant >= 0 && variant < SKV_READ_STREAM_VARIANTS ? skv::kReaders[variant].name : "?";
}

extern "C" bool skv_read_stream_supported(int32_t variant, int32_t cc_major) {
  return variant >= 0 && variant < SKV_READ_STREAM_VARIANTS && (skv::kReaders[variant].kind != skv::kBulk || cc_major >= 9);
}

extern "C" int skv_read_stream_launch(const void *d_buf, int64_t bytes, uint32_t *d_sink, int32_t num_sms,
                                      int32_t variant, skv_stream s, char *err, size_t errlen) {
  if (bytes % 16 != 0 || bytes <= 0) {
    snprintf(err, errlen, "read stream: bytes must be a positive multiple of 16 (got %lld)", (long long)bytes);
    return (int)cudaErrorInvalidValue;
  }
  if (variant < 0 || variant >= SKV_READ_STREAM_VARIANTS) {
    snprintf(err, errlen, "read stream: variant %d out of range", variant);
    return (int)cudaErrorInvalidValue;
  }
  const skv::Reader &r = skv::kReaders[variant];
  const unsigned grid = (unsigned)(num_sms * r.ctas_per_sm);
  const uint4 *buf = static_cast<const uint4 *>(d_buf);
  switch (r.kind) {
    case skv::kVector:
      if (r.unroll_or_stages == 16) skv::read_stream_kernel<16, false><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
      else if (r.unroll_or_stages == 8) skv::read_stream_kernel<8, false><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
      else skv::read_stream_kernel<4, false><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
      break;
    case skv::kVectorHints:
      skv::read_stream_kernel<8, true><<<grid, 256, 0, s>>>(buf, bytes / 16, d_sink);
      break;
    case skv::kBulk: {
      const char *cbuf = static_cast<const char *>(d_buf);
      return r.unroll_or_stages == 6 ? skv::launch_bulk<6>(cbuf, bytes, r.chunk, d_sink, grid, s, err, errlen)
                                     : skv::launch_bulk<3>(cbuf, bytes, r.chunk, d_sink, grid, s, err, errlen);
    }
  }
  SKV_CUDA_LAUNCH("read_stream_kernel");
  return 0;
}
