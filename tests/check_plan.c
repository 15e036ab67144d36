/* check_plan.c — the planner: FA2 worked values, FlashInfer's search and options, invariants of every policy. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invariance.h"
#include "plan.h"
#include "rng.h"
#include "suites.h"
#include "gpu_fixture.h"

static skv_batch decode_batch(int32_t n, int64_t len, int32_t hq, int32_t hkv, int32_t d) {
  skv_batch b;
  ck_assert(skv_batch_alloc(&b, n));
  for (int32_t r = 0; r < n; r++) b.kvlen[r] = len, b.qlen[r] = 1;
  b.num_q_heads = hq, b.num_kv_heads = hkv, b.head_dim = d, b.page_size = 16, b.kv_dtype = b.v_dtype = SKV_BF16;
  return b;
}

/* Plan and return every request's num_splits if they agree, else -1. */
static int64_t uniform_splits(const skv_batch *b, skv_policy p, const skv_policy_opts *o, int32_t sms) {
  skv_plan pl;
  char err[256];
  ck_assert_msg(skv_plan_build(b, p, o, skv_test_gpu(sms), &pl, err, sizeof err), "%s", err);
  ck_assert_msg(skv_plan_check(&pl, b, err, sizeof err), "%s", err);
  int64_t s = skv_plan_num_splits(&pl, 0);
  for (int32_t r = 1; r < b->num_requests; r++)
    if (skv_plan_num_splits(&pl, r) != s) s = -1;
  skv_plan_free(&pl);
  return s;
}

static int64_t fa2_splits(int32_t n, int64_t len, int32_t sms) {
  skv_batch b = decode_batch(n, len, 32, 8, 128);
  int64_t s = uniform_splits(&b, SKV_POLICY_FA2, NULL, sms);
  skv_batch_free(&b);
  return s;
}

START_TEST(fa2_heuristic_bhm48_on_108_sms_is_2) { ck_assert_int_eq(skv_fa2_num_splits_heuristic(48, 108, 256, 128), 2); }
END_TEST

START_TEST(fa2_heuristic_exits_early_at_0_8_sms) {
  ck_assert_int_eq(skv_fa2_num_splits_heuristic(173, 216, 256, 128), 1);
  ck_assert_int_ne(skv_fa2_num_splits_heuristic(172, 216, 256, 128), 1);
}
END_TEST

START_TEST(fa2_skips_ineligible_split_counts) {
  /* 256 blocks: 23 splits give ceil(256/23) = 12 blocks, like 22: not eligible. */
  ck_assert_int_eq(skv_fa2_num_splits_heuristic(8, 216, 256, 128), 24);
}
END_TEST

START_TEST(fa2_splits_a100_b16_l4096_is_3) { ck_assert_int_eq(fa2_splits(16, 4096, 108), 3); }
END_TEST
START_TEST(fa2_splits_a100_b8_l1024_is_3) { ck_assert_int_eq(fa2_splits(8, 1024, 108), 3); }
END_TEST
START_TEST(fa2_splits_a100_b2_l32768_is_12) { ck_assert_int_eq(fa2_splits(2, 32768, 108), 12); }
END_TEST
START_TEST(fa2_splits_a100_b1_l32768_is_24) { ck_assert_int_eq(fa2_splits(1, 32768, 108), 24); }
END_TEST
START_TEST(fa2_splits_a100_b22_is_1) { ck_assert_int_eq(fa2_splits(22, 4096, 108), 1); }
END_TEST
START_TEST(fa2_splits_h100_b1_l32768_is_29) { ck_assert_int_eq(fa2_splits(1, 32768, 132), 29); }
END_TEST
START_TEST(fa2_splits_h100_b27_l4096_is_1) { ck_assert_int_eq(fa2_splits(27, 4096, 132), 1); }
END_TEST

