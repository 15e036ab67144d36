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
  for (int k = 0; k < SKV_STREAM_COUNT; k++)
    g->stream[k] = (skv_gpu_stream){.cta_gbps = k == SKV_STREAM_16BIT ? 40.0 : 25.0, .stream_tbps = 3.0,
                                    .fixed_us = 2.0, .fixed_sm_us = 0.0};
  static const int32_t table[SKV_FORM_COUNT][SKV_GPU_HEAD_DIMS] = {{3, 2, 1}, {6, 4, 3}, {5, 3, 2}, {4, 2, 2}};
  memcpy(g->ctas_per_sm, table, sizeof table);
  return g;
}
