/* plan_print.c — plan tables and JSON. */
#include "out/plan_print.h"

#include <inttypes.h>

void skv_plan_print_table(FILE *f, const skv_plan *p, const skv_batch *b) {
  int64_t smin, smax;
  double smean;
  skv_plan_split_stats(p, &smin, &smax, &smean);
  fprintf(f, "policy %s: %d requests, hq %d, hkv %d, head dim %d, page %d, %s KV, GPU %s, %d SMs\n",
          skv_policy_name(p->policy), b->num_requests, b->num_q_heads, b->num_kv_heads, b->head_dim, b->page_size,
          skv_dtype_name(b->kv_dtype), p->gpu_name, p->num_sms);
  fprintf(f, "  %s\n", p->why);
  fprintf(f, "  CTAs %" PRId64 " (query tiles x the chunks each sees x kv heads; the modelled kernel launches %" PRId64
             "), waves %.2f (%" PRId64 " at %d CTAs/SM)\n",
          p->num_work, p->grid_ctas, p->waves, p->full_waves, p->opts.blocks_per_sm);
  if (skv_batch_max_qlen(b) > 1)
    fprintf(f, "  query tiles of %d packed rows (%d tokens x %d q heads), %s mask\n", p->tile_rows, p->tile_tokens,
            skv_batch_group(b), p->mask == SKV_MASK_NONE ? "no" : "causal");
  fprintf(f, "  splits per request: min %" PRId64 ", max %" PRId64 ", mean %.2f; combine items %" PRId64 "\n", smin,
          smax, smean, p->num_combine);
  fprintf(f, "  scratch: partial O %" PRId64 " B + partial LSE %" PRId64 " B (%" PRId64 " rows)\n", p->scratch_o_bytes,
          p->scratch_lse_bytes, p->num_partials);
  fprintf(f, "\n  %7s %6s %9s %7s  %s\n", "request", "qlen", "kvlen", "splits", "chunks [begin,end)");
  for (int32_t r = 0; r < p->num_requests; r++) {
    const int64_t n = skv_plan_num_splits(p, r);
    const skv_chunk *c = skv_plan_chunks(p, r);
    fprintf(f, "  %7d %6" PRId64 " %9" PRId64 " %7" PRId64 "  ", r, b->qlen[r], b->kvlen[r], n);
    for (int64_t k = 0; k < n; k++) {
      if (n > 6 && k == 3) {
        fprintf(f, "... ");
        k = n - 3;
      }
      fprintf(f, "[%" PRId64 ",%" PRId64 ") ", c[k].begin, c[k].end);
    }
    fputc('\n', f);
  }
}

