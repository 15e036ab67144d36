/* quant.c — default quantization settings. */
#include "quant.h"

#include <string.h>

void skv_quant_params_default(skv_quant_params *p) {
  memset(p, 0, sizeof *p);
  p->q_scale = p->k_scale = p->v_scale = 1.0f;
}
