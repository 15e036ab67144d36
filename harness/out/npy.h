/* npy.h — write arrays as NumPy .npy files (format 1.0), which NumPy and PyTorch load directly. */
#ifndef SKV_NPY_H
#define SKV_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* descr: NumPy's type string, e.g. "<f4", "<u2", "<i4", "<i8", "|u1", "|i1".
 * shape: ndim extents (C order). Written to path.tmp and renamed. */
bool skv_npy_write(const char *path, const char *descr, const int64_t *shape, int ndim, const void *data,
                   size_t elem_bytes, char *err, size_t errlen);

#endif /* SKV_NPY_H */
