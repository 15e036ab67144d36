/* dtype.c — element types and their exact conversions to and from float. */
#include "dtype.h"

#include <math.h>
#include <string.h>

static const struct { const char *name; int size; } dtype_info[SKV_DTYPE_COUNT] = {
    [SKV_BF16] = {"bf16", 2},         [SKV_FP16] = {"fp16", 2},
    [SKV_FP8_E4M3] = {"fp8_e4m3", 1}, [SKV_INT8] = {"int8", 1},
    [SKV_FP32] = {"fp32", 4},
};

int skv_dtype_size(skv_dtype t) { return (t >= 0 && t < SKV_DTYPE_COUNT) ? dtype_info[t].size : 0; }

const char *skv_dtype_name(skv_dtype t) {
  return (t >= 0 && t < SKV_DTYPE_COUNT) ? dtype_info[t].name : "?";
}

bool skv_dtype_parse(const char *name, skv_dtype *out) {
  for (int t = 0; t < SKV_DTYPE_COUNT; t++) {
    if (strcmp(name, dtype_info[t].name) == 0) {
      *out = (skv_dtype)t;
      return true;
    }
  }
  return false;
}

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

double skv_load_as_double(skv_dtype t, const void *buf, int64_t i) {
  switch (t) {
  case SKV_BF16: return skv_bf16_to_f32(((const uint16_t *)buf)[i]);
  case SKV_FP16: return skv_fp16_to_f32(((const uint16_t *)buf)[i]);
  case SKV_FP32: return ((const float *)buf)[i];
  default: return NAN;
  }
}

void skv_store_from_float(skv_dtype t, void *buf, int64_t i, float x) {
  switch (t) {
  case SKV_BF16: ((uint16_t *)buf)[i] = skv_f32_to_bf16(x); break;
  case SKV_FP16: ((uint16_t *)buf)[i] = skv_f32_to_fp16(x); break;
  case SKV_FP32: ((float *)buf)[i] = x; break;
  default: break;
  }
}
