/* quant.c — scale-mode names, default quantization settings, synthetic scale amplitudes. */
#include "quant.h"

#include <math.h>
#include <string.h>


static const char *const scale_mode_names[SKV_SCALE_MODE_COUNT] = {"per_tensor", "per_token_head"};

const char *skv_scale_mode_name(skv_scale_mode m) {
  return (m >= 0 && m < SKV_SCALE_MODE_COUNT) ? scale_mode_names[m] : "?";
}

bool skv_scale_mode_parse(const char *name, skv_scale_mode *out) {
  for (int m = 0; m < SKV_SCALE_MODE_COUNT; m++) {
    if (strcmp(name, scale_mode_names[m]) == 0) {
      *out = (skv_scale_mode)m;
      return true;
    }
  }
  return false;
}

void skv_quant_params_default(skv_quant_params *p) {
  memset(p, 0, sizeof *p);
  p->q_scale = p->k_scale = p->v_scale = 1.0f;
  p->kv_scale_mode = SKV_SCALE_PER_TENSOR;
  p->v_dtype = SKV_DTYPE_COUNT;
}
