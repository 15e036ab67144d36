/* layout.h — shape:stride layouts after CuTe: coordinate -> offset, composition, PyTorch's view/reshape rule. */
#ifndef SKV_LAYOUT_H
#define SKV_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Conventions (read these before using any function below).
 *
 * A layout is a list of modes (shape_k, stride_k), k = 0 .. rank-1. It maps a
 * coordinate (c_0, .., c_{rank-1}), 0 <= c_k < shape_k, to the offset
 *   offset(c) = sum_k c_k * stride_k.
 * That is all a layout is; which element is "number i" is a separate choice,
 * an index order, and the two libraries modelled here choose differently:
 *
 *   colex (CuTe, cute/layout.hpp and its docs "01_layout"): the FIRST mode runs
 *     fastest. i -> c_0 = i mod s_0, c_1 = (i / s_0) mod s_1, ...
 *     CuTe's make_layout(shape) is the compact colex layout, strides
 *     (1, s_0, s_0*s_1, ..), and `layout(i)` means offset(colex coordinate of
 *     i). Composition is defined in this order.
 *   row-major (PyTorch, C arrays): the LAST mode runs fastest. torch.empty(shape)
 *     has strides (.., s_{rank-1}, 1), and view/reshape/flatten enumerate
 *     elements in this order.
 *
 * Hence CuTe's make_layout((sq, h, b)) is the memory order of a torch tensor of
 * shape (b, h, sq): same offsets, modes listed in opposite order.
 *
 * As in CuTe, when a linear index is turned into a coordinate the outermost
 * mode (colex: the last, row-major: the first) is not reduced modulo its
 * shape: an index past size() continues along it.
 *
 * Strides are >= 0 (negative strides are not modelled), shapes >= 1.
 * The struct is plain data (no pointers) so a CUDA kernel can take it by
 * value; skv_layout_offset() and skv_layout_offset3() compile for the device. */

#define SKV_LAYOUT_MAX_RANK 8

typedef struct skv_layout {
  int32_t rank;                          /* 1 .. SKV_LAYOUT_MAX_RANK */
  int32_t pad_;                          /* explicit, so the struct has no hidden bytes (memcmp-able) */
  int64_t shape[SKV_LAYOUT_MAX_RANK];    /* extent of each mode; entries past rank are 0 */
  int64_t stride[SKV_LAYOUT_MAX_RANK];   /* offset step of each mode; entries past rank are 0 */
} skv_layout;

/* Offset of a coordinate: sum c_k * stride_k (no bounds check). */
static inline SKV_HD int64_t skv_layout_offset(const skv_layout *l, const int64_t *coord) {
  int64_t off = 0;
  for (int32_t k = 0; k < l->rank; k++) off += coord[k] * l->stride[k];
  return off;
}

/* The same for a rank-3 layout, e.g. FA2's LSE coordinate (b, h, m). */
static inline SKV_HD int64_t skv_layout_offset3(const skv_layout *l, int64_t c0, int64_t c1, int64_t c2) {
  return c0 * l->stride[0] + c1 * l->stride[1] + c2 * l->stride[2];
}

/* Constructors. rank must be 1 .. SKV_LAYOUT_MAX_RANK (checked by
 * skv_layout_check, not here). */
skv_layout skv_layout_strided(int32_t rank, const int64_t *shape, const int64_t *stride);
/* PyTorch-style contiguous: last mode stride 1. */
skv_layout skv_layout_row_major(int32_t rank, const int64_t *shape);
/* CuTe's make_layout(shape): first mode stride 1. */
skv_layout skv_layout_col_major(int32_t rank, const int64_t *shape);
/* (s0,s1,s2):(d0,d1,d2). */
skv_layout skv_layout3(int64_t s0, int64_t s1, int64_t s2, int64_t d0, int64_t d1, int64_t d2);

/* A valid layout: rank in range, shapes >= 1, strides >= 0, size and cosize
 * within int64. False with a one-line reason otherwise. */
bool skv_layout_check(const skv_layout *l, char *err, size_t errlen);

/* Number of coordinates (product of shapes), and 1 + the largest offset. */
int64_t skv_layout_size(const skv_layout *l);
int64_t skv_layout_cosize(const skv_layout *l);

/* Linear index <-> coordinate, in colex (CuTe) and row-major (PyTorch) order. */
void skv_layout_coord_colex(const skv_layout *l, int64_t i, int64_t *coord);
void skv_layout_coord_row_major(const skv_layout *l, int64_t i, int64_t *coord);
int64_t skv_layout_index_colex(const skv_layout *l, const int64_t *coord);
int64_t skv_layout_index_row_major(const skv_layout *l, const int64_t *coord);

/* CuTe's layout(i): the offset of the colex coordinate of i. */
int64_t skv_layout_at(const skv_layout *l, int64_t i);

/* CuTe's coalesce: the same function of the colex index with the fewest
 * modes (size-1 modes dropped; modes k, k+1 merged when stride_{k+1} =
 * shape_k * stride_k). At least one mode remains ((1):(0) for size 1). */
skv_layout skv_layout_coalesce(const skv_layout *l);

/* CuTe's composition R = A o B: R(i) = A(B(i)) for every i < size(B), all
 * indices colex. B must map into A's domain: cosize(B) <= size(A) (CuTe
 * extends A past its size instead; that extension is not kept by coalesce,
 * so it is refused here). A is coalesced first; each mode (s:d) of B becomes
 * one or more flat modes of R, in order, so R's colex coordinates refine B's.
 * A mode (s:d) is representable when d "divides through" A's leading modes
 * (each shape of A divides the remaining d, or the remaining d divides it)
 * and s then fits the modes left (each divides the remaining s, or the
 * remaining s is smaller than it). Otherwise false with the reason in err;
 * also false if R would exceed SKV_LAYOUT_MAX_RANK. */
bool skv_layout_compose(const skv_layout *a, const skv_layout *b, skv_layout *out, char *err, size_t errlen);

/* Swap modes d0 and d1 (torch.transpose); false if a dim is out of range. */
bool skv_layout_transpose(const skv_layout *l, int32_t d0, int32_t d1, skv_layout *out);

/* torch.Tensor.view: can the strided tensor l (row-major logical order) be
 * seen with a new shape without moving data? True with the view's strides in
 * *out; false if the sizes differ or the strides do not allow it (PyTorch
 * would have to copy: torch.reshape then makes a contiguous copy). */
bool skv_layout_view(const skv_layout *l, int32_t rank, const int64_t *shape, skv_layout *out);

/* Is offset() a bijection from the coordinates onto [0, size)? */
bool skv_layout_is_bijective(const skv_layout *l);

/* "(4,8,2):(16,2,1)" into buf; returns what snprintf returns. */
int skv_layout_format(const skv_layout *l, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SKV_LAYOUT_H */
