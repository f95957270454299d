// Quantized mat-vec y[r] = row(r) . x for the weight types of the always-active part.
// One warp per row, MATVEC_ROWS rows per block (blockDim = 32 * MATVEC_ROWS); grid.x = ceil(rows / MATVEC_ROWS).
// grid.y = heads: head h uses the rows headBytes * h bytes into W, x + h * xStride and y + h * yStride
// (MLA's per-head k_b / v_b products in one launch; heads = 1 for a plain matrix).
// Dequantisation is fused into the dot product; the per-element formulas are those of the scalar
// references in quant/src/main/java/io/trillium/quant/block (same fields, same offsets).
#include "common.cuh"

#define ROW_SETUP                                                          \
    int lane = threadIdx.x & 31;                                           \
    long long r = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); \
    if (r >= rows) return;                                                 \
    x += (long long) blockIdx.y * xStride;                                 \
    y += (long long) blockIdx.y * yStride;                                 \
    const u8* row = W + (long long) blockIdx.y * headBytes + r * rowBytes;

#define ROW_STORE                                                          \
    sum = warp_sum(sum);                                                   \
    if (lane == 0) y[r] = sum;

extern "C" __global__ void matvec_f32(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                      const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                      int n, int rows) {
    ROW_SETUP
    const float* w = (const float*) row;   // F32 rows are 4-byte aligned in GGUF (32-byte tensor alignment)
    float sum = 0.f;
    for (int i = lane; i < n; i += 32) sum += w[i] * x[i];
    ROW_STORE
}

extern "C" __global__ void matvec_f16(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                      const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                      int n, int rows) {
    ROW_SETUP
    float sum = 0.f;
    for (int i = lane; i < n; i += 32) sum += f16_at(row + 2 * i) * x[i];
    ROW_STORE
}

extern "C" __global__ void matvec_bf16(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = 0.f;
    for (int i = lane; i < n; i += 32) sum += bf16_at(row + 2 * i) * x[i];
    ROW_STORE
}

// Q8_0: 34-byte blocks {f16 d; i8 qs[32]}; lane j takes element j of each block.
extern "C" __global__ void matvec_q8_0(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = 0.f;
    int nb = n / 32;
    for (int b = 0; b < nb; b++) {
        const u8* blk = row + b * 34;
        float d = f16_at(blk);
        sum += d * (float) (signed char) blk[2 + lane] * x[b * 32 + lane];
    }
    ROW_STORE
}


// Q6_K: 210-byte blocks {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} of 256 elements. Lane l takes
// half h = l / 16 and positions L = 2 (l % 16) + {0, 1}; each position gives the four quants of
// elements 128h + L + {0, 32, 64, 96} (Q6KBlock.dequantize).
extern "C" __global__ void matvec_q6_k(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    int h = lane >> 4, lp = (lane & 15) * 2;
    float sum = 0.f;
    int nb = n / 256;
    for (int b = 0; b < nb; b++) {
        const u8* blk = row + b * 210;
        float d = f16_at(blk + 208);
        const u8* ql = blk + 64 * h;
        const u8* qh = blk + 128 + 32 * h;
        const signed char* sc = (const signed char*) (blk + 192 + 8 * h);
        const float* xb = x + b * 256 + 128 * h;
        for (int k = 0; k < 2; k++) {
            int L = lp + k, is = L / 16;
            int a = ql[L], cc = ql[L + 32], hb = qh[L];
            int q1 = ((a & 0xF) | ((hb & 3) << 4)) - 32;
            int q2 = ((cc & 0xF) | (((hb >> 2) & 3) << 4)) - 32;
            int q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
            int q4 = ((cc >> 4) | (((hb >> 6) & 3) << 4)) - 32;
            sum += d * (sc[is] * q1 * xb[L] + sc[is + 2] * q2 * xb[L + 32]
                        + sc[is + 4] * q3 * xb[L + 64] + sc[is + 6] * q4 * xb[L + 96]);
        }
    }
    ROW_STORE
}

