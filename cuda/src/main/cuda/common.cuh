// Shared helpers of Trillium's kernels. Weights are read byte-wise at the offsets of the ggml block
// layouts (quant/block/*.java), so no alignment beyond one byte is assumed for block fields.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

typedef unsigned char u8;

// Little-endian fp16 at p (2-byte fields of the block formats; blocks of 34 / 210 bytes leave them unaligned for wider loads).
__device__ __forceinline__ float f16_at(const u8* p) {
    unsigned short bits = (unsigned short) (p[0] | (p[1] << 8));
    return __half2float(__ushort_as_half(bits));
}

__device__ __forceinline__ float bf16_at(const u8* p) {
    unsigned int bits = (unsigned int) (p[0] | (p[1] << 8));
    return __uint_as_float(bits << 16);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide sum (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ float block_sum(float v) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? part[lane] : 0.f;
    return warp_sum(v);
}

__device__ double block_sum_d(double v) {
    __shared__ double partd[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) partd[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? partd[lane] : 0.0;
    return warp_sum_d(v);
}

__device__ float block_max(float v) {
    __shared__ float partm[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) partm[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? partm[lane] : -INFINITY;
    return warp_max(v);
}

// ggml get_scale_min_k4 (Q4KBlock.scale / Q4KBlock.min).
__device__ __forceinline__ void scale_min_k4(int j, const u8* q, int* sc, int* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Dynamic shared memory (the launch's sharedBytes); the host emulator of the tests defines its own.
#ifndef TRILLIUM_DYNAMIC_SHARED
#define TRILLIUM_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif
