/* layout.c — the layout algebra: constructors, index orders, coalesce, composition, PyTorch's view rule, bijectivity.
 *
 * Sources of the rules:
 * - composition and coalesce: NVIDIA/cutlass include/cute/layout.hpp
 *   (composition_impl, coalesce) and the CuTe docs (02_layout_algebra.md):
 *   composition is distributive over the modes of B; for one mode (s:d) the
 *   stride d is first "divided out" of A's modes, then the shape s "modded
 *   out" of what is left.
 * - view: pytorch/pytorch aten/src/ATen/TensorUtils.cpp (computeStride),
 *   which torch.Tensor.view and torch.reshape use to decide whether a new
 *   shape can share the old storage. */
#include "layout.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

skv_layout skv_layout_strided(int32_t rank, const int64_t *shape, const int64_t *stride) {
  skv_layout l;
  memset(&l, 0, sizeof l);
  l.rank = rank;
  for (int32_t k = 0; k < rank && k < SKV_LAYOUT_MAX_RANK; k++) {
    l.shape[k] = shape[k];
    l.stride[k] = stride[k];
  }
  return l;
}

skv_layout skv_layout_row_major(int32_t rank, const int64_t *shape) {
  int64_t stride[SKV_LAYOUT_MAX_RANK] = {0};
  int64_t s = 1;
  for (int32_t k = rank - 1; k >= 0 && rank <= SKV_LAYOUT_MAX_RANK; k--) {
    stride[k] = s;
    s *= shape[k];
  }
  return skv_layout_strided(rank, shape, stride);
}

skv_layout skv_layout_col_major(int32_t rank, const int64_t *shape) {
  int64_t stride[SKV_LAYOUT_MAX_RANK] = {0};
  int64_t s = 1;
  for (int32_t k = 0; k < rank && k < SKV_LAYOUT_MAX_RANK; k++) {
    stride[k] = s;
    s *= shape[k];
  }
  return skv_layout_strided(rank, shape, stride);
}

skv_layout skv_layout3(int64_t s0, int64_t s1, int64_t s2, int64_t d0, int64_t d1, int64_t d2) {
  const int64_t shape[3] = {s0, s1, s2}, stride[3] = {d0, d1, d2};
  return skv_layout_strided(3, shape, stride);
}

bool skv_layout_check(const skv_layout *l, char *err, size_t errlen) {
  if (l->rank < 1 || l->rank > SKV_LAYOUT_MAX_RANK) {
    snprintf(err, errlen, "layout: rank %d is out of range (1..%d)", l->rank, SKV_LAYOUT_MAX_RANK);
    return false;
  }
  int64_t size = 1, last = 0;
  for (int32_t k = 0; k < l->rank; k++) {
    if (l->shape[k] < 1 || l->stride[k] < 0) {
      snprintf(err, errlen, "layout: mode %d is %" PRId64 ":%" PRId64 " (shapes must be >= 1, strides >= 0)", k,
               l->shape[k], l->stride[k]);
      return false;
    }
    if (size > INT64_MAX / l->shape[k] ||
        (l->stride[k] > 0 && l->shape[k] - 1 > (INT64_MAX - last) / l->stride[k])) {
      snprintf(err, errlen, "layout: size or largest offset overflows int64");
      return false;
    }
    size *= l->shape[k];
    last += (l->shape[k] - 1) * l->stride[k];
  }
  return true;
}

int64_t skv_layout_size(const skv_layout *l) {
  int64_t n = 1;
  for (int32_t k = 0; k < l->rank; k++) n *= l->shape[k];
  return n;
}

int64_t skv_layout_cosize(const skv_layout *l) {
  int64_t last = 0;
  for (int32_t k = 0; k < l->rank; k++) last += (l->shape[k] - 1) * l->stride[k];
  return last + 1;
}