// Q4_0: 18-byte blocks {f16 d; u8 qs[16]}; element j < 16 is the low nibble of qs[j], j >= 16 the high
// nibble of qs[j - 16]; y = (q - 8) d. Lane j takes element j of each block.
extern "C" __global__ void matvec_q4_0(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = 0.f;
    int nb = n / 32;
    for (int b = 0; b < nb; b++) {
        const u8* blk = row + b * 18;
        int q = blk[2 + (lane & 15)];
        q = lane < 16 ? (q & 0xF) : (q >> 4);
        sum += f16_at(blk) * (float) (q - 8) * x[b * 32 + lane];
    }
    ROW_STORE
}

// Q5_0: 22-byte blocks {f16 d; u8 qh[4]; u8 qs[16]}: Q4_0's nibbles plus bit j of qh as the fifth bit of
// element j; y = (q - 16) d.
extern "C" __global__ void matvec_q5_0(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = 0.f;
    int nb = n / 32;
    for (int b = 0; b < nb; b++) {
        const u8* blk = row + b * 22;
        int q = blk[6 + (lane & 15)];
        q = lane < 16 ? (q & 0xF) : (q >> 4);
        int hb = (blk[2 + (lane >> 3)] >> (lane & 7)) & 1;
        sum += f16_at(blk) * (float) ((q | (hb << 4)) - 16) * x[b * 32 + lane];
    }
    ROW_STORE
}

// Q4_K: 144-byte blocks {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} of 256 elements; Q5_K: 176-byte
// blocks {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}, bit 2c (low nibbles) or 2c + 1 (high
// nibbles) of qh[l] the fifth bit of chunk c's element l. Lane l takes chunk c = l / 8 and bytes
// p .. p+3 (p = 4 (l % 8)) of it: low nibbles are elements 64c + p + i (sub-block 2c), high nibbles
// 64c + 32 + p + i (sub-block 2c + 1). y = d*sc*q - dmin*m.
template <bool Q5>
__device__ __forceinline__ float k45_row(const u8* row, const float* x, int lane, int n) {
    const int bytes = Q5 ? 176 : 144, qsAt = Q5 ? 48 : 16;
    int c = lane >> 3, p = (lane & 7) * 4;
    float sum = 0.f;
    int nb = n / 256;
    for (int b = 0; b < nb; b++) {
        const u8* blk = row + b * bytes;
        float d = f16_at(blk), dmin = f16_at(blk + 2);
        int sc1, m1, sc2, m2;
        scale_min_k4(2 * c, blk + 4, &sc1, &m1);
        scale_min_k4(2 * c + 1, blk + 4, &sc2, &m2);
        float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
        const u8* q = blk + qsAt + 32 * c + p;
        const float* xb = x + b * 256 + 64 * c + p;
        float lo = 0.f, hi = 0.f, xlo = 0.f, xhi = 0.f;
        for (int i = 0; i < 4; i++) {
            int h = Q5 ? blk[16 + p + i] >> (2 * c) : 0;
            lo += ((q[i] & 0xF) + 16 * (h & 1)) * xb[i];
            hi += ((q[i] >> 4) + 16 * ((h >> 1) & 1)) * xb[32 + i];
            xlo += xb[i];
            xhi += xb[32 + i];
        }
        sum += d1 * lo - mm1 * xlo + d2 * hi - mm2 * xhi;
    }
    return sum;
}

extern "C" __global__ void matvec_q4_k(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = k45_row<false>(row, x, lane, n);
    ROW_STORE
}

extern "C" __global__ void matvec_q5_k(const u8* __restrict__ W, long long rowBytes, long long headBytes,
                                       const float* __restrict__ x, int xStride, float* __restrict__ y, int yStride,
                                       int n, int rows) {
    ROW_SETUP
    float sum = k45_row<true>(row, x, lane, n);
    ROW_STORE
}
