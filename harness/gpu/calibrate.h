/* calibrate.h — `skv calibrate`: measure on the device what the cost model needs, fit it, report the residuals (gpu/calibrate.c; nogpu.c without CUDA). */
#ifndef SKV_CALIBRATE_H
#define SKV_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gpu.h"

typedef struct skv_calibrate_opts {
  char name[32];          /* the model's name; "" = from the device's name ("NVIDIA H200" -> "h200") */
  int repeat, warmup;     /* per measurement: median of `repeat` timed runs after `warmup` */
  bool use_cupti;         /* CUPTI kernel durations (else CUDA events) */
  bool start_cupti;       /* with use_cupti: start CUPTI here and stop it after (false: the caller has) */
  int64_t ceiling_bytes;  /* the read-stream ceiling's buffer */
  bool checks;            /* also time the check points (the residuals of configurations not fitted) */
  const char *version;    /* skv's commit, for `calibrated` */
} skv_calibrate_opts;

static inline void skv_calibrate_opts_default(skv_calibrate_opts *o) {
  *o = (skv_calibrate_opts){.repeat = 20, .warmup = 3, .use_cupti = true, .ceiling_bytes = (int64_t)2 << 30,
                            .checks = true, .version = "unknown"};
}

/* One measured configuration and the fitted model's prediction of it. */
typedef struct skv_calibration_point {
  char what[96];
  bool fitted;            /* a point the fit used (else a check point) */
  double measured_us, predicted_us;
} skv_calibration_point;

#define SKV_CALIBRATION_MAX_POINTS 256
#define SKV_CALIBRATE_EXT_BASE ((uint64_t)1 << 50)

typedef struct skv_calibration {
  skv_gpu gpu;                  /* the fitted model, `calibrated` filled */
  char device_name[256];
  double copy_tbps;             /* the device-to-device copy ceiling, for the record */
  skv_calibration_point points[SKV_CALIBRATION_MAX_POINTS];
  int32_t npoints;
} skv_calibration;

/* Measure and fit (the method: calibrate.c's header and README, "skv calibrate"); progress lines to
 * log (may be NULL). Every measured run's outputs are checked to be written before it is timed.
 * False with err on a CUDA or CUPTI error, an unwritten output or a fit that makes no sense (a
 * non-positive rate). The timed launches carry CUPTI external ids from SKV_CALIBRATE_EXT_BASE up. */
bool skv_calibrate(const skv_calibrate_opts *o, skv_calibration *out, FILE *log, char *err, size_t errlen);

#endif /* SKV_CALIBRATE_H */
