// mma.cuh — the PTX building blocks of the attention kernels: cp.async, ldmatrix, mma.sync m16n8k16, swizzle.
//
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16"), lane = thread index in the warp,
// quad = lane / 4, pair = 2 * (lane % 4):
//   A (16x16, row-major)  a0: A[quad][pair..+1]    a1: A[quad+8][pair..+1]
//                         a2: A[quad][pair+8..+9]  a3: A[quad+8][pair+8..+9]
//   B (16x8, "col")       b0: B[pair..+1][quad]    b1: B[pair+8..+9][quad]
//   C (16x8, fp32)        c0,c1: C[quad][pair..+1] c2,c3: C[quad+8][pair..+1]
// ldmatrix.x4 loads four 8x8 b16 matrices; lane l gives the row address of matrix l/8, row l%8, and
// receives, per matrix, the two elements (row quad, cols pair..+1) — or, with .trans, of the transpose.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace skv {

// --- cp.async: 16-byte global -> shared copies that bypass registers; src_bytes 0 zero-fills. ---
__device__ __forceinline__ void cp_async_16(uint32_t smem_addr, const void *gmem, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ uint32_t smem_u32(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// --- ldmatrix ---
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// --- movmatrix: the transpose of an 8x8 b16 matrix held in the fragment layout (lane gives row quad,
// cols pair..+1) comes back in the same layout (sm_75+, PTX ISA "movmatrix"). ---
__device__ __forceinline__ uint32_t movmatrix_trans(uint32_t x) {
  uint32_t y;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(y) : "r"(x));
  return y;
}

// --- mma.sync m16n8k16 with fp32 accumulation, for bf16 and fp16 operands ---
template <typename T>
struct Mma;

template <>
struct Mma<__nv_bfloat16> {
  static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  // Two floats to a packed pair (low half = first), round to nearest even.
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
  }
};

template <>
struct Mma<__half> {
  static __device__ __forceinline__ void run(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
  }
};

// --- Shared-memory tiles of 2-byte elements, rows of D elements, 16-byte chunks swizzled: chunk c of
// row r lives at chunk position c ^ (r % 8). ldmatrix reads 8 rows at one chunk column; without the
// swizzle all 8 rows (stride D*2 bytes, a multiple of 128) would hit the same banks. ---
template <int D>
__device__ __forceinline__ uint32_t swz(int row, int chunk) {
  return static_cast<uint32_t>(row * (D * 2) + ((chunk ^ (row & 7)) << 4));
}

}  // namespace skv
