/*
 * Attention's float products over a shared (MQA) cache, compiled once per variant: the VNNI variant on
 * 512-bit vectors (16 lanes), the AVX2 one on 256-bit (8 lanes), each the lane count the Java Vector API
 * uses on such a CPU, so that C and Java sum in the same order (io.trillium.quant.NativeAttention).
 *
 *   scores: out[r·os + p] = (fold(Σ_k q[r][k]·c[p][k] over whole vectors, one accumulator per pair, in k
 *           order) + the scalar products of the tail, in order) · scale
 *           where fold adds the upper half of the lanes to the lower until one is left: VectorMath.dot1.
 *   values: o[r][j] = Σ_p att[r][p]·c[p][j], one fma per (p, j) in position order from +0 (from o[r][j] with
 *           `add`, so a long cache can go in several calls): VectorMath.axpy once per position.
 *
 * Each (row, position) and each (row, element) sums the same way whatever tile it falls in, so a query's
 * result does not depend on how many rows or positions a call takes. Java compiles its own 4x2 tile to
 * about 40 % of the FMA peak (C2 boxes larger ones); the 4x6 register tile here reaches ~80 % on aligned
 * rows, ~55 % on the Java heap's (see NativeAttention: 64 heads x 256 positions 530 -> 390 us on a Xeon).
 * A tile of 4 rows fits MlaHeads' head groups of 4. All offsets and strides are in floats.
 */
#include "common.h"

#ifdef USE_VNNI
typedef __m512 vf;
#define VL 16
#define vload _mm512_loadu_ps
#define vstore _mm512_storeu_ps
#define vfma _mm512_fmadd_ps
#define vzero _mm512_setzero_ps
#define vset1 _mm512_set1_ps
#define SR 4   /* scores: rows x positions per register tile (24 sums + 6 keys + 1 query of 32 registers) */
#define SP 6
#define VR 4   /* values: rows x vectors per register tile (16 sums + 4 values + 1 weight) */
#define VV 4
static inline float fold(__m512 s) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1))  /* AVX512F only */);
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}
#else
typedef __m256 vf;
#define VL 8
#define vload _mm256_loadu_ps
#define vstore _mm256_storeu_ps
#define vfma _mm256_fmadd_ps
#define vzero _mm256_setzero_ps
#define vset1 _mm256_set1_ps
#define SR 2   /* 8 sums + 4 keys + 1 query of 16 registers */
#define SP 4
#define VR 2   /* 8 sums + 4 values + 1 weight */
#define VV 4
static inline float fold(__m256 s) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    return _mm_cvtss_f32(_mm_add_ss(a, _mm_movehdup_ps(a)));
}
#endif

/* the scalar tail of a score, as VectorMath.tail: products added one by one (no fma: -std=c11 contracts none) */
static inline float tail(float sum, const float *a, const float *b, int from, int n) {
    for (int i = from; i < n; i++) {
        sum += a[i] * b[i];
    }
    return sum;
}

/* R rows x P positions of scores, each pair with its own accumulator */
#define SCORE_TILE(NAME, R, P)                                                                                \
    static inline void NAME(const float *q, int64_t qs, const float *c, int64_t cs, int n, float scale,      \
                            float *out, int64_t os) {                                                       \
        vf acc[R][P];                                                                                       \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                                   \
            _Pragma("GCC unroll 8") for (int p = 0; p < P; p++) acc[r][p] = vzero();                           \
        int k = 0;                                                                                          \
        for (; k + VL <= n; k += VL) {                                                                      \
            vf cv[P];                                                                                       \
            _Pragma("GCC unroll 8") for (int p = 0; p < P; p++) cv[p] = vload(c + p * cs + k);                 \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                             \
                vf qv = vload(q + r * qs + k);                                                              \
                _Pragma("GCC unroll 8") for (int p = 0; p < P; p++) acc[r][p] = vfma(qv, cv[p], acc[r][p]);    \
            }                                                                                               \
        }                                                                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                                   \
            _Pragma("GCC unroll 8") for (int p = 0; p < P; p++)                                               \
                out[r * os + p] = tail(fold(acc[r][p]), q + r * qs, c + p * cs, k, n) * scale;                \
    }
SCORE_TILE(scores_tile, SR, SP)
SCORE_TILE(scores_row, 1, SP)
SCORE_TILE(scores_col, SR, 1)
SCORE_TILE(scores_one, 1, 1)

typedef void (*score_fn)(const float *, int64_t, const float *, int64_t, int, float, float *, int64_t);

