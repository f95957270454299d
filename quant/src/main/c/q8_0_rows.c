/*
 * Q8_0 x Q8_0 on AVX-512 VNNI (compiled for that variant only; the AVX2 variant's Q8_0 is in kernels.c):
 * single tokens row by row (q8_0_row_dx), batches through a 16-row tile (q8_0_rows) with the same per-lane
 * arithmetic, so a token's result never depends on its batch.
 */
#include "common.h"
#include <math.h>

#ifdef USE_VNNI
/* Signed x signed via |w| (unsigned) x sign(w)*x: 4 adjacent pairs per int32 lane, exact. */
static inline __m256i dot_ss(__m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

/* AVX-512 (VNNI variant): each block's 32 products summed exactly in int32, then
     acc[b & 3] = fma((float) isum_b, d_w(b) * d_x(b), acc[b & 3])   in block order,
     result = (acc[0] + acc[1]) + (acc[2] + acc[3]);
   one conversion and one fma per block (the AVX2 variant's lane order, in kernels.c, needs eight), which the
   16-row tile (q8_0_rows) does lane by lane: the same bits for a row alone or in a batch. Rows stream one
   after the other (the prefetchers' best case: the tile's 16 interleaved rows read half as fast from DRAM),
   the token's scales dx converted once for all of them. */
static inline float q8_0_row_dx(const uint8_t *w, const uint8_t *x, const float *dx, int nb) {
    __m128 acc = _mm_setzero_ps();   /* lane k: blocks b with b & 3 == k */
    int b = 0;
    for (; b + 3 < nb; b += 4, w += 136, x += 136) {
        __m256i p0 = dot_ss(load32(w + 2), load32(x + 2)), p1 = dot_ss(load32(w + 36), load32(x + 36));
        __m256i p2 = dot_ss(load32(w + 70), load32(x + 70)), p3 = dot_ss(load32(w + 104), load32(x + 104));
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
        __m128i is = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));   /* exact */
        uint64_t d4 = (uint64_t) (uint16_t) i16(w) | (uint64_t) (uint16_t) i16(w + 34) << 16
                      | (uint64_t) (uint16_t) i16(w + 68) << 32 | (uint64_t) (uint16_t) i16(w + 102) << 48;
        __m128 dw = _mm_cvtph_ps(_mm_cvtsi64_si128((long long) d4));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(is), _mm_mul_ps(dw, _mm_loadu_ps(dx + b)), acc);
    }
    float a[4];
    _mm_storeu_ps(a, acc);
    for (int k = 0; b < nb; b++, k++, w += 34, x += 34) {   /* the last blocks, lane k = b & 3 */
        __m256i p = dot_ss(load32(w + 2), load32(x + 2));
        __m128i q = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
        q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4E));
        q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xB1));
        a[k] = fmaf((float) _mm_cvtsi128_si32(q), f16(w) * dx[b], a[k]);
    }
    return (a[0] + a[1]) + (a[2] + a[3]);
}

/* rows [r0, r1) at w + r * stride against one token: y[r - r0] */
static void q8_0_rows1(const uint8_t *w, int64_t stride, int nb, const uint8_t *x, float *y, int32_t r0, int32_t r1) {
    float dx[nb + 1];   /* + 1: never a zero-length array */
    for (int b = 0; b < nb; b++) {
        dx[b] = f16(x + 34 * (int64_t) b);
    }
    for (int32_t r = r0; r < r1; r++) {
        y[r - r0] = q8_0_row_dx(w + r * stride, x, dx, nb);
    }
}

/* ---- Q8_0 with rows interleaved (AVX-512): 16 rows per group, lane r = row r. A block's 32 quants per row
   are 8 dwords; transposed so that vector i holds dword i of every row, one token costs 8 vpdpbusd per block
   for the whole group. vpdpbusd multiplies u8 by s8, so the token's quants go in as x + 128 (x ^ 0x80) and
   each lane starts from -128 * (the row's 32 weights' sum), which keeps the block's integer sum exact.
   Numerics per (row, token) are q8_0_row_dx's: the exact block sum, one fma into accumulator (block & 3),
   then (acc0 + acc1) + (acc2 + acc3). */