void skv_layout_coord_colex(const skv_layout *l, int64_t i, int64_t *coord) {
  for (int32_t k = 0; k < l->rank - 1; k++) {
    coord[k] = i % l->shape[k];
    i /= l->shape[k];
  }
  coord[l->rank - 1] = i;
}

void skv_layout_coord_row_major(const skv_layout *l, int64_t i, int64_t *coord) {
  for (int32_t k = l->rank - 1; k > 0; k--) {
    coord[k] = i % l->shape[k];
    i /= l->shape[k];
  }
  coord[0] = i;
}

int64_t skv_layout_index_colex(const skv_layout *l, const int64_t *coord) {
  int64_t i = 0;
  for (int32_t k = l->rank - 1; k >= 0; k--) i = i * l->shape[k] + coord[k];
  return i;
}

int64_t skv_layout_index_row_major(const skv_layout *l, const int64_t *coord) {
  int64_t i = 0;
  for (int32_t k = 0; k < l->rank; k++) i = i * l->shape[k] + coord[k];
  return i;
}

int64_t skv_layout_at(const skv_layout *l, int64_t i) {
  int64_t c[SKV_LAYOUT_MAX_RANK];
  skv_layout_coord_colex(l, i, c);
  return skv_layout_offset(l, c);
}

skv_layout skv_layout_coalesce(const skv_layout *l) {
  skv_layout r;
  memset(&r, 0, sizeof r);
  for (int32_t k = 0; k < l->rank; k++) {
    if (l->shape[k] == 1) continue;
    if (r.rank > 0 && l->stride[k] == r.shape[r.rank - 1] * r.stride[r.rank - 1]) {
      r.shape[r.rank - 1] *= l->shape[k]; /* continues the previous mode in colex order */
      continue;
    }
    r.shape[r.rank] = l->shape[k];
    r.stride[r.rank] = l->stride[k];
    r.rank++;
  }
  if (r.rank == 0) {
    r.rank = 1;
    r.shape[0] = 1;
    r.stride[0] = 0;
  }
  return r;
}

/* Append mode (s:d) to r; false (with a message) when r is full. */
static bool push_mode(skv_layout *r, int64_t s, int64_t d, char *err, size_t errlen) {
  if (r->rank >= SKV_LAYOUT_MAX_RANK) {
    snprintf(err, errlen, "compose: result exceeds rank %d", SKV_LAYOUT_MAX_RANK);
    return false;
  }
  r->shape[r->rank] = s;
  r->stride[r->rank] = d;
  r->rank++;
  return true;
}

/* A o (s:d) for a coalesced A, appended to r. With A's colex index x = j*d,
 * j < s, and x written in A's mixed radix (digit k of x is A's coordinate k):
 * 1. Divide: while the remaining stride q is a multiple of A's mode shape a_k,
 *    digit k of j*d is always 0: drop the mode, q /= a_k. When a_k is a
 *    multiple of q, digit k is q*(j mod a_k/q): the mode becomes
 *    (a_k/q : e_k*q) and the modes after it are unchanged. Neither: the
 *    digits of j*d do not form a rectangle, no layout represents them.
 *    A's last mode takes stride e*q for whatever q is left.
 * 2. Mod: j is then decomposed colex over those modes; take whole modes while
 *    their shape divides the remaining s, and a final partial mode of the
 *    remaining s when that is smaller than the mode (no wrap can occur);
 *    anything else would need a ragged shape. The last mode takes the rest.
 * maxdig[k] accumulates the largest digit this B mode puts in A's mode k. */
