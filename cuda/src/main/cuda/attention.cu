// MLA decode attention over the latent cache (DeepseekModel.attend): per head h, over cached tokens
// 0..npos-1 of one layer (each entry [c (kvLora) | k_pe (rope)] = width floats):
//   att[h][t] = softmax_t(qAbs[h] . entry[t] * kqScale),   oLat[h] = sum_t att[h][t] * c[t].
// One block per head (grid.x = heads); warps take tokens in turn for the scores.
#include "common.cuh"

extern "C" __global__ void mla_attend(const float* __restrict__ qAbs, const float* __restrict__ cache,
                                      float* att, float* oLat, int kvLora, int rope, int npos,
                                      int attStride, float kqScale) {
    int h = blockIdx.x;
    int width = kvLora + rope;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const float* q = qAbs + (long long) h * width;
    float* a = att + (long long) h * attStride;
    for (int t = warp; t < npos; t += warps) {
        const float* e = cache + (long long) t * width;
        float s = 0.f;
        for (int i = lane; i < width; i += 32) s += q[i] * e[i];
        s = warp_sum(s);
        if (lane == 0) a[t] = s * kqScale;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int t = threadIdx.x; t < npos; t += blockDim.x) m = fmaxf(m, a[t]);
    m = block_max(m);
    double sum = 0.0;
    for (int t = threadIdx.x; t < npos; t += blockDim.x) {
        float e = expf(a[t] - m);
        a[t] = e;
        sum += e;
    }
    sum = block_sum_d(sum);
    float inv = (float) (1.0 / sum);
    for (int t = threadIdx.x; t < npos; t += blockDim.x) a[t] *= inv;
    __syncthreads();
    float* o = oLat + (long long) h * kvLora;
    for (int i = threadIdx.x; i < kvLora; i += blockDim.x) {
        float acc = 0.f;
        for (int t = 0; t < npos; t++) acc += a[t] * cache[(long long) t * width + i];
        o[i] = acc;
    }
}
