/* gpu_fixture.c — made-up GPU descriptions for tests. */
#include "gpu_fixture.h"

#include <stdio.h>
#include <string.h>

const skv_gpu *skv_test_gpu(int32_t sms) {
  static skv_gpu ring[8];
  static int next;
  skv_gpu *g = &ring[next++ % 8];
  memset(g, 0, sizeof *g);
  snprintf(g->name, sizeof g->name, "test-%d", sms);
  snprintf(g->arch, sizeof g->arch, "sm_90");
  g->sms = sms;
  g->read_tbps = 3.0, g->launch_us = 3.0, g->combine_item_us = 2.0, g->combine_chunk_us = 0.0;
  for (int k = 0; k < SKV_STREAM_COUNT; k++) skv_test_stream(&g->stream[k], k == SKV_STREAM_16BIT ? 40.0 : 25.0, 3.0, 2.0, 0.0);
  static const int32_t table[SKV_FORM_COUNT][SKV_GPU_HEAD_DIMS] = {{3, 2, 1}, {6, 4, 3}, {5, 3, 2}, {4, 2, 2}};
  memcpy(g->ctas_per_sm, table, sizeof table);
  return g;
}

void skv_test_stream(skv_gpu_stream *s, double cta_gbps, double stream_tbps, double fixed_us, double fixed_sm_us) {
  for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
    for (int q = 0; q < SKV_GPU_GROUPS; q++) s->cta_gbps[d][q] = cta_gbps, s->stream_tbps[d][q] = stream_tbps;
  for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
    for (int q = 0; q < SKV_GPU_GROUPS; q++) s->fixed_us[d][q] = fixed_us;
  s->fixed_sm_us = fixed_sm_us;
}

void skv_test_scale_streams(skv_gpu *g, double rates, double fixed) {
  for (int k = 0; k < SKV_STREAM_COUNT; k++) {
    skv_gpu_stream *s = &g->stream[k];
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; q < SKV_GPU_GROUPS; q++) s->cta_gbps[d][q] *= rates, s->stream_tbps[d][q] *= rates;
    for (int d = 0; d < SKV_GPU_HEAD_DIMS; d++)
      for (int q = 0; q < SKV_GPU_GROUPS; q++) s->fixed_us[d][q] *= fixed;
    s->fixed_sm_us *= fixed;
  }
}
