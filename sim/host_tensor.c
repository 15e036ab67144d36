/* host_tensor.c — a torch tensor's view semantics over a buffer of doubles: empty, reshape (a view or a copy), transpose. */
#include "host_tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool skv_host_tensor_empty(skv_host_tensor *t, int32_t rank, const int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->view = skv_layout_row_major(rank, shape);
  t->numel = skv_layout_size(&t->view);
  t->data = malloc((size_t)t->numel * sizeof *t->data);
  if (!t->data) return false;
  for (int64_t i = 0; i < t->numel; i++) t->data[i] = NAN;
  return true;
}

void skv_host_tensor_free(skv_host_tensor *t) {
  free(t->data);
  memset(t, 0, sizeof *t);
}

bool skv_host_tensor_reshape(skv_host_tensor *t, int32_t rank, const int64_t *shape) {
  if (rank < 1 || rank > SKV_LAYOUT_MAX_RANK) return false;
  skv_layout v;
  if (skv_layout_view(&t->view, rank, shape, &v)) {
    t->view = v;
    return true;
  }
  const skv_layout want = skv_layout_row_major(rank, shape);
  const int64_t n = skv_layout_size(&t->view);
  if (skv_layout_size(&want) != n) return false;
  /* torch.reshape falls back to clone(contiguous) + view: copy in the
   * tensor's logical (row-major) order into fresh storage. */
  double *d = malloc((size_t)n * sizeof *d);
  if (!d) return false;
  int64_t c[SKV_LAYOUT_MAX_RANK];
  for (int64_t i = 0; i < n; i++) {
    skv_layout_coord_row_major(&t->view, i, c);
    d[i] = t->data[skv_layout_offset(&t->view, c)];
  }
  free(t->data);
  t->data = d;
  t->numel = n;
  t->view = want;
  t->copies++;
  return true;
}

bool skv_host_tensor_transpose(skv_host_tensor *t, int32_t d0, int32_t d1) {
  return skv_layout_transpose(&t->view, d0, d1, &t->view);
}

double skv_host_tensor_get(const skv_host_tensor *t, const int64_t *coord) {
  return t->data[skv_layout_offset(&t->view, coord)];
}

bool skv_host_tensor_is_contiguous(const skv_host_tensor *t) {
  int64_t expect = 1;
  for (int32_t k = t->view.rank - 1; k >= 0; k--) {
    if (t->view.shape[k] == 1) continue; /* torch ignores the stride of a size-1 dim */
    if (t->view.stride[k] != expect) return false;
    expect *= t->view.shape[k];
  }
  return true;
}

