/* gpu_fixture.h — made-up GPU descriptions for tests: round numbers of the right magnitude, not any real GPU's (those live in experiments/gpus.yaml only). */
#ifndef SKV_TEST_GPU_FIXTURE_H
#define SKV_TEST_GPU_FIXTURE_H

#include <stdint.h>

#include "gpu.h"

/* A description with `sms` SMs: read 3 TB/s, one CTA 40 GB/s (8-bit 25), launch 3 us, per CTA
 * 2 us, combine item 2 us, residency 3/2/1 (16-bit), 6/4/3 (8-bit columns), 5/3/2 (8-bit rows),
 * 4/2/2 (int8 K + 16-bit V). The pointer stays valid for the next seven calls. */
const skv_gpu *skv_test_gpu(int32_t sms);
/* Stream s with the same cta_gbps and stream_tbps at every head dim and group, and the fixed costs. */
void skv_test_stream(skv_gpu_stream *s, double cta_gbps, double stream_tbps, double fixed_us, double fixed_sm_us);
/* Every stream of g scaled: the rates by `rates`, the fixed costs by `fixed`. */
void skv_test_scale_streams(skv_gpu *g, double rates, double fixed);

#endif /* SKV_TEST_GPU_FIXTURE_H */