#define QG 16
#define QB 16       /* blocks unpacked at once (a tile of 10 KiB) */
#define QT 16       /* tokens whose accumulators stay in L1 while the tile passes */

typedef struct {
    __m512i w[QB][8];    /* w[b][i] lane r: row r's dword i of block b */
    __m512i nc[QB];      /* -128 * the sum of row r's 32 weights of block b */
    __m512 d[QB];        /* the rows' scales */
} Q8Tile;

static void q8_0_unpack(const uint8_t *const p[QG], int b0, int nb, Q8Tile *t) {
    const __m512i ones = _mm512_set1_epi8(1);
    for (int b = 0; b < nb; b++) {
        int64_t o = 34 * (int64_t) (b0 + b) + 2;
        __m512i z[8];   /* z[k]: rows k, k + 4 (k < 4) and 8 + k', 12 + k' (k = 4 + k'): lanes come out in row order */
        for (int k = 0; k < 4; k++) {
            z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(load32(p[k] + o)), load32(p[k + 4] + o), 1);
            z[4 + k] = _mm512_inserti64x4(_mm512_castsi256_si512(load32(p[8 + k] + o)), load32(p[12 + k] + o), 1);
        }
        __m512i u[8];
        for (int h = 0; h < 2; h++) {
            __m512i t0 = _mm512_unpacklo_epi32(z[4 * h], z[4 * h + 1]), t1 = _mm512_unpackhi_epi32(z[4 * h], z[4 * h + 1]);
            __m512i t2 = _mm512_unpacklo_epi32(z[4 * h + 2], z[4 * h + 3]), t3 = _mm512_unpackhi_epi32(z[4 * h + 2], z[4 * h + 3]);
            u[4 * h] = _mm512_unpacklo_epi64(t0, t2);       /* 128-bit lane L: dword (L & 1) * 4 + 0 */
            u[4 * h + 1] = _mm512_unpackhi_epi64(t0, t2);   /* ... + 1 */
            u[4 * h + 2] = _mm512_unpacklo_epi64(t1, t3);   /* ... + 2 */
            u[4 * h + 3] = _mm512_unpackhi_epi64(t1, t3);   /* ... + 3 */
        }
        __m512i ws = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {   /* dword j from 128-bit lanes 0 and 2, dword 4 + j from lanes 1 and 3 */
            __m512i lo = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88), hi = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xDD);
            t->w[b][j] = lo;
            t->w[b][4 + j] = hi;
            ws = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(ws, ones, lo), ones, hi);
        }
        t->nc[b] = _mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), ws), 7);
        int32_t dh[QG];
        for (int r = 0; r < QG; r++) {
            uint16_t h;
            memcpy(&h, p[r] + o - 2, 2);
            dh[r] = h;
        }
        t->d[b] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_loadu_si512(dh)));
    }
}

/* block b's exact integer sums (lane r: row r) for one token: four chains of two, summed (integers: any order) */
static inline __attribute__((always_inline)) __m512i q8_0_isum(const Q8Tile *t, int b, const uint8_t *xb) {
    __m512i s[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        s[i] = _mm512_dpbusd_epi32(i == 0 ? t->nc[b] : _mm512_setzero_si512(),
                                   _mm512_set1_epi32(ld32(xb + 2 + 4 * i) ^ (int32_t) 0x80808080), t->w[b][i]);
        s[i] = _mm512_dpbusd_epi32(s[i], _mm512_set1_epi32(ld32(xb + 18 + 4 * i) ^ (int32_t) 0x80808080),
                                   t->w[b][4 + i]);
    }
    return _mm512_add_epi32(_mm512_add_epi32(s[0], s[1]), _mm512_add_epi32(s[2], s[3]));
}

/* a token block's scale in every lane */
static inline __m512 dx1(const uint8_t *xb) {
    return _mm512_set1_ps(f16(xb));
}

