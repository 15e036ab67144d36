/* host_tensor.h — a torch tensor's storage and view (sizes, strides) over doubles, with torch's reshape and transpose rules. */
#ifndef SKV_HOST_TENSOR_H
#define SKV_HOST_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Storage plus a view (sizes and strides, logical order row-major), as a
 * torch tensor is. Values are LSEs or element ids (exact in a double below 2^53). */
typedef struct skv_host_tensor {
  double *data;    /* storage, owned */
  int64_t numel;   /* elements of storage */
  skv_layout view; /* torch's sizes() and strides(); storage offset is always 0 here */
  int32_t copies;  /* storage copies made by reshape (it could not return a view) */
} skv_host_tensor;

/* torch::empty(shape): contiguous, contents NaN (poisoned). False when out of memory. */
bool skv_host_tensor_empty(skv_host_tensor *t, int32_t rank, const int64_t *shape);
void skv_host_tensor_free(skv_host_tensor *t);
/* torch.reshape: a view when skv_layout_view allows it, else a contiguous
 * copy (clone) viewed with the new shape. False if the element count differs
 * or out of memory. */
bool skv_host_tensor_reshape(skv_host_tensor *t, int32_t rank, const int64_t *shape);
/* torch.transpose(d0, d1): a view. False if a dim is out of range. */
bool skv_host_tensor_transpose(skv_host_tensor *t, int32_t d0, int32_t d1);
double skv_host_tensor_get(const skv_host_tensor *t, const int64_t *coord);
/* torch.is_contiguous: the view is the row-major layout of its shape. */
bool skv_host_tensor_is_contiguous(const skv_host_tensor *t);

#ifdef __cplusplus
}
#endif

#endif /* SKV_HOST_TENSOR_H */