void skv_plan_write_json(skv_json *j, const skv_plan *p, const skv_batch *b, bool with_work) {
  skv_json_object_begin(j);
  skv_json_kv_string(j, "policy", skv_policy_name(p->policy));
  skv_json_key(j, "options");
  skv_json_object_begin(j);
  skv_json_kv_int(j, "split_size", p->opts.split_size);
  skv_json_kv_int(j, "num_splits", p->opts.num_splits);
  skv_json_kv_int(j, "max_splits", p->opts.max_splits);
  skv_json_kv_int(j, "fixed_split_pages", p->opts.fixed_split_pages);
  skv_json_kv_bool(j, "disable_split_kv", p->opts.disable_split_kv);
  skv_json_kv_bool(j, "cuda_graph", p->opts.cuda_graph);
  skv_json_kv_bool(j, "batch_invariant", p->opts.batch_invariant);
  skv_json_kv_int(j, "blocks_per_sm", p->opts.blocks_per_sm);
  skv_json_kv_int(j, "tile_rows", p->opts.tile_rows);
  skv_json_kv_int(j, "taper", p->opts.taper);
  skv_json_object_end(j);
  skv_json_kv_string(j, "mask", p->mask == SKV_MASK_NONE ? "none" : "causal");
  skv_json_kv_int(j, "tile_rows", p->tile_rows);
  skv_json_kv_int(j, "tile_tokens", p->tile_tokens);
  skv_json_kv_int(j, "num_q_heads", p->num_q_heads);
  skv_json_kv_int(j, "num_kv_heads", p->num_kv_heads);
  skv_json_kv_int(j, "head_dim", p->head_dim);
  skv_json_kv_int(j, "page_size", p->page_size);
  skv_json_kv_string(j, "kv_dtype", skv_dtype_name(b->kv_dtype));
  skv_json_kv_string(j, "gpu", p->gpu_name);
  skv_json_kv_int(j, "num_sms", p->num_sms);
  skv_json_kv_bool(j, "gqa_packed", p->gqa_packed);
  skv_json_kv_int(j, "batch_num_splits", p->batch_num_splits);
  skv_json_kv_string(j, "why", p->why);
  skv_json_kv_int(j, "ctas", p->num_work);
  skv_json_kv_int(j, "grid_ctas", p->grid_ctas);
  skv_json_kv_double(j, "waves", p->waves);
  skv_json_kv_int(j, "full_waves", p->full_waves);
  skv_json_kv_int(j, "scratch_o_bytes", p->scratch_o_bytes);
  skv_json_kv_int(j, "scratch_lse_bytes", p->scratch_lse_bytes);
  skv_json_kv_int(j, "combine_items", p->num_combine);
  skv_json_key(j, "requests");
  skv_json_array_begin(j);
  for (int32_t r = 0; r < p->num_requests; r++) {
    skv_json_object_begin(j);
    skv_json_kv_int(j, "request", r);
    skv_json_kv_int(j, "qlen", b->qlen[r]);
    skv_json_kv_int(j, "kvlen", b->kvlen[r]);
    skv_json_kv_int(j, "num_splits", skv_plan_num_splits(p, r));
    skv_json_key(j, "chunks");
    skv_json_array_begin(j);
    const skv_chunk *c = skv_plan_chunks(p, r);
    int saved = j->indent;
    for (int64_t k = 0; k < skv_plan_num_splits(p, r); k++) {
      skv_json_array_begin(j);
      j->indent = 0; /* keep each [begin, end] pair on one line */
      skv_json_int(j, c[k].begin);
      skv_json_int(j, c[k].end);
      skv_json_array_end(j);
      j->indent = saved;
    }
    skv_json_array_end(j);
    skv_json_object_end(j);
  }
  skv_json_array_end(j);
  if (with_work) {
    skv_json_key(j, "work");
    skv_json_array_begin(j);
    for (int64_t i = 0; i < p->num_work; i++) {
      const skv_work *w = &p->work[i];
      skv_json_object_begin(j);
      skv_json_kv_int(j, "request", w->request);
      skv_json_kv_int(j, "kv_head", w->kv_head);
      skv_json_kv_int(j, "chunk", w->chunk);
      skv_json_kv_int(j, "kv_begin", w->kv_begin);
      skv_json_kv_int(j, "kv_end", w->kv_end);
      skv_json_kv_int(j, "q_begin", w->q_begin);
      skv_json_kv_int(j, "q_end", w->q_end);
      skv_json_kv_int(j, "key_end", w->key_end);
      skv_json_kv_int(j, "num_chunks", w->num_chunks);
      skv_json_kv_int(j, "partial", w->partial);
      skv_json_object_end(j);
    }
    skv_json_array_end(j);
    skv_json_key(j, "combine");
    skv_json_array_begin(j);
    for (int64_t i = 0; i < p->num_combine; i++) {
      const skv_combine_item *m = &p->combine[i];
      skv_json_object_begin(j);
      skv_json_kv_int(j, "request", m->request);
      skv_json_kv_int(j, "kv_head", m->kv_head);
      skv_json_kv_int(j, "num_chunks", m->num_chunks);
      skv_json_kv_int(j, "q_begin", m->q_begin);
      skv_json_kv_int(j, "q_end", m->q_end);
      skv_json_kv_int(j, "first_partial", m->first_partial);
      skv_json_object_end(j);
    }
    skv_json_array_end(j);
  }
  skv_json_object_end(j);
}
