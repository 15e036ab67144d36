/* nogpu.c — what the GPU-only commands do in a build without CUDA: say so and fail. */
#include <stdio.h>

#include "bench.h"

int skv_bench_decode_run(const skv_bench_opts *o, FILE *out) {
  (void)o, (void)out;
  fprintf(stderr, "skv bench: this skv was built without CUDA (no nvcc at build time); rebuild on a host with "
                  "the CUDA toolkit to run the benchmark\n");
  return 1;
}