static bool compose_mode(const skv_layout *a, int64_t s, int64_t d, int32_t bmode, skv_layout *r, int64_t *maxdig,
                         char *err, size_t errlen) {
  if (s == 1 || d == 0) return push_mode(r, s, 0, err, errlen); /* constant: one (s:0), so B's modes keep their place */
  int64_t ms[SKV_LAYOUT_MAX_RANK], md[SKV_LAYOUT_MAX_RANK], unit[SKV_LAYOUT_MAX_RANK];
  int32_t src[SKV_LAYOUT_MAX_RANK], n = 0, k = 0;
  int64_t q = d;
  for (; k < a->rank - 1 && q > 1; k++) {
    if (q % a->shape[k] == 0) {
      q /= a->shape[k];
    } else if (a->shape[k] % q == 0) {
      ms[n] = a->shape[k] / q, md[n] = a->stride[k] * q, unit[n] = q, src[n] = k, n++;
      q = 1;
    } else {
      snprintf(err, errlen,
               "compose: B mode %d stride %" PRId64 " does not divide through A's shape %" PRId64
               " (mode %d): not a layout",
               bmode, d, a->shape[k], k);
      return false;
    }
  }
  for (; k < a->rank - 1; k++) ms[n] = a->shape[k], md[n] = a->stride[k], unit[n] = 1, src[n] = k, n++;
  ms[n] = INT64_MAX, md[n] = a->stride[a->rank - 1] * q, unit[n] = q, src[n] = a->rank - 1, n++;

  int64_t rest = s;
  for (int32_t t = 0; t < n && rest > 1; t++) {
    int64_t take;
    if (t == n - 1 || rest < ms[t]) take = rest;
    else if (rest % ms[t] == 0) take = ms[t];
    else {
      snprintf(err, errlen,
               "compose: B mode %d shape %" PRId64 " does not divide A's shape %" PRId64 " after stride %" PRId64
               ": not a layout",
               bmode, s, ms[t], d);
      return false;
    }
    if (!push_mode(r, take, md[t], err, errlen)) return false;
    maxdig[src[t]] += (take - 1) * unit[t];
    rest /= take;
  }
  return true;
}

/* Composition distributes over B's modes: B(i) is the sum of its modes'
 * offsets, and A o B is the concatenation of A o (each mode). That is only
 * A(B(i)) when the modes' digits in A's mixed radix add without a carry:
 * for every mode of A but the last, the largest digits the B modes put there
 * must sum to less than its shape. (B = (2,2):(2,2) into A = (4,4):(3,4)
 * gives 2 + 2 in a mode of 4: the carry makes A(4) = 4, not 3*2 + 3*2.) */
bool skv_layout_compose(const skv_layout *a, const skv_layout *b, skv_layout *out, char *err, size_t errlen) {
  if (!skv_layout_check(a, err, errlen) || !skv_layout_check(b, err, errlen)) return false;
  if (skv_layout_cosize(b) > skv_layout_size(a)) {
    snprintf(err, errlen, "compose: B reaches offset %" PRId64 ", past size(A) = %" PRId64,
             skv_layout_cosize(b) - 1, skv_layout_size(a));
    return false;
  }
  const skv_layout ac = skv_layout_coalesce(a);
  int64_t maxdig[SKV_LAYOUT_MAX_RANK] = {0};
  skv_layout r;
  memset(&r, 0, sizeof r);
  for (int32_t m = 0; m < b->rank; m++)
    if (!compose_mode(&ac, b->shape[m], b->stride[m], m, &r, maxdig, err, errlen)) return false;
  for (int32_t k = 0; k < ac.rank - 1; k++)
    if (maxdig[k] >= ac.shape[k]) {
      snprintf(err, errlen,
               "compose: B's modes overlap in A's mode %d (digits up to %" PRId64 " in a mode of %" PRId64
               "): their sum carries, not a layout",
               k, maxdig[k], ac.shape[k]);
      return false;
    }
  *out = r;
  return true;
}

bool skv_layout_transpose(const skv_layout *l, int32_t d0, int32_t d1, skv_layout *out) {
  if (d0 < 0 || d1 < 0 || d0 >= l->rank || d1 >= l->rank) return false;
  skv_layout r = *l;
  r.shape[d0] = l->shape[d1], r.stride[d0] = l->stride[d1];
  r.shape[d1] = l->shape[d0], r.stride[d1] = l->stride[d0];
  *out = r;
  return true;
}

