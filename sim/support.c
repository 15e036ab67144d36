/* support.c — the rules a configuration must follow: the lab's (shapes, dtypes, lengths) and the GPU kernels' (decode, group, pages, dtype variants). */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "batch.h"

static bool is16(skv_dtype t) { return t == SKV_BF16 || t == SKV_FP16; }

skv_dtype skv_output_dtype(skv_dtype q) { return is16(q) ? q : SKV_BF16; }

static const char *const field_names[SKV_FIELD_COUNT] = {
    [SKV_FIELD_HQ] = "hq",
    [SKV_FIELD_HKV] = "hkv",
    [SKV_FIELD_HEAD_DIM] = "head_dim",
    [SKV_FIELD_PAGE_SIZE] = "page_size",
    [SKV_FIELD_QLEN] = "qlen",
    [SKV_FIELD_SEQLEN] = "seqlen",
    [SKV_FIELD_Q_DTYPE] = "q_dtype",
    [SKV_FIELD_KV_DTYPE] = "kv_dtype",
    [SKV_FIELD_V_DTYPE] = "v_dtype",
    [SKV_FIELD_KV_SCALE_MODE] = "kv_scale_mode",
    [SKV_FIELD_O_DTYPE] = "o_dtype",
};

const char *skv_field_name(skv_field f) { return f >= 0 && f < SKV_FIELD_COUNT ? field_names[f] : "?"; }

/* Rules are checked in order; the first one broken decides. */
#define BROKEN(level, fld, ...)                                                                                       \
  do {                                                                                                                \
    if (field) *field = (fld);                                                                                        \
    snprintf(err, errlen, __VA_ARGS__);                                                                               \
    return (level);                                                                                                   \
  } while (0)

skv_support skv_support_check(const skv_shape *s, skv_field *field, char *err, size_t errlen) {
  const skv_dtype q = s->q_dtype, k = s->k_dtype, v = s->v_dtype;

  /* ---- the lab's rules: what the planner, the reference and the workload can represent ---- */
  if (s->hq < 1) BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_HQ, "hq must be >= 1 (got %d)", s->hq);
  if (s->hkv < 1) BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_HKV, "hkv must be >= 1 (got %d)", s->hkv);
  if (s->hq % s->hkv != 0) BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_HQ, "hq %d is not a multiple of hkv %d", s->hq, s->hkv);
  if (s->head_dim != 64 && s->head_dim != 128 && s->head_dim != 256)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_HEAD_DIM, "head_dim %d is not supported (allowed: " SKV_HEAD_DIMS_ALLOWED ")",
           s->head_dim);
  if (s->page_size < SKV_PAGE_SIZE_MIN || s->page_size > SKV_PAGE_SIZE_MAX)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_PAGE_SIZE, "page_size %d is out of range (allowed: %d..%d)", s->page_size,
           SKV_PAGE_SIZE_MIN, SKV_PAGE_SIZE_MAX);
  if (s->qlen < 1) BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_QLEN, "qlen must be >= 1 (got %lld)", (long long)s->qlen);
  if (s->kvlen_min < 0 || s->kvlen_max > SKV_MAX_KVLEN)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_SEQLEN, "seqlen %lld is out of range (allowed: 0..%lld)",
           (long long)(s->kvlen_min < 0 ? s->kvlen_min : s->kvlen_max), (long long)SKV_MAX_KVLEN);
  /* A request's query tokens are its last qlen KV positions (batch.h), so there must be qlen of
   * them; a decode query (qlen 1) may also face an empty KV (LSE -inf, O 0: docs/architecture.md). */
  if (!s->unmasked && s->qlen > 1 && s->qlen > s->kvlen_min)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_QLEN,
           "qlen %lld is longer than the shortest KV (%lld tokens): a request's query tokens are its last qlen KV "
           "positions",
           (long long)s->qlen, (long long)s->kvlen_min);
  if (s->pages > SKV_MAX_POOL_PAGES)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_SEQLEN,
           "the batch needs up to %lld KV pages of %d tokens, more than the %d that 32-bit page ids can name",
           (long long)s->pages, s->page_size, SKV_MAX_POOL_PAGES);
  if (!is16(q) && q != SKV_FP8_E4M3)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_Q_DTYPE, "q_dtype %s is not supported (allowed: bf16, fp16, fp8_e4m3)",
           skv_dtype_name(q));
  if (!is16(k) && k != SKV_FP8_E4M3 && k != SKV_INT8)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_KV_DTYPE, "kv_dtype %s is not supported (allowed: bf16, fp16, fp8_e4m3, int8)",
           skv_dtype_name(k));
  if (v != k && !(k == SKV_INT8 && is16(v)))
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_V_DTYPE,
           "v_dtype %s with kv_dtype %s is not supported (only int8 K may keep V in bf16/fp16)", skv_dtype_name(v),
           skv_dtype_name(k));
  if (q == SKV_FP8_E4M3 && k != SKV_FP8_E4M3)
    BROKEN(SKV_SUPPORT_NONE, SKV_FIELD_Q_DTYPE, "q_dtype fp8_e4m3 needs kv_dtype fp8_e4m3 (got %s)", skv_dtype_name(k));

  /* ---- the GPU kernels' rules: the variants kernels/decode*.cu instantiate (docs/architecture.md, case 4) ---- */
  if (s->hq / s->hkv > SKV_GPU_MAX_GROUP)
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_HQ, "the GPU kernels take a GQA group (hq/hkv) of at most %d (got %d/%d = %d)",
           SKV_GPU_MAX_GROUP, s->hq, s->hkv, s->hq / s->hkv);
  /* The kernels find a token's page with a shift (decode.cu launch_variant). */
  if ((s->page_size & (s->page_size - 1)) != 0)
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_PAGE_SIZE, "the GPU kernels take a power-of-two page size (got page_size %d)",
           s->page_size);
  if (is16(k) && q != k)
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_Q_DTYPE, "the GPU kernels read a %s cache with %s queries only (got q_dtype %s)",
           skv_dtype_name(k), skv_dtype_name(k), skv_dtype_name(q));
  if (q == SKV_FP8_E4M3 && s->kv_scale_mode != SKV_SCALE_PER_TENSOR)
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_KV_SCALE_MODE,
           "the GPU kernels take fp8_e4m3 queries with per_tensor KV scales only (got kv_scale_mode %s)",
           skv_scale_mode_name(s->kv_scale_mode));
  if (k == SKV_INT8 && v != SKV_INT8 && v != q)
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_V_DTYPE,
           "the GPU kernels keep an int8 K cache's 16-bit V in the queries' type (q_dtype %s, v_dtype %s)",
           skv_dtype_name(q), skv_dtype_name(v));
  if (s->o_dtype != skv_output_dtype(q))
    BROKEN(SKV_SUPPORT_SIM, SKV_FIELD_O_DTYPE, "the GPU kernels write %s queries' output as %s (got o_dtype %s)",
           skv_dtype_name(q), skv_dtype_name(skv_output_dtype(q)), skv_dtype_name(s->o_dtype));
  return SKV_SUPPORT_GPU;
}

