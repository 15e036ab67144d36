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
  g->read_tbps = 3.0, g->cta_gbps = 40.0, g->cta_gbps_8bit = 25.0;
  g->launch_us = 3.0, g->cta_fixed_us = 2.0, g->combine_item_us = 2.0;
  static const int32_t table[SKV_FORM_COUNT][SKV_GPU_HEAD_DIMS] = {{3, 2, 1}, {6, 4, 3}, {5, 3, 2}, {4, 2, 2}};
  memcpy(g->ctas_per_sm, table, sizeof table);
  return g;
}