static void q8_0_rows(const uint8_t *w, int64_t stride, int nb, int rows, const uint8_t *x, int64_t xs, int tokens,
                      float *y, int64_t ys) {
    const uint8_t *p[QG];
    group_rows(w, stride, rows, QG, p);
    Q8Tile t __attribute__((aligned(64)));
    __m512 acc[QT][4] __attribute__((aligned(64)));   /* per token: accumulator k gathers blocks b & 3 == k */
    __mmask16 m = (__mmask16) ((1u << rows) - 1);
    for (int t0 = 0; t0 < tokens; t0 += QT) {
        int nt = tokens - t0 < QT ? tokens - t0 : QT;
        for (int k = 0; k < nt; k++) {
            for (int i = 0; i < 4; i++) {
                acc[k][i] = _mm512_setzero_ps();
            }
        }
        for (int b0 = 0; b0 < nb; b0 += QB) {   /* QB is a multiple of 4: block b0 + b goes to accumulator b & 3 */
            int bn = nb - b0 < QB ? nb - b0 : QB;
            q8_0_unpack(p, b0, bn, &t);
            for (int k = 0; k < nt; k++) {
                const uint8_t *xb = x + (int64_t) (t0 + k) * xs + 34 * (int64_t) b0;
                __m512 a0 = acc[k][0], a1 = acc[k][1], a2 = acc[k][2], a3 = acc[k][3];
                int b = 0;
                for (; b + 3 < bn; b += 4, xb += 136) {
                    __m512i i0 = q8_0_isum(&t, b, xb), i1 = q8_0_isum(&t, b + 1, xb + 34);
                    __m512i i2 = q8_0_isum(&t, b + 2, xb + 68), i3 = q8_0_isum(&t, b + 3, xb + 102);
                    a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(t.d[b], dx1(xb)), a0);
                    a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(t.d[b + 1], dx1(xb + 34)), a1);
                    a2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(t.d[b + 2], dx1(xb + 68)), a2);
                    a3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i3), _mm512_mul_ps(t.d[b + 3], dx1(xb + 102)), a3);
                }
                __m512 *ak[4] = {&a0, &a1, &a2, &a3};
                for (int j = 0; b < bn; b++, j++, xb += 34) {
                    *ak[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q8_0_isum(&t, b, xb)), _mm512_mul_ps(t.d[b], dx1(xb)),
                                             *ak[j]);
                }
                acc[k][0] = a0;
                acc[k][1] = a1;
                acc[k][2] = a2;
                acc[k][3] = a3;
            }
        }
        for (int k = 0; k < nt; k++) {
            __m512 r = _mm512_add_ps(_mm512_add_ps(acc[k][0], acc[k][1]), _mm512_add_ps(acc[k][2], acc[k][3]));
            _mm512_mask_storeu_ps(y + (int64_t) (t0 + k) * ys, m, r);
        }
    }
}

/* rows [r0, r1) x tokens: one token row by row (q8_0_rows1), more through the 16-row tile; the same bits */
void EXPORT(trillium_q8_0_matmul)(const uint8_t *w, int64_t stride, int32_t n, const uint8_t *xq, int64_t xstride,
                                  int32_t tokens, float *y, int64_t ystride, int32_t r0, int32_t r1) {
    if (tokens == 1) {
        q8_0_rows1(w, stride, n / 32, xq, y, r0, r1);
        return;
    }
    for (int32_t r = r0; r < r1; r += QG) {
        int rows = r1 - r < QG ? r1 - r : QG;
        q8_0_rows(w + r * stride, stride, n / 32, rows, xq, xstride, tokens, y + (r - r0), ystride);
    }
}

float EXPORT(trillium_q8_0_dot)(const uint8_t *w, const uint8_t *xq, int32_t n) {
    float y;
    q8_0_rows1(w, 0, n / 32, xq, &y, 0, 1);
    return y;
}

void EXPORT(trillium_q8_0_matvec)(const uint8_t *w, int64_t stride, int32_t n, const uint8_t *xq, float *y,
                                  int32_t r0, int32_t r1) {
    q8_0_rows1(w, stride, n / 32, xq, y + r0, r0, r1);
}
#endif
