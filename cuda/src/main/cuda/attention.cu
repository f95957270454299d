// MLA decode attention over the latent cache (DeepseekModel.attend): per head h, over cached tokens
// 0..npos-1 of one layer (each entry [c (kvLora) | k_pe (rope)] = width floats):
//   att[h][t] = softmax_t(qAbs[h] . entry[t] * kqScale),   oLat[h] = sum_t att[h][t] * c[t].
#include "common.cuh"

// The part both kernels share, for one head's tokens t0 .. t0+n-1: e[t] = exp(score(t) - m) with
// m = max score, returned with l = sum of e (every thread gets m and l). Warps take tokens in turn for
// the scores; e may be global or shared memory.
__device__ void scores_exp(const float* __restrict__ q, const float* __restrict__ cache, int width, int t0, int n,
                           float kqScale, float* e, float* mOut, double* lOut) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int t = warp; t < n; t += warps) {
        const float* entry = cache + (long long) (t0 + t) * width;
        float d = 0.f;
        for (int i = lane; i < width; i += 32) d += q[i] * entry[i];
        d = warp_sum(d);
        if (lane == 0) e[t] = d * kqScale;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int t = threadIdx.x; t < n; t += blockDim.x) m = fmaxf(m, e[t]);
    m = block_max(m);
    double l = 0.0;
    for (int t = threadIdx.x; t < n; t += blockDim.x) {
        float x = expf(e[t] - m);
        e[t] = x;
        l += x;
    }
    l = block_sum_d(l);
    *mOut = m;
    *lOut = l;
}

// One block per head (grid.x = heads): att[h] holds the probabilities afterwards.
extern "C" __global__ void mla_attend(const float* __restrict__ qAbs, const float* __restrict__ cache,
                                      float* att, float* oLat, int kvLora, int rope, int npos,
                                      int attStride, float kqScale) {
    int h = blockIdx.x;
    int width = kvLora + rope;
    float* a = att + (long long) h * attStride;
    float m;
    double l;
    scores_exp(qAbs + (long long) h * width, cache, width, 0, npos, kqScale, a, &m, &l);
    float inv = (float) (1.0 / l);
    for (int t = threadIdx.x; t < npos; t += blockDim.x) a[t] *= inv;
    __syncthreads();
    float* o = oLat + (long long) h * kvLora;
    for (int i = threadIdx.x; i < kvLora; i += blockDim.x) {
        float acc = 0.f;
        for (int t = 0; t < npos; t++) acc += a[t] * cache[(long long) t * width + i];
        o[i] = acc;
    }
}

// Long contexts (flash-decoding): one head's cached tokens split into gridDim.y chunks of `chunk`
// tokens, one block per (head, chunk), so that a 128k-token cache keeps every SM busy and is read once.
// Block (h, s) leaves its chunk's score maximum pm, exp-sum pl and unnormalised sum of c weighted by
// exp(score - pm) in po; mla_combine rescales the chunks to the global maximum. Dynamic shared memory:
// `chunk` floats.
extern "C" __global__ void mla_attend_split(const float* __restrict__ qAbs, const float* __restrict__ cache,
                                            float* pm, float* pl, float* po, int kvLora, int rope, int npos,
                                            int chunk, float kqScale) {
    TRILLIUM_DYNAMIC_SHARED(float, sc);
    int h = blockIdx.x, s = blockIdx.y, splits = gridDim.y;
    int width = kvLora + rope;
    int t0 = s * chunk;
    int n = min(npos, t0 + chunk) - t0;
    float m;
    double l;
    scores_exp(qAbs + (long long) h * width, cache, width, t0, n, kqScale, sc, &m, &l);
    __syncthreads();
    long long part = (long long) h * splits + s;
    float* o = po + part * kvLora;
    for (int i = threadIdx.x; i < kvLora; i += blockDim.x) {
        float acc = 0.f;
        for (int t = 0; t < n; t++) acc += sc[t] * cache[(long long) (t0 + t) * width + i];
        o[i] = acc;
    }
    if (threadIdx.x == 0) {
        pm[part] = m;
        pl[part] = (float) l;
    }
}

// oLat[h] = sum_s po[h][s] * exp(pm[h][s] - M) / sum_s pl[h][s] * exp(pm[h][s] - M), M = max_s pm[h][s].
// One block per head.
extern "C" __global__ void mla_combine(const float* __restrict__ pm, const float* __restrict__ pl,
                                       const float* __restrict__ po, float* oLat, int kvLora, int splits) {
    int h = blockIdx.x;
    const float* m = pm + (long long) h * splits;
    const float* l = pl + (long long) h * splits;
    float big = -INFINITY;
    for (int s = 0; s < splits; s++) big = fmaxf(big, m[s]);
    double sum = 0.0;
    for (int s = 0; s < splits; s++) sum += (double) l[s] * exp((double) (m[s] - big));
    float inv = (float) (1.0 / sum);
    for (int i = threadIdx.x; i < kvLora; i += blockDim.x) {
        float acc = 0.f;
        for (int s = 0; s < splits; s++) acc += po[((long long) h * splits + s) * kvLora + i] * expf(m[s] - big);
        oLat[(long long) h * kvLora + i] = acc * inv;
    }
}
