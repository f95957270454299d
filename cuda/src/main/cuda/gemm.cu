// Prefill: a batch of tokens through one matrix. The weights are dequantized a chunk of rows at a time
// into an F32 scratch (dequant_rows), then multiplied by the tokens' activations (gemm_f32), so that
// every weight is read once per batch instead of once per token.
#include "common.cuh"

// ggml type ids (quant/GgmlType.java).
#define T_F32 0
#define T_F16 1
#define T_Q4_0 2
#define T_Q5_0 6
#define T_Q8_0 8
#define T_Q4_K 12
#define T_Q5_K 13
#define T_Q6_K 14
#define T_BF16 30

// Element i of a row of `type` (the scalar references in quant/block: same fields, same offsets).
__device__ float row_elem(const u8* row, int type, int i) {
    switch (type) {
        case T_F32: { float v; memcpy(&v, row + 4 * i, 4); return v; }
        case T_F16: return f16_at(row + 2 * i);
        case T_BF16: return bf16_at(row + 2 * i);
        case T_Q8_0: { const u8* b = row + (i / 32) * 34; return f16_at(b) * (float) (signed char) b[2 + i % 32]; }
        case T_Q4_0: {
            const u8* b = row + (i / 32) * 18;
            int j = i % 32, q = b[2 + (j & 15)];
            return f16_at(b) * (float) ((j < 16 ? (q & 0xF) : (q >> 4)) - 8);
        }
        case T_Q5_0: {
            const u8* b = row + (i / 32) * 22;
            int j = i % 32, q = b[6 + (j & 15)];
            int hb = (b[2 + (j >> 3)] >> (j & 7)) & 1;
            return f16_at(b) * (float) (((j < 16 ? (q & 0xF) : (q >> 4)) | (hb << 4)) - 16);
        }
        case T_Q4_K:
        case T_Q5_K: {
            bool q5 = type == T_Q5_K;
            const u8* b = row + (i / 256) * (q5 ? 176 : 144);
            int j = i % 256, c = j / 64, l = j % 64, hiHalf = l >= 32;
            int sc, m;
            scale_min_k4(2 * c + hiHalf, b + 4, &sc, &m);
            int q = b[(q5 ? 48 : 16) + 32 * c + (l & 31)];
            q = hiHalf ? (q >> 4) : (q & 0xF);
            if (q5) q += 16 * ((b[16 + (l & 31)] >> (2 * c + hiHalf)) & 1);
            return f16_at(b) * sc * q - f16_at(b + 2) * m;
        }
        case T_Q6_K: {
            const u8* b = row + (i / 256) * 210;
            int j = i % 256, h = j / 128, r = j % 128, L = r % 32, quarter = r / 32;
            const u8* ql = b + 64 * h;
            const u8* qh = b + 128 + 32 * h;
            const signed char* sc = (const signed char*) (b + 192 + 8 * h);
            int lo = (quarter & 1) ? ql[L + 32] : ql[L];
            lo = (quarter & 2) ? (lo >> 4) : (lo & 0xF);
            int q = (lo | (((qh[L] >> (2 * quarter)) & 3) << 4)) - 32;
            return f16_at(b + 208) * sc[L / 16 + 2 * quarter] * q;
        }
    }
    return NAN;   // the host never launches an unknown type
}

// out[r * n + i] = element i of row r, for rows of rowBytes bytes (one thread per element).
extern "C" __global__ void dequant_rows(const u8* __restrict__ W, long long rowBytes, int type,
                                        float* __restrict__ out, int n, int rows) {
    long long idx = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long) n * rows) return;
    int r = (int) (idx / n), i = (int) (idx % n);
    out[idx] = row_elem(W + r * rowBytes, type, i);
}

// Y[t * yStride + r] = sum_i W[r * n + i] * X[t * xStride + i] for rows r < rows and tokens t < tokens:
// 16 x 16 tiles of (rows, tokens) per block of 256 threads, the shared dimension in steps of 16 through
// shared memory. grid = (ceil(rows / 16), ceil(tokens / 16)).
#define TILE 16
extern "C" __global__ void gemm_f32(const float* __restrict__ W, int n, int rows, const float* __restrict__ X,
                                    int xStride, float* __restrict__ Y, int yStride, int tokens) {
    __shared__ float ws[TILE][TILE + 1];
    __shared__ float xs[TILE][TILE + 1];
    int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    int r0 = blockIdx.x * TILE, t0 = blockIdx.y * TILE;
    float acc = 0.f;
    for (int k0 = 0; k0 < n; k0 += TILE) {
        int k = k0 + tx;
        ws[ty][tx] = (r0 + ty < rows && k < n) ? W[(long long) (r0 + ty) * n + k] : 0.f;
        xs[ty][tx] = (t0 + ty < tokens && k < n) ? X[(long long) (t0 + ty) * xStride + k] : 0.f;
        __syncthreads();
        for (int kk = 0; kk < TILE; kk++) acc += ws[tx][kk] * xs[ty][kk];
        __syncthreads();
    }
    if (r0 + tx < rows && t0 + ty < tokens) Y[(long long) (t0 + ty) * yStride + r0 + tx] = acc;
}
