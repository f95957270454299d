// The small vector operations of a block (core's io.trillium.model.Ops and Rope).
#include "common.cuh"

// out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] over n values, sum of squares in double (Ops.rmsnorm).
// One block per vector: grid.x = count, vectors `stride` floats apart (count 1 for the hidden state).
// out may be x.
extern "C" __global__ void rmsnorm_f32(float* out, const float* x, const float* __restrict__ w, int n,
                                       int stride, float eps) {
    const float* xv = x + (long long) blockIdx.x * stride;
    float* ov = out + (long long) blockIdx.x * stride;
    double ss = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = xv[i];
        ss += (double) (v * v);
    }
    ss = block_sum_d(ss);
    float scale = (float) (1.0 / sqrt(ss / n + (double) eps));
    for (int i = threadIdx.x; i < n; i += blockDim.x) ov[i] = xv[i] * scale * w[i];
}

// Rotary embedding of `count` vectors (x + k * stride + offset), dims values each, by the angles of one
// position: cs = [cos(dims/2) | sin(dims/2)] as core's Rope.angles computes them (frequency factors,
// linear and YaRN scaling, magnitude included). neox = 0: adjacent pairs (NORM), 1: halves (NEOX).
extern "C" __global__ void rope_f32(float* x, int count, int stride, int offset, const float* __restrict__ cs,
                                    int dims, int neox) {
    int half = dims / 2;
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= count * half) return;
    int k = idx / half, i = idx % half;
    float* v = x + (long long) k * stride + offset;
    float c = cs[i], s = cs[half + i];
    int a = neox ? i : 2 * i;
    int b = neox ? i + half : 2 * i + 1;
    float x0 = v[a], x1 = v[b];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
}

// gate[i] = silu(gate[i]) * up[i] (Ops.swiglu).
extern "C" __global__ void swiglu_f32(float* gate, const float* __restrict__ up, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float g = gate[i];
        gate[i] = g / (1.f + expf(-g)) * up[i];
    }
}

// y[i] += a * x[i] (Ops.axpy; a = 1 is Ops.add).
extern "C" __global__ void axpy_f32(float* y, float a, const float* __restrict__ x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] += a * x[i];
}

// count copies of n floats: dst[k * dstStride + i] = src[k * srcStride + i] (the latent cache entry, q_pe per head).
extern "C" __global__ void copy_f32(float* dst, int dstStride, const float* __restrict__ src, int srcStride, int n,
                                    int count) {
    long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long) n * count) return;
    int k = (int) (idx / n), i = (int) (idx % n);
    dst[(long long) k * dstStride + i] = src[(long long) k * srcStride + i];
}