#define PBIT(p) (1u << (p))
#define ALL_POLICIES ((1u << SKV_POLICY_COUNT) - 1u)

static const skv_option_spec options[SKV_OPT_COUNT] = {
    [SKV_OPT_SPLIT_SIZE] = {"split_size", false, 1, SKV_MAX_KVLEN, PBIT(SKV_POLICY_FIXED)},
    [SKV_OPT_NUM_SPLITS] = {"num_splits", false, 0, 128, PBIT(SKV_POLICY_FA2) | PBIT(SKV_POLICY_FA3)},
    [SKV_OPT_MAX_SPLITS] = {"max_splits", false, 1, 128, PBIT(SKV_POLICY_VLLM) | PBIT(SKV_POLICY_LAB_INVARIANT)},
    [SKV_OPT_FIXED_SPLIT_PAGES] = {"fixed_split_pages", false, 0, 1 << 30, PBIT(SKV_POLICY_FLASHINFER)},
    [SKV_OPT_DISABLE_SPLIT_KV] = {"disable_split_kv", true, 0, 1, PBIT(SKV_POLICY_FLASHINFER)},
    [SKV_OPT_CUDA_GRAPH] = {"cuda_graph", true, 0, 1, PBIT(SKV_POLICY_FLASHINFER) | PBIT(SKV_POLICY_VLLM)},
    [SKV_OPT_BATCH_INVARIANT] = {"batch_invariant", true, 0, 1, PBIT(SKV_POLICY_VLLM)},
    [SKV_OPT_BLOCKS_PER_SM] = {"blocks_per_sm", false, 1, 64, ALL_POLICIES},
    [SKV_OPT_TILE_ROWS] = {"tile_rows", false, 0, SKV_TILE_ROWS_MAX, ALL_POLICIES},
    [SKV_OPT_TAPER] = {"taper", false, 0, SKV_LAB_TAPER_MAX, PBIT(SKV_POLICY_LAB)},
};

const skv_option_spec *skv_option_get(skv_option o) { return &options[o]; }

bool skv_option_applies(skv_option o, skv_policy p) { return (options[o].policies & PBIT(p)) != 0; }

void skv_option_readers(skv_policy p, bool as_flags, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (int32_t o = 0; o < SKV_OPT_COUNT; o++) {
    if (!skv_option_applies((skv_option)o, p)) continue;
    const int k = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", as_flags ? "--" : "");
    if (k < 0 || (size_t)k >= len - n) return;
    n += (size_t)k;
    for (const char *c = options[o].name; *c && n + 1 < len; c++) buf[n++] = as_flags && *c == '_' ? '-' : *c;
    buf[n] = '\0';
  }
}