START_TEST(fa2_chunks_are_blocks_per_split_times_block_n) {
  /* b=16, L=4096, 3 splits: ceil(32 / 3) = 11 blocks of 128 = 1408 tokens. */
  skv_batch b = decode_batch(16, 4096, 32, 8, 128);
  b.kvlen[3] = 1000; /* 8 blocks: ceil(8/3) = 3 blocks = 384 tokens: [0,384) [384,768) [768,1000) */
  b.kvlen[5] = 100;  /* 1 block: one chunk; FA2 launches two empty splits for it */
  skv_plan pl;
  char err[256];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(108), &pl, err, sizeof err));
  ck_assert_int_eq(pl.batch_num_splits, 3);
  const skv_chunk *c = skv_plan_chunks(&pl, 0);
  ck_assert_int_eq(c[0].end, 1408);
  ck_assert_int_eq(c[2].begin, 2816);
  ck_assert_int_eq(c[2].end, 4096);
  ck_assert_int_eq(skv_plan_num_splits(&pl, 3), 3);
  ck_assert_int_eq(skv_plan_chunks(&pl, 3)[1].end, 768);
  ck_assert_int_eq(skv_plan_num_splits(&pl, 5), 1);
  ck_assert_int_eq(pl.grid_ctas, 16 * 8 * 3);
  ck_assert_int_eq(pl.num_work, (14 * 3 + 3 + 1) * 8);
  ck_assert(pl.gqa_packed);
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(fa2_without_gqa_packing_counts_q_heads) {
  /* qlen 2: no swap, h = hq = 32, m_blocks 1: b*h = 16*32 = 512 >= 0.8 * 216: 1 split. */
  skv_batch b = decode_batch(16, 4096, 32, 8, 128);
  for (int r = 0; r < 16; r++) b.qlen[r] = 2;
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_FA2, NULL, 108), 1);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_search_b2_l1024_4096_is_10_pages) {
  int64_t kv[2] = {1024, 4096};
  skv_batch b = decode_batch(2, 0, 32, 8, 128);
  b.kvlen[0] = kv[0], b.kvlen[1] = kv[1];
  skv_plan pl;
  char err[256];
  /* max_grid = 2 x 132 = 264; pages 64 and 256; smallest c >= 8 with
   * (ceil(64/c) + ceil(256/c)) * 8 <= 264 is c = 10 (7 + 26 = 33 chunks). */
  ck_assert_msg(skv_plan_build(&b, SKV_POLICY_FLASHINFER, NULL, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
  ck_assert_int_eq(skv_plan_num_splits(&pl, 0), 7);
  ck_assert_int_eq(skv_plan_num_splits(&pl, 1), 26);
  ck_assert_int_eq(skv_plan_chunks(&pl, 0)[0].end, 160);
  ck_assert_int_eq(skv_plan_chunks(&pl, 0)[6].begin, 960);
  ck_assert_int_eq(skv_plan_chunks(&pl, 1)[25].end, 4096);
  ck_assert_int_eq(pl.num_work, 33 * 8);
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

/* The lab's flashinfer model against FlashInfer's own planners, as FlashInfer 0.5.3 planned the decode
 * grid on the H200 (132 SMs; hq 32, hkv 8, d 128, page 16): the splits per request and the decode
 * kernel's CTAs that peers/skv_peers.py read back from each wrapper's plan and the profiler
 * (results/decode_grid/20261129-103055-faddedd/peers.json and decode_grid_fp8/20261129-103111-faddedd/).
 * The tensor-core wrapper runs the prefill planner with its constant 2 CTAs per SM; the CUDA-core one
 * sizes its grid from its decode kernel's occupancy, 8 CTAs per SM over a bf16 cache and 6 over fp8
 * on the H200: blocks_per_sm 2, 8 and 6 in the lab's model. */
START_TEST(flashinfer_model_matches_flashinfers_planners_on_the_h200_grid) {
  static const struct {
    int32_t b;
    int64_t l;
    int32_t tc_splits, tc_ctas, cc_splits, cc_ctas, cc8_splits, cc8_ctas;
  } g[9] = {
      {1, 4096, 32, 256, 32, 256, 32, 256},       {1, 32768, 33, 264, 128, 1024, 98, 784},
      {1, 131072, 33, 264, 131, 1048, 99, 792},   {8, 4096, 4, 256, 16, 1024, 12, 768},
      {8, 32768, 4, 256, 16, 1024, 12, 768},      {32, 4096, 1, 256, 4, 1024, 3, 768},
      {32, 16384, 1, 256, 4, 1024, 3, 768},       {128, 2048, 1, 1024, 1, 1024, 1, 1024},
      {128, 8192, 1, 1024, 1, 1024, 1, 1024}};
  for (int i = 0; i < 9; i++) {
    const int32_t bps[3] = {2, 8, 6}, splits[3] = {g[i].tc_splits, g[i].cc_splits, g[i].cc8_splits},
                  ctas[3] = {g[i].tc_ctas, g[i].cc_ctas, g[i].cc8_ctas};
    for (int k = 0; k < 3; k++) {
      skv_batch b = decode_batch(g[i].b, g[i].l, 32, 8, 128);
      if (k == 2) b.kv_dtype = b.v_dtype = SKV_FP8_E4M3;
      skv_policy_opts o;
      skv_policy_opts_default(&o);
      o.blocks_per_sm = bps[k];
      skv_plan pl;
      char err[256];
      ck_assert_msg(skv_plan_build(&b, SKV_POLICY_FLASHINFER, &o, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
      for (int32_t r = 0; r < g[i].b; r++)
        ck_assert_msg(skv_plan_num_splits(&pl, r) == splits[k], "%dx%lld, %d CTAs/SM: request %d has %lld splits, FlashInfer %d",
                      g[i].b, (long long)g[i].l, bps[k], r, (long long)skv_plan_num_splits(&pl, r), splits[k]);
      ck_assert_msg(pl.num_work == ctas[k], "%dx%lld, %d CTAs/SM: %lld CTAs, FlashInfer %d", g[i].b, (long long)g[i].l,
                    bps[k], (long long)pl.num_work, ctas[k]);
      skv_plan_free(&pl);
      skv_batch_free(&b);
    }
  }
}
END_TEST

START_TEST(flashinfer_short_request_is_not_split) {
  /* 100 tokens = 7 pages < the 8-page minimum chunk: no split. */
  skv_batch b = decode_batch(1, 100, 32, 8, 128);
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_FLASHINFER, NULL, 132), 1);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_full_grid_is_not_split) {
  /* 33 x 8 = 264 >= max_grid: no split even for long requests. */
  skv_batch b = decode_batch(33, 32768, 32, 8, 128);
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_FLASHINFER, NULL, 132), 1);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_cuda_graph_pads_the_grid) {
  skv_batch b = decode_batch(4, 4096, 32, 8, 128);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.cuda_graph = true;
  skv_plan pl;
  char err[256];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FLASHINFER, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert_int_eq(pl.grid_ctas, (264 / 8) * 8); /* padded_batch_size = max_grid / hkv */
  ck_assert_int_le(pl.num_work, pl.grid_ctas);
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_fixed_split_size_is_independent_of_the_batch) {
  skv_rng rng;
  skv_rng_seed(&rng, 5);
  skv_batch b = decode_batch(40, 0, 32, 8, 128);
  for (int r = 0; r < 40; r++) b.kvlen[r] = skv_rng_range(&rng, 1, 30000);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.fixed_split_pages = 64;
  skv_plan whole, alone;
  char err[256];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FLASHINFER, &o, skv_test_gpu(132), &whole, err, sizeof err));
  for (int32_t r = 0; r < 40; r++) {
    skv_batch one;
    ck_assert(skv_batch_slice(&b, r, 1, &one));
    ck_assert(skv_plan_build(&one, SKV_POLICY_FLASHINFER, &o, skv_test_gpu(132), &alone, err, sizeof err));
    ck_assert_int_eq(skv_plan_num_splits(&alone, 0), skv_plan_num_splits(&whole, r));
    ck_assert(memcmp(skv_plan_chunks(&alone, 0), skv_plan_chunks(&whole, r),
                     (size_t)skv_plan_num_splits(&whole, r) * sizeof(skv_chunk)) == 0);
    ck_assert_int_eq(skv_plan_chunks(&alone, 0)[0].end, b.kvlen[r] < 1024 ? b.kvlen[r] : 1024);
    skv_plan_free(&alone);
    skv_batch_free(&one);
  }
  skv_plan_free(&whole);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_default_split_depends_on_the_batch) {
  /* The balanced search is not batch-invariant: the same request gets other chunks. */
  skv_batch b = decode_batch(8, 8192, 32, 8, 128);
  skv_batch one;
  ck_assert(skv_batch_slice(&b, 0, 1, &one));
  ck_assert_int_ne(uniform_splits(&b, SKV_POLICY_FLASHINFER, NULL, 132),
                   uniform_splits(&one, SKV_POLICY_FLASHINFER, NULL, 132));
  skv_batch_free(&one);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_disable_split_kv_gives_one_chunk) {
  skv_batch b = decode_batch(1, 131072, 32, 8, 128);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.disable_split_kv = true;
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_FLASHINFER, &o, 132), 1);
  skv_batch_free(&b);
}
END_TEST

