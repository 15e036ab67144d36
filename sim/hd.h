/* hd.h — SKV_HD: marks the small inline functions that sim/ shares with CUDA kernels (__host__ __device__ under nvcc). */
#ifndef SKV_HD_H
#define SKV_HD_H

#ifdef __CUDACC__
#define SKV_HD __host__ __device__
#else
#define SKV_HD
#endif

#endif /* SKV_HD_H */
