// conversions.cu — sim/convert.h against CUDA's own host conversions, bit for bit (make test, when nvcc is found).
//
// Host code only (no GPU needed): every fp32 value obtained from the 65,536 bf16 bit patterns goes
// through skv_f32_to_e4m3 and through cuda_fp8.h's __nv_cvt_float_to_fp8(x, __NV_SATFINITE,
// __NV_E4M3); the same values through skv_f32_to_fp16 / skv_f32_to_bf16 and cuda_fp16.h /
// cuda_bf16.h's __float2half_rn / __float2bfloat16_rn (plus 2^20 random fp32 values, which hit
// the rounding boundaries bf16 values cannot); and every e4m3 code back to float both ways.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <stdio.h>
#include <string.h>

#include "convert.h"

static int fails = 0;

static void check(const char *what, uint32_t input, uint32_t ours, uint32_t cuda) {
  if (ours == cuda) return;
  if (fails++ < 10) printf("  %s: input 0x%08x: skv 0x%x, CUDA 0x%x\n", what, input, ours, cuda);
}

static uint32_t bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}

static bool isnan_bits(uint32_t u) { return (u & 0x7FFFFFFFu) > 0x7F800000u; }

static void check_float(float x) {
  const uint32_t u = bits(x);
  check("e4m3", u, skv_f32_to_e4m3(x), __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3));
  const uint16_t hb = __half_as_ushort(__float2half_rn(x)), bb = __bfloat16_as_ushort(__float2bfloat16_rn(x));
  if (isnan_bits(u)) { /* any NaN is a NaN: payloads differ between libraries */
    check("fp16 NaN", u, (skv_f32_to_fp16(x) & 0x7C00u) == 0x7C00u && (skv_f32_to_fp16(x) & 0x3FFu), 1);
    check("bf16 NaN", u, (skv_f32_to_bf16(x) & 0x7F80u) == 0x7F80u && (skv_f32_to_bf16(x) & 0x7Fu), 1);
  } else {
    check("fp16", u, skv_f32_to_fp16(x), hb);
    check("bf16", u, skv_f32_to_bf16(x), bb);
  }
}

int main(void) {
  for (uint32_t p = 0; p < 65536; p++) {
    float x;
    const uint32_t u = p << 16;
    memcpy(&x, &u, 4);
    check_float(x);
  }
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < (1 << 20); i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    float x;
    const uint32_t u = (uint32_t)s;
    memcpy(&x, &u, 4);
    check_float(x);
  }
  for (uint32_t c = 0; c < 256; c++) {
    const __half h(__nv_cvt_fp8_to_halfraw((__nv_fp8_storage_t)c, __NV_E4M3));
    const float cuda = __half2float(h), ours = skv_e4m3_to_f32((uint8_t)c);
    if (isnan_bits(bits(cuda)) || isnan_bits(bits(ours))) check("e4m3 -> f32 NaN", c, isnan_bits(bits(ours)), isnan_bits(bits(cuda)));
    else check("e4m3 -> f32", c, bits(ours), bits(cuda));
  }
  if (fails) {
    printf("conversions: %d mismatches against CUDA's host conversions\n", fails);
    return 1;
  }
  printf("conversions: e4m3, fp16, bf16 identical to cuda_fp8.h / cuda_fp16.h / cuda_bf16.h for all 65,536 "
         "bf16-valued floats and 2^20 random floats; all 256 e4m3 codes decode identically\n");
  return 0;
}
