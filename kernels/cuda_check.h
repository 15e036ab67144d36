/* cuda_check.h — one macro family for checked CUDA runtime calls, usable from C and CUDA files.
 *
 * Library code does not exit: a failing call writes "file:line: call: error"
 * into the caller's `err` buffer (char err[], size_t errlen in scope) and
 * returns from the function (SKV_CUDA_TRY: the cudaError_t as int; the _B
 * form: false). SKV_CUDA_LAUNCH checks a kernel launch's configuration error
 * at once (cudaGetLastError); errors raised while the kernel runs surface at
 * the next synchronizing call, which is checked in turn. */
#ifndef SKV_CUDA_CHECK_H
#define SKV_CUDA_CHECK_H

#include <cuda_runtime_api.h>
#include <stdio.h>

#define SKV_CUDA_TRY(call)                                                                                \
  do {                                                                                                    \
    cudaError_t skv_e_ = (call);                                                                          \
    if (skv_e_ != cudaSuccess) {                                                                          \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(skv_e_));       \
      return (int)skv_e_;                                                                                 \
    }                                                                                                     \
  } while (0)

#define SKV_CUDA_TRY_B(call)                                                                              \
  do {                                                                                                    \
    cudaError_t skv_e_ = (call);                                                                          \
    if (skv_e_ != cudaSuccess) {                                                                          \
      snprintf(err, errlen, "%s:%d: %s: %s", __FILE__, __LINE__, #call, cudaGetErrorString(skv_e_));       \
      return false;                                                                                       \
    }                                                                                                     \
  } while (0)

#define SKV_CUDA_LAUNCH(what)                                                                             \
  do {                                                                                                    \
    cudaError_t skv_e_ = cudaGetLastError();                                                              \
    if (skv_e_ != cudaSuccess) {                                                                          \
      snprintf(err, errlen, "%s:%d: launch of %s: %s", __FILE__, __LINE__, what, cudaGetErrorString(skv_e_)); \
      return (int)skv_e_;                                                                                 \
    }                                                                                                     \
  } while (0)

#endif /* SKV_CUDA_CHECK_H */