START_TEST(flashinfer_fixed_split_over_graph_padding_is_refused) {
  skv_batch b = decode_batch(8, 65536, 32, 8, 128);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.fixed_split_pages = 8; /* 512 chunks per request, far over 33 */
  o.cuda_graph = true;
  skv_plan pl;
  char err[256];
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FLASHINFER, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(strstr(err, "padded batch"));
  skv_batch_free(&b);
}
END_TEST

START_TEST(vllm_batch_invariant_forces_one_split) {
  skv_batch b = decode_batch(1, 32768, 32, 8, 128);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_VLLM, &o, 132), 29); /* FA2's heuristic */
  o.batch_invariant = true;
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_VLLM, &o, 132), 1);
  skv_batch_free(&b);
}
END_TEST

START_TEST(vllm_cuda_graph_caps_splits) {
  skv_batch b = decode_batch(1, 32768, 32, 8, 128);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.cuda_graph = true;
  o.max_splits = 16;
  ck_assert_int_eq(uniform_splits(&b, SKV_POLICY_VLLM, &o, 132), 16);
  skv_batch_free(&b);
}
END_TEST

START_TEST(fa3_h100_gqa4_decode_static_15_dynamic_13) {
  /* Static: total_mblocks = hkv * 1 = 8 on 132 SMs: first s with eff >= 0.85
   * is 15. Dynamic: 64 blocks, blocks_per_sm = ceil(64 * 1.1 * 8 / 132) = 5,
   * so ceil(64 / 5) = 13 splits of 5 blocks (640 tokens). */
  skv_batch b = decode_batch(1, 8192, 32, 8, 128);
  skv_plan pl;
  char err[256];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FA3, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert_int_eq(pl.batch_num_splits, 15);
  ck_assert_int_eq(skv_plan_num_splits(&pl, 0), 13);
  ck_assert_int_eq(skv_plan_chunks(&pl, 0)[0].end, 640);
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(fixed_chunks_have_the_given_length) {
  skv_batch b = decode_batch(2, 5000, 8, 8, 64);
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 2048;
  skv_plan pl;
  char err[256];
  ck_assert(skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert_int_eq(skv_plan_num_splits(&pl, 1), 3);
  ck_assert_int_eq(skv_plan_chunks(&pl, 1)[2].begin, 4096);
  ck_assert_int_eq(skv_plan_chunks(&pl, 1)[2].end, 5000);
  skv_plan_free(&pl);
  skv_batch_free(&b);
}
END_TEST

START_TEST(empty_kv_gets_one_empty_chunk) {
  skv_batch b = decode_batch(3, 0, 8, 8, 64);
  b.kvlen[1] = 5;
  for (int p = 0; p < SKV_POLICY_COUNT; p++) {
    skv_plan pl;
    char err[256];
    ck_assert_msg(skv_plan_build(&b, (skv_policy)p, NULL, skv_test_gpu(132), &pl, err, sizeof err), "%s", err);
    ck_assert_msg(skv_plan_check(&pl, &b, err, sizeof err), "%s: %s", skv_policy_name(p), err);
    ck_assert_int_eq(skv_plan_num_splits(&pl, 0), 1);
    ck_assert_int_eq(skv_plan_chunks(&pl, 0)[0].end, 0);
    skv_plan_free(&pl);
  }
  skv_batch_free(&b);
}
END_TEST

/* Random batches under every policy with random options: every invariant of
 * skv_plan_check holds, and the check itself catches a broken plan. */
START_TEST(every_policy_partitions_random_batches) {
  static const int32_t pages[] = {1, 16, 32, 64, 128, 256}, dims[] = {64, 128, 256}, hkvs[] = {1, 2, 8};
  static const int32_t groups[] = {1, 4, 8};
  skv_rng rng;
  skv_rng_seed(&rng, 2024);
  for (int iter = 0; iter < 300; iter++) {
    skv_batch b;
    int32_t n = (int32_t)skv_rng_range(&rng, 1, 64);
    ck_assert(skv_batch_alloc(&b, n));
    bool decode = skv_rng_range(&rng, 0, 3) != 0;
    for (int32_t r = 0; r < n; r++) {
      b.kvlen[r] = skv_rng_range(&rng, 0, 3) == 0 ? skv_rng_range(&rng, 0, 40) : skv_rng_range(&rng, 0, 70000);
      b.qlen[r] = decode ? 1 : skv_rng_range(&rng, 1, 300);
      if (b.qlen[r] > b.kvlen[r]) b.qlen[r] = b.kvlen[r] > 0 ? b.kvlen[r] : 1; /* queries are the last KV positions */
    }
    b.num_kv_heads = hkvs[skv_rng_range(&rng, 0, 2)];
    b.num_q_heads = b.num_kv_heads * groups[skv_rng_range(&rng, 0, 2)];
    b.head_dim = dims[skv_rng_range(&rng, 0, 2)];
    b.page_size = pages[skv_rng_range(&rng, 0, 5)];
    b.kv_dtype = b.v_dtype = SKV_BF16;
    skv_policy_opts o;
    skv_policy_opts_default(&o);
    o.split_size = skv_rng_range(&rng, 1, 9000);
    o.fixed_split_pages = skv_rng_range(&rng, 0, 1) ? (int32_t)skv_rng_range(&rng, 1, 300) : 0;
    o.disable_split_kv = skv_rng_range(&rng, 0, 5) == 0;
    o.batch_invariant = skv_rng_range(&rng, 0, 5) == 0;
    o.max_splits = (int32_t)skv_rng_range(&rng, 1, 64);
    o.blocks_per_sm = (int32_t)skv_rng_range(&rng, 1, 8);
    int32_t sms = (int32_t)skv_rng_range(&rng, 1, 200);
    for (int p = 0; p < SKV_POLICY_COUNT; p++) {
      skv_plan pl;
      char err[256];
      o.cuda_graph = false; /* FlashInfer may refuse fixed splits under a graph; tested above */
      ck_assert_msg(skv_plan_build(&b, (skv_policy)p, &o, skv_test_gpu(sms), &pl, err, sizeof err), "%s: %s",
                    skv_policy_name(p), err);
      ck_assert_msg(skv_plan_check(&pl, &b, err, sizeof err), "iter %d %s: %s", iter, skv_policy_name(p), err);
      /* CTAs: per request, per query tile, the chunks that begin before its last query's key end */
      int64_t ctas = 0;
      const int64_t tt = pl.tile_tokens;
      for (int32_t r = 0; r < n; r++)
        for (int64_t q0 = 0; q0 < b.qlen[r]; q0 += tt) {
          const int64_t qe = q0 + tt < b.qlen[r] ? q0 + tt : b.qlen[r], end = b.kvlen[r] - b.qlen[r] + qe;
          int64_t v = 0;
          for (int64_t k = 0; k < skv_plan_num_splits(&pl, r); k++) v += k == 0 || skv_plan_chunks(&pl, r)[k].begin < end;
          ctas += v;
        }
      ck_assert_int_eq(pl.num_work, ctas * b.num_kv_heads);
      ck_assert_int_ge(pl.grid_ctas, pl.num_work);
      if (iter == 0 && pl.num_chunks > 1) {
        /* A corrupted plan must be caught. */
        pl.chunks[0].end -= 1;
        ck_assert(!skv_plan_check(&pl, &b, err, sizeof err));
        pl.chunks[0].end += 1;
        pl.scratch_o_bytes += 4;
        if (pl.num_partials > 0) ck_assert(!skv_plan_check(&pl, &b, err, sizeof err));
      }
      skv_plan_free(&pl);
    }
    skv_batch_free(&b);
  }
}
END_TEST

/* Query tiles under the causal mask: 512 queries at the end of 1024 keys, one KV head, group 1,
 * tiles of 16 rows (16 tokens; the default for so long a query is 64), chunks of 256: tile t's last query sees keys < 528 + 16 t, so it
 * runs ceil((528 + 16 t) / 256) chunks (3 for t <= 14, 4 from t = 15); without a mask every tile
 * runs all 4. A work item naming a chunk its tile cannot see, a wrong key bound or a tile that
 * overlaps the next is refused by the check. */
START_TEST(causal_tiles_run_only_the_chunks_they_see) {
  skv_batch b = decode_batch(1, 1024, 1, 1, 64);
  b.qlen[0] = 512;
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 256;
  o.tile_rows = 16;
  char err[256];
  for (int m = 0; m < 2; m++) {
    b.mask = m ? SKV_MASK_NONE : SKV_MASK_CAUSAL;
    skv_plan pl;
    ck_assert(skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
    ck_assert_msg(skv_plan_check(&pl, &b, err, sizeof err), "%s", err);
    ck_assert_int_eq(pl.tile_tokens, 16);
    int64_t want = 0;
    for (int64_t t = 0; t < 32; t++) want += m ? 4 : (528 + 16 * t + 255) / 256;
    ck_assert_int_eq(pl.num_work, want);
    ck_assert_int_eq(pl.num_combine, 32); /* every tile runs at least 3 chunks */
    /* the first tile's first work item: its queries 0..15 see keys < 513 + i (no mask: < 1024) */
    ck_assert_int_eq(pl.work[0].q_begin, 0);
    ck_assert_int_eq(pl.work[0].q_end, 16);
    ck_assert_int_eq(pl.work[0].key_end, m ? 1024 : 513);
    ck_assert_int_eq(pl.work[0].num_chunks, m ? 4 : 3);
    ck_assert_int_eq(pl.num_partials, want * 16); /* every tile is split: a state row per packed row */
    if (!m) {
      pl.work[0].key_end += 1;
      ck_assert(!skv_plan_check(&pl, &b, err, sizeof err));
      pl.work[0].key_end -= 1;
      pl.work[0].q_end = 17;
      ck_assert(!skv_plan_check(&pl, &b, err, sizeof err));
      pl.work[0].q_end = 16;
      pl.work[0].num_chunks = 4; /* a chunk the tile cannot see */
      ck_assert(!skv_plan_check(&pl, &b, err, sizeof err));
      pl.work[0].num_chunks = 3;
      ck_assert(skv_plan_check(&pl, &b, err, sizeof err));
    }
    skv_plan_free(&pl);
  }
  /* the default tile with group 1: 64 rows, 64 tokens; a tile the kernels do not run is refused */
  o.tile_rows = 0;
  skv_plan pl;
  ck_assert(skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert_int_eq(pl.tile_tokens, 64);
  skv_plan_free(&pl);
  o.tile_rows = 48;
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert_msg(strstr(err, "tile_rows"), "%s", err);
  skv_batch_free(&b);
}
END_TEST

START_TEST(plan_rejects_bad_input_with_a_message) {
  skv_batch b = decode_batch(2, 100, 30, 8, 128);
  skv_plan pl;
  char err[256];
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(strstr(err, "multiple of hkv"));
  b.num_q_heads = 32;
  b.head_dim = 96;
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(strstr(err, "head_dim 96 is not supported"));
  b.head_dim = 128;
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FA2, NULL, skv_test_gpu(0), &pl, err, sizeof err));
  skv_policy_opts o;
  skv_policy_opts_default(&o);
  o.split_size = 0;
  ck_assert(!skv_plan_build(&b, SKV_POLICY_FIXED, &o, skv_test_gpu(132), &pl, err, sizeof err));
  ck_assert(strstr(err, "split-size"));
  skv_batch_free(&b);
}
END_TEST

/* The simulator's batch-invariance prediction (sim/invariance.h): a request of 20000 tokens alone
 * against among 63 of 1000 tokens, 132 SMs. Worked out by hand from the policies: fixed cuts
 * 2048-token chunks whatever the batch (10 chunks both ways: the same bits); fa2 picks one split
 * count for the batch: alone 1 x 8 KV heads x 1 m-block = 8 CTAs on 264 slots, so it splits (32
 * splits, as the GPU test shows); in the batch 64 x 8 = 512 >= 0.8 x 264 CTAs, so 1 split: other bits. */
START_TEST(invariance_is_predicted_from_the_plans) {
  skv_batch b = decode_batch(64, 1000, 32, 8, 128);
  b.kvlen[0] = 20000;
  char err[256];
  static const struct { skv_policy p; bool same; } want[] = {{SKV_POLICY_FIXED, true}, {SKV_POLICY_FA2, false}};
  for (int i = 0; i < 2; i++) {
    skv_plan pl;
    ck_assert(skv_plan_build(&b, want[i].p, NULL, skv_test_gpu(132), &pl, err, sizeof err));
    bool same = !want[i].same;
    ck_assert_msg(skv_predict_alone_vs_batch(&b, &pl, 0, want[i].p, NULL, skv_test_gpu(132), &same, err, sizeof err), "%s", err);
    ck_assert_msg(same == want[i].same, "%s", skv_policy_name(want[i].p));
    /* the rule itself: the same chunks in the same order */
    ck_assert(skv_same_chunks(&pl, 0, &pl, 0));
    ck_assert(!skv_same_chunks(&pl, 0, &pl, 1)); /* 20000 tokens against 1000 */
    skv_plan_free(&pl);
  }
  skv_batch_free(&b);
}
END_TEST

Suite *skv_suite_plan(void) {
  Suite *s = suite_create("plan");
  TCase *fa2 = tcase_create("fa2");
  tcase_add_test(fa2, fa2_heuristic_bhm48_on_108_sms_is_2);
  tcase_add_test(fa2, flashinfer_model_matches_flashinfers_planners_on_the_h200_grid);
  tcase_add_test(fa2, causal_tiles_run_only_the_chunks_they_see);
  tcase_add_test(fa2, fa2_heuristic_exits_early_at_0_8_sms);
  tcase_add_test(fa2, fa2_skips_ineligible_split_counts);
  tcase_add_test(fa2, fa2_splits_a100_b16_l4096_is_3);
  tcase_add_test(fa2, fa2_splits_a100_b8_l1024_is_3);
  tcase_add_test(fa2, fa2_splits_a100_b2_l32768_is_12);
  tcase_add_test(fa2, fa2_splits_a100_b1_l32768_is_24);
  tcase_add_test(fa2, fa2_splits_a100_b22_is_1);
  tcase_add_test(fa2, fa2_splits_h100_b1_l32768_is_29);
  tcase_add_test(fa2, fa2_splits_h100_b27_l4096_is_1);
  tcase_add_test(fa2, fa2_chunks_are_blocks_per_split_times_block_n);
  tcase_add_test(fa2, fa2_without_gqa_packing_counts_q_heads);
  suite_add_tcase(s, fa2);
  TCase *fi = tcase_create("flashinfer");
  tcase_add_test(fi, flashinfer_search_b2_l1024_4096_is_10_pages);
  tcase_add_test(fi, flashinfer_short_request_is_not_split);
  tcase_add_test(fi, flashinfer_full_grid_is_not_split);
  tcase_add_test(fi, flashinfer_cuda_graph_pads_the_grid);
  tcase_add_test(fi, flashinfer_fixed_split_size_is_independent_of_the_batch);
  tcase_add_test(fi, flashinfer_default_split_depends_on_the_batch);
  tcase_add_test(fi, flashinfer_disable_split_kv_gives_one_chunk);
  tcase_add_test(fi, flashinfer_fixed_split_over_graph_padding_is_refused);
  suite_add_tcase(s, fi);
  TCase *other = tcase_create("vllm+fa3+fixed");
  tcase_add_test(other, vllm_batch_invariant_forces_one_split);
  tcase_add_test(other, vllm_cuda_graph_caps_splits);
  tcase_add_test(other, fa3_h100_gqa4_decode_static_15_dynamic_13);
  tcase_add_test(other, fixed_chunks_have_the_given_length);
  suite_add_tcase(s, other);
  TCase *inv = tcase_create("invariants");
  tcase_add_test(inv, invariance_is_predicted_from_the_plans);
  tcase_add_test(inv, empty_kv_gets_one_empty_chunk);
  tcase_add_test(inv, every_policy_partitions_random_batches);
  tcase_add_test(inv, plan_rejects_bad_input_with_a_message);
  suite_add_tcase(s, inv);
  return s;
}