/* PyTorch's rule, restated. Walk the old dims from the innermost outwards and
 * cut them into chunks: a chunk grows past dim k-1 while dim k-1 continues it
 * row-major (stride_{k-1} = elements so far x the chunk's innermost stride)
 * or has size 1. Memory inside a chunk is one row-major block with a base
 * stride, so any run of new dims whose sizes multiply to the chunk's count can
 * tile it with row-major strides over that base; new size-1 dims fit anywhere.
 * The view exists iff the new dims, also taken from the innermost, split
 * exactly at every chunk boundary. */
bool skv_layout_view(const skv_layout *l, int32_t rank, const int64_t *shape, skv_layout *out) {
  if (rank < 1 || rank > SKV_LAYOUT_MAX_RANK) return false;
  int64_t n = 1;
  for (int32_t k = 0; k < rank; k++) {
    if (shape[k] < 1) return false;
    n *= shape[k];
  }
  if (n != skv_layout_size(l)) return false;
  skv_layout r;
  memset(&r, 0, sizeof r);
  r.rank = rank;
  for (int32_t k = 0; k < rank; k++) r.shape[k] = shape[k];
  int32_t nk = rank - 1;
  for (int32_t ok = l->rank - 1; ok >= 0; ok--) {
    const int64_t base = l->stride[ok];
    int64_t chunk = l->shape[ok];
    while (ok > 0 && (l->shape[ok - 1] == 1 || l->stride[ok - 1] == chunk * base)) {
      ok--;
      chunk *= l->shape[ok];
    }
    int64_t covered = 1;
    while (nk >= 0 && (covered < chunk || shape[nk] == 1)) {
      r.stride[nk] = covered * base;
      covered *= shape[nk];
      nk--;
    }
    if (covered != chunk) return false;
  }
  if (nk >= 0) return false;
  *out = r;
  return true;
}

/* Sorted by stride, the modes of size > 1 of a bijection onto [0, size) must
 * be the compact colex layout: the smallest stride is 1 (offset 1 has to be
 * reached and a 0 stride repeats offsets), and each next stride is the
 * product of the shapes below it (smaller leaves a collision, larger a hole). */
bool skv_layout_is_bijective(const skv_layout *l) {
  int64_t s[SKV_LAYOUT_MAX_RANK], d[SKV_LAYOUT_MAX_RANK];
  int32_t n = 0;
  for (int32_t k = 0; k < l->rank; k++) {
    if (l->shape[k] == 1) continue;
    int32_t j = n++;
    while (j > 0 && d[j - 1] > l->stride[k]) {
      s[j] = s[j - 1], d[j] = d[j - 1];
      j--;
    }
    s[j] = l->shape[k], d[j] = l->stride[k];
  }
  int64_t expect = 1;
  for (int32_t k = 0; k < n; k++) {
    if (d[k] != expect) return false;
    expect *= s[k];
  }
  return true;
}

int skv_layout_format(const skv_layout *l, char *buf, size_t len) {
  char tmp[2 * SKV_LAYOUT_MAX_RANK * 22 + 8];
  size_t p = 0;
  for (int32_t half = 0; half < 2; half++) {
    const int64_t *v = half == 0 ? l->shape : l->stride;
    p += (size_t)snprintf(tmp + p, sizeof tmp - p, half == 0 ? "(" : ":(");
    for (int32_t k = 0; k < l->rank && k < SKV_LAYOUT_MAX_RANK; k++)
      p += (size_t)snprintf(tmp + p, sizeof tmp - p, "%s%" PRId64, k ? "," : "", v[k]);
    p += (size_t)snprintf(tmp + p, sizeof tmp - p, ")");
  }
  return snprintf(buf, len, "%s", tmp);
}
