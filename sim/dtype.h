/* dtype.h — element types of Q, K, V and O, and exact conversions between them and float. */
#ifndef SKV_DTYPE_H
#define SKV_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "convert.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Storage types the lab knows. The reference always computes in double from
 * the exact stored values, so a conversion here is the single definition of
 * "what value a stored element has". */
typedef enum skv_dtype {
  SKV_BF16 = 0,    /* bfloat16: 1 sign, 8 exponent, 7 mantissa bits */
  SKV_FP16,        /* IEEE binary16: 1, 5, 10 */
  SKV_FP8_E4M3,    /* OCP e4m3 ("fn"): 1, 4, 3; no inf; max 448; S.1111.111 is NaN */
  SKV_INT8,        /* symmetric int8 with a scale held elsewhere */
  SKV_FP32,        /* IEEE binary32 (scratch, LSE) */
  SKV_DTYPE_COUNT
} skv_dtype;

/* How the scales of an 8-bit K/V cache are laid out (quant.h says what each variant reads). */
typedef enum skv_scale_mode {
  SKV_SCALE_PER_TENSOR = 0,  /* one k_scale and one v_scale (fp8) */
  SKV_SCALE_PER_TOKEN_HEAD,  /* a scale per (page, slot, kv head): [num_pages, page_size, hkv] */
  SKV_SCALE_MODE_COUNT
} skv_scale_mode;

const char *skv_scale_mode_name(skv_scale_mode m);
bool skv_scale_mode_parse(const char *name, skv_scale_mode *out);

/* Bytes of one element. */
int skv_dtype_size(skv_dtype t);
/* "bf16", "fp16", "fp8_e4m3", "int8", "fp32". */
const char *skv_dtype_name(skv_dtype t);
/* Parse a name as above; returns false for an unknown one. */
bool skv_dtype_parse(const char *name, skv_dtype *out);

/* float <-> bf16/fp16 (round to nearest even; NaN stays NaN, overflow goes
 * to inf) and e4m3/int8 live in convert.h, shared with the kernels. */

/* Value of element i of a buffer of type t (bf16, fp16, fp32) as a double.
 * fp8 and int8 need scales: see quant.h. */
double skv_load_as_double(skv_dtype t, const void *buf, int64_t i);
/* Store x (rounded as above) as element i of a buffer of type t (bf16, fp16, fp32). */
void skv_store_from_float(skv_dtype t, void *buf, int64_t i, float x);

#ifdef __cplusplus
}
#endif

#endif /* SKV_DTYPE_H */
