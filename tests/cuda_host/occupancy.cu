// occupancy.cu — the cost model's resident decode CTAs per SM (sim/cost_model.c) against what the
// compiled kernels allow on sm_90: no GPU needed. Host code compiled by nvcc (make test-occupancy):
// each decode instantiation's dynamic shared memory is its Cfg<D, V, SW>::kSmem (the constant the
// launch asks for), its registers and static shared memory are read from ptxas's report of the
// build (build/kernels/*.ptxas, written when the kernels compile), and its residency follows from
// the sm_90 limits below (CUDA C++ Programming Guide, "Compute Capabilities", 9.0; the occupancy
// calculator's register allocation rule). Usage: occupancy REPORT.ptxas...; exit 1 on a mismatch.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <tuple>

#include "cost_model.h"
#include "decode_kernel.cuh"

namespace {

// sm_90: 64K 32-bit registers per SM, allocated per warp in units of 256; 228 KB of shared memory
// per SM, of which each resident block also reserves 1 KB; at most 64 warps and 32 blocks.
constexpr int kRegsPerSm = 65536, kRegUnit = 256, kSmemPerSm = 228 * 1024, kSmemReservedPerBlock = 1024;
constexpr int kMaxWarps = 64, kMaxBlocks = 32;

int resident(int regs, int smem_bytes) {
  const int warps = skv::kThreads / 32;
  const int regs_per_warp = (regs * 32 + kRegUnit - 1) / kRegUnit * kRegUnit;
  int by_regs = kRegsPerSm / regs_per_warp / warps;
  int by_smem = kSmemPerSm / (smem_bytes + kSmemReservedPerBlock);
  int n = kMaxWarps / warps;
  if (by_regs < n) n = by_regs;
  if (by_smem < n) n = by_smem;
  return n < kMaxBlocks ? n : kMaxBlocks;
}

template <int D, int V, bool SW>
int dynamic_smem() {
  return skv::Cfg<D, V, SW>::kSmem;
}

int dynamic_smem(int d, int v, bool sw) {
  using namespace skv;
#define SKV_SMEM(V_)                                                                                     \
  if (v == V_) {                                                                                        \
    if (sw) return d == 64 ? dynamic_smem<64, V_, true>() : (d == 128 ? dynamic_smem<128, V_, true>()    \
                                                                        : dynamic_smem<256, V_, true>()); \
    return d == 64 ? dynamic_smem<64, V_, false>() : (d == 128 ? dynamic_smem<128, V_, false>()          \
                                                                 : dynamic_smem<256, V_, false>());      \
  }
  SKV_SMEM(kKv16)
  SKV_SMEM(kKvFp8Tensor)
  SKV_SMEM(kKvFp8Token)
  SKV_SMEM(kKvInt8)
  SKV_SMEM(kKvInt8K16V)
#undef SKV_SMEM
  return -1;
}

// A batch of the variant: the storage types, and a group that selects the form (the column form
// needs 8-bit K and V and at most 8 q heads per KV head: decode_kernel.cuh column_form).
skv_batch variant_batch(int d, int v, bool sw, bool fp16) {
  static int64_t len = 64, q = 1;
  skv_batch b;
  std::memset(&b, 0, sizeof b);
  b.num_requests = 1;
  b.kvlen = &len;
  b.qlen = &q;
  const bool both8 = v != skv::kKv16 && v != skv::kKvInt8K16V;
  b.num_kv_heads = 2;
  b.num_q_heads = 2 * (sw ? 4 : (both8 ? 16 : 4));
  b.head_dim = d;
  b.page_size = 16;
  switch (v) {
  case skv::kKv16: b.kv_dtype = b.v_dtype = fp16 ? SKV_FP16 : SKV_BF16; break;
  case skv::kKvFp8Tensor:
  case skv::kKvFp8Token: b.kv_dtype = b.v_dtype = SKV_FP8_E4M3; break;
  case skv::kKvInt8: b.kv_dtype = b.v_dtype = SKV_INT8; break;
  default: b.kv_dtype = SKV_INT8, b.v_dtype = fp16 ? SKV_FP16 : SKV_BF16; break;
  }
  return b;
}

}  // namespace

int main(int argc, char **argv) {
  // "Compiling entry function '_ZN3skv13decode_kernelI<T>Li<D>ELi<V>ELb<SW>EE...' for 'sm_90a'", then
  // "Used <R> registers, ... <S> bytes smem".
  const std::regex entry("Compiling entry function '_ZN3skv13decode_kernelI(13__nv_bfloat16|6__half)Li([0-9]+)ELi([0-9]+)ELb([01])EE[^']*' for 'sm_90a'");
  const std::regex used("Used ([0-9]+) registers.* ([0-9]+) bytes smem");
  int checked = 0, wrong = 0;
  for (int i = 1; i < argc; i++) {
    std::ifstream in(argv[i]);
    if (!in) {
      std::fprintf(stderr, "occupancy: cannot read %s\n", argv[i]);
      return 2;
    }
    std::string line;
    std::smatch m;
    bool fp16 = false, sw = false, pending = false;
    int d = 0, v = 0;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, entry)) {
        fp16 = m[1] == "6__half", d = std::stoi(m[2]), v = std::stoi(m[3]), sw = m[4] == "1";
        pending = true;
      } else if (pending && std::regex_search(line, m, used)) {
        pending = false;
        const int regs = std::stoi(m[1]), static_smem = std::stoi(m[2]);
        const int smem = dynamic_smem(d, v, sw) + static_smem;
        const int n = resident(regs, smem);
        skv_batch b = variant_batch(d, v, sw, fp16);
        const int table = skv_decode_ctas_per_sm(&b);
        std::printf("  decode %s d=%d variant %d %s form: %3d registers, %6d bytes smem -> %d CTAs/SM (cost model %d)%s\n",
                    fp16 ? "fp16" : "bf16", d, v, sw ? "column" : "row", regs, smem, n, table, n == table ? "" : "  MISMATCH");
        checked++;
        wrong += n != table;
      }
    }
  }
  if (checked == 0) {
    std::fprintf(stderr, "occupancy: no decode_kernel entry for sm_90a in the reports\n");
    return 1;
  }
  std::printf("occupancy: %d instantiations, %d differ from the cost model's table\n", checked, wrong);
  return wrong == 0 ? 0 : 1;
}
