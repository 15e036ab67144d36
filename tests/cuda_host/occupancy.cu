// occupancy.cu — every GPU model's resident decode CTAs per SM (experiments/gpus.yaml, ctas_per_sm)
// against what the compiled kernels allow on its arch: no GPU needed. Host code compiled by nvcc
// (make test-occupancy): each decode instantiation's dynamic shared memory is its Cfg<D, V, SW>::kSmem
// (the constant the launch asks for), its registers and static shared memory are read from ptxas's
// report of the build (build/kernels/*.ptxas, written when the kernels compile, for sm_90a and
// sm_80), and its residency follows from that arch's limits below (CUDA C++ Programming Guide,
// "Compute Capabilities", 8.0 and 9.0; the occupancy calculator's register allocation rule).
// Usage: occupancy GPUS.yaml REPORT.ptxas...; exit 1 on a mismatch or a table cell no
// instantiation checks.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "decode_kernel.cuh"
#include "gpu.h"
#include "suite/gpus.h"

namespace {

// Per arch: 64K 32-bit registers per SM, allocated per warp in units of 256; shared memory per SM
// (228 KB on sm_90, 164 KB on sm_80), of which each resident block also reserves 1 KB; at most 64
// warps and 32 blocks.
struct Limits {
  const char *arch, *ptxas_target;
  int smem_per_sm;
};
constexpr Limits kArches[] = {{"sm_90", "sm_90a", 228 * 1024}, {"sm_80", "sm_80", 164 * 1024}};
constexpr int kRegsPerSm = 65536, kRegUnit = 256, kSmemReservedPerBlock = 1024, kMaxWarps = 64, kMaxBlocks = 32;

int resident(int regs, int smem_bytes, int smem_per_sm) {
  const int warps = skv::kThreads / 32;
  const int regs_per_warp = (regs * 32 + kRegUnit - 1) / kRegUnit * kRegUnit;
  int by_regs = kRegsPerSm / regs_per_warp / warps;
  int by_smem = smem_per_sm / (smem_bytes + kSmemReservedPerBlock);
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

// One compiled instantiation: its variant and what its arch lets reside.
struct Inst {
  bool fp16, sw;
  int d, v, regs, smem, n;
};

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: occupancy GPUS.yaml REPORT.ptxas...\n");
    return 2;
  }
  skv_gpus gpus;
  char err[1024];
  if (!skv_gpus_load(argv[1], &gpus, err, sizeof err)) {
    std::fprintf(stderr, "occupancy: %s\n", err);
    return 2;
  }
  // "Compiling entry function '_ZN3skv13decode_kernelI<T>Li<D>ELi<V>ELb<SW>ELi<RW>ELb<P>EE...' for
  // '<target>'", then "Used <R> registers, ... <S> bytes smem". The tables are the decode launches':
  // one row warp (RW = 1), one CTA per work item (P = 0); the query-tile instantiations (RW = 2, 4)
  // are not modelled, and the persistent ones (P = 1) size their grid from the occupancy API at launch.
  const std::regex entry("Compiling entry function '_ZN3skv13decode_kernelI(13__nv_bfloat16|6__half)Li([0-9]+)ELi([0-9]+)ELb([01])ELi1ELb0EE[^']*' for '(sm_[0-9a-z]+)'");
  const std::regex used("Used ([0-9]+) registers.* ([0-9]+) bytes smem");
  std::map<std::string, std::vector<Inst>> by_target;
  for (int i = 2; i < argc; i++) {
    std::ifstream in(argv[i]);
    if (!in) {
      std::fprintf(stderr, "occupancy: cannot read %s\n", argv[i]);
      return 2;
    }
    std::string line, target;
    std::smatch m;
    Inst cur{};
    bool pending = false;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, entry)) {
        cur = Inst{m[1] == "6__half", m[4] == "1", std::stoi(m[2]), std::stoi(m[3]), 0, 0, 0};
        target = m[5];
        pending = true;
      } else if (pending && std::regex_search(line, m, used)) {
        pending = false;
        cur.regs = std::stoi(m[1]);
        cur.smem = dynamic_smem(cur.d, cur.v, cur.sw) + std::stoi(m[2]);
        by_target[target].push_back(cur);
      }
    }
  }
  int checked = 0, wrong = 0, uncovered = 0;
  for (int32_t g = 0; g < gpus.n; g++) {
    const skv_gpu *model = &gpus.models[g];
    const Limits *lim = nullptr;
    for (const Limits &l : kArches)
      if (std::strcmp(l.arch, model->arch) == 0) lim = &l;
    const std::vector<Inst> &insts = by_target[lim ? lim->ptxas_target : ""];
    if (!lim || insts.empty()) {
      std::fprintf(stderr, "occupancy: model %s: no decode_kernel entry for %s in the reports\n", model->name, model->arch);
      skv_gpus_free(&gpus);
      return 1;
    }
    std::printf("  model %s (%s):\n", model->name, model->arch);
    bool covered[SKV_FORM_COUNT][SKV_GPU_HEAD_DIMS] = {};
    for (const Inst &in : insts) {
      const int n = resident(in.regs, in.smem, lim->smem_per_sm);
      skv_batch b = variant_batch(in.d, in.v, in.sw, in.fp16);
      const skv_decode_form form = skv_decode_form_of(&b);
      const int slot = skv_gpu_head_dim_slot(in.d), table = model->ctas_per_sm[form][slot];
      covered[form][slot] = true;
      std::printf("    decode %s d=%d variant %d %s form: %3d registers, %6d bytes smem -> %d CTAs/SM (%s %d)%s\n",
                  in.fp16 ? "fp16" : "bf16", in.d, in.v, in.sw ? "column" : "row", in.regs, in.smem, n,
                  skv_decode_form_name(form), table, n == table ? "" : "  MISMATCH");
      checked++;
      wrong += n != table;
    }
    for (int f = 0; f < SKV_FORM_COUNT; f++)
      for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
        if (!covered[f][d]) {
          std::printf("    %s head dim %d: no compiled instantiation checks this entry\n",
                      skv_decode_form_name((skv_decode_form)f), 64 << d);
          uncovered++;
        }
  }
  std::printf("occupancy: %d model x instantiation checks, %d differ from gpus.yaml, %d entries unchecked\n", checked,
              wrong, uncovered);
  skv_gpus_free(&gpus);
  return wrong == 0 && uncovered == 0 ? 0 : 1;
}