/* every row against the keys at cp: `tile` for SR rows at a time, `row` for the rest (inlined: constant functions) */
static inline __attribute__((always_inline)) void rows_pass(score_fn tile, score_fn row, const float *q,
        int64_t qStride, int rows, const float *cp, int64_t cStride, int n, float scale, float *out, int64_t outStride) {
    int r = 0;
    for (; r + SR <= rows; r += SR) {
        tile(q + r * qStride, qStride, cp, cStride, n, scale, out + r * outStride, outStride);
    }
    for (; r < rows; r++) {
        row(q + r * qStride, qStride, cp, cStride, n, scale, out + r * outStride, outStride);
    }
}

void EXPORT(trillium_attn_scores)(const float *q, int64_t qOff, int64_t qStride, int32_t rows, const float *c,
                                  int64_t cOff, int64_t cStride, int32_t npos, int32_t n, float scale, float *out,
                                  int64_t outOff, int64_t outStride) {
    q += qOff;
    c += cOff;
    out += outOff;
    int p = 0;
    for (; p + SP <= npos; p += SP) {   /* SP keys stay in L1 while every row passes over them */
        rows_pass(scores_tile, scores_row, q, qStride, rows, c + p * cStride, cStride, n, scale, out + p, outStride);
    }
    for (; p < npos; p++) {
        rows_pass(scores_col, scores_one, q, qStride, rows, c + p * cStride, cStride, n, scale, out + p, outStride);
    }
}

/* R rows x VV vectors of o at element j, += over positions [p0, p1); from zero when `fresh` */
#define VALUE_TILE(NAME, R)                                                                                   \
    static inline void NAME(float *o, int64_t os, const float *a, int64_t as, const float *c, int64_t cs,     \
                            int p0, int p1, int fresh) {                                                    \
        vf acc[R][VV];                                                                                      \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                                   \
            _Pragma("GCC unroll 8") for (int v = 0; v < VV; v++)                                              \
                acc[r][v] = fresh ? vzero() : vload(o + r * os + v * VL);                                     \
        for (int p = p0; p < p1; p++) {                                                                     \
            const float *cp = c + p * cs;                                                                   \
            vf x[VV];                                                                                       \
            _Pragma("GCC unroll 8") for (int v = 0; v < VV; v++) x[v] = vload(cp + v * VL);                    \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                             \
                vf w = vset1(a[r * as + p]);                                                                \
                _Pragma("GCC unroll 8") for (int v = 0; v < VV; v++) acc[r][v] = vfma(x[v], w, acc[r][v]);     \
            }                                                                                               \
        }                                                                                                   \
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                                                   \
            _Pragma("GCC unroll 8") for (int v = 0; v < VV; v++) vstore(o + r * os + v * VL, acc[r][v]);       \
    }
VALUE_TILE(values_tile, VR)
VALUE_TILE(values_row, 1)

/* Positions per pass over the rows: their values (128 x 2 KiB for K2's 512) stay in L2 for all rows. */
#define VALUE_BLOCK 128

void EXPORT(trillium_attn_values)(float *o, int64_t oOff, int64_t oStride, int32_t rows, const float *att,
                                  int64_t attOff, int64_t attStride, const float *c, int64_t cOff, int64_t cStride,
                                  int32_t npos, int32_t n, int32_t add) {
    o += oOff;
    att += attOff;
    c += cOff;
    int whole = n / (VV * VL) * (VV * VL);
    int p0 = 0;
    do {   /* (no positions: zeros, or o as it is with `add`) */
        int p1 = npos < p0 + VALUE_BLOCK ? npos : p0 + VALUE_BLOCK;
        int fresh = p0 == 0 && !add;
        const float *ab = att + p0, *cb = c + p0 * cStride;   /* the block's weights and values */
        int np = p1 - p0;
        int r = 0;
        for (; r + VR <= rows; r += VR) {
            for (int j = 0; j < whole; j += VV * VL) {
                values_tile(o + r * oStride + j, oStride, ab + r * attStride, attStride, cb + j, cStride, 0, np, fresh);
            }
        }
        for (; r < rows; r++) {
            for (int j = 0; j < whole; j += VV * VL) {
                values_row(o + r * oStride + j, oStride, ab + r * attStride, attStride, cb + j, cStride, 0, np, fresh);
            }
        }
        for (r = 0; r < rows; r++) {   /* elements past the whole tiles: vector by vector, then one by one */
            float *orow = o + r * oStride;
            const float *arow = ab + r * attStride;
            int j = whole;
            for (; j + VL <= n; j += VL) {
                vf s = fresh ? vzero() : vload(orow + j);
                for (int p = 0; p < np; p++) {
                    s = vfma(vload(cb + p * cStride + j), vset1(arow[p]), s);
                }
                vstore(orow + j, s);
            }
            for (; j < n; j++) {
                float s = fresh ? 0.f : orow[j];
                for (int p = 0; p < np; p++) {
                    s = __builtin_fmaf(cb[p * cStride + j], arow[p], s);
                }
                orow[j] = s;
            }
        }
        p0 += VALUE_BLOCK;
    } while (p0 < npos);
}
