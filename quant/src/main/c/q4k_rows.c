/*
 * Q4_K x Q8_K with rows interleaved in registers: batched products (two or more tokens) go through
 * q4_K_rows, single tokens (a dot, a mat-vec) through q4_K_row (and, with AVX-512, q4_K_row4: four rows
 * sharing the token's arrangement), which do the same per-lane arithmetic, so a token's result never
 * depends on the call or the batch it is computed in.
 *
 * A group of G rows (16 with AVX-512, 8 with AVX2) is unpacked one block at a time into a tile: vector
 * q[g] holds, in int32 lane r, row r's quants 4g..4g+3 (one per byte, 0..15), obtained by transposing the
 * rows' packed nibbles as dwords (a quant's nibble and its three neighbours share a dword of qs). One
 * token then costs 64 int8 dot-product instructions for the whole group (vpdpbusd: 64 multiply-adds
 * each at 512 bits), whose lane r is row r's partial sum: the sub-block scales multiply lane by lane,
 * nothing is summed across lanes, and the tile is reused by every token of the batch while it sits in L1.
 *
 * Numerics, per row and token (the same in every lane, hence the same for any grouping or batch):
 *   isum_b = sum_j sc_j * sum_{l in j} q_l * x_l   and   msum_b = sum_j m_j * bsum_j   (exact int32)
 *   acc  = fma((float) isum_b, d_b * dx_b, acc),   accm = fma((float) msum_b, dmin_b * dx_b, accm)
 *   result = acc - accm, blocks in order.
 * Exactness: |sum_{l in j} q x| <= 32 * 15 * 128 = 61440, times a 6-bit scale and 8 sub-blocks stays below
 * 2^25; AVX2's maddubs pairs are at most 2 * 15 * 128 = 3840 (no int16 saturation).
 */
#include "common.h"

#define QK 256
#define WB 144      /* Q4_K block: f16 d, f16 dmin, u8 scales[12], u8 qs[128] */
#define XB 292      /* Q8_K block: f32 d, i8 qs[256], i16 bsums[16] */
#define TCHUNK 64   /* tokens whose accumulators stay in L1 while a row group's blocks pass */
#define PREFETCH_HINT _MM_HINT_T0

/* A token's mins operand: int32 k of the result is (bsum_2k, bsum_2k+1) as two int16, bsum_j being the
   sum of sub-block j's 32 activations (|bsum_j| <= 4096 fits int16). */
static inline void bsum_pairs(const uint8_t *xb, int32_t pr[4]) {
    __m256i b = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) (xb + 260)), _mm256_set1_epi16(1));
    __m256i p = _mm256_packs_epi32(b, b);   /* 128-bit lanes: (b0..b3, b0..b3), (b4..b7, b4..b7) */
    int32_t v[8];
    _mm256_storeu_si256((__m256i *) v, p);
    pr[0] = v[0];
    pr[1] = v[1];
    pr[2] = v[4];
    pr[3] = v[5];
}

#ifdef USE_VNNI
/* ======================= AVX-512 VNNI: 16 rows per group ======================= */
#define G 16

typedef struct {
    __m512i q[64];   /* q[g] lane r: row r's quants 4g..4g+3 */
    __m512i sc[8];   /* sc[j] lane r: row r's scale of sub-block j */
    __m512i mn[4];   /* mn[k] lane r: row r's mins of sub-blocks 2k (low int16) and 2k + 1 (high int16) */
    __m512 d, dmin;
} Tile;

/* 16 x 16 dwords in place: r[k] lane i becomes the former r[i] lane k */
static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {   /* u[4i + k], 128-bit lane L: rows 4i..4i+3 of column 4L + k */
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int k = 0; k < 4; k++) {   /* 4 x 4 transpose of 128-bit lanes over u[k], u[4+k], u[8+k], u[12+k] */
        __m512i v0 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);
        __m512i v1 = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xEE);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xEE);
        r[k] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        r[4 + k] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
        r[8 + k] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        r[12 + k] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
    }
}

/* block b of the group's rows (row r at base + off[r]) into the tile */
static void unpack(const uint8_t *base, __m512i off, const uint8_t *const p[G], Tile *t) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int half = 0; half < 2; half++) {
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            r[i] = _mm512_loadu_si512(p[i] + 16 + 64 * half);
        }
        transpose16(r);
        for (int k = 0; k < 16; k++) {   /* qs dword w = 16 half + k: chunk c = w / 8 holds sub-blocks 2c, 2c+1 */
            int w = 16 * half + k, c = w / 8, l = w % 8;
            t->q[16 * c + l] = _mm512_and_si512(r[k], m4);
            t->q[16 * c + 8 + l] = _mm512_and_si512(_mm512_srli_epi16(r[k], 4), m4);
        }
    }
    __m512i w0 = _mm512_i32gather_epi32(off, base, 1);   /* d | dmin << 16 */
    __m512i u0 = _mm512_i32gather_epi32(off, base + 4, 1);
    __m512i u1 = _mm512_i32gather_epi32(off, base + 8, 1);
    __m512i u2 = _mm512_i32gather_epi32(off, base + 12, 1);
    t->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(w0));
    t->dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(w0, 16)));
    const __m512i m6 = _mm512_set1_epi32(0x3F), m4d = _mm512_set1_epi32(0x0F), m2 = _mm512_set1_epi32(0x03);
    __m512i mins[8];
    for (int j = 0; j < 4; j++) {   /* 6-bit fields as in ggml's get_scale_min_k4 */
        t->sc[j] = _mm512_and_si512(_mm512_srli_epi32(u0, 8 * j), m6);
        mins[j] = _mm512_and_si512(_mm512_srli_epi32(u1, 8 * j), m6);
        t->sc[4 + j] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 8 * j), m4d),
                                       _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 8 * j + 6), m2), 4));
        mins[4 + j] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 8 * j + 4), m4d),
                                      _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 8 * j + 6), m2), 4));
    }
    for (int k = 0; k < 4; k++) {
        t->mn[k] = _mm512_or_si512(mins[2 * k], _mm512_slli_epi32(mins[2 * k + 1], 16));
    }
}

static inline __m512i isum_of(const Tile *t, const __m512i s[8]) {
    __m512i a = _mm512_add_epi32(_mm512_mullo_epi32(s[0], t->sc[0]), _mm512_mullo_epi32(s[1], t->sc[1]));
    __m512i b = _mm512_add_epi32(_mm512_mullo_epi32(s[2], t->sc[2]), _mm512_mullo_epi32(s[3], t->sc[3]));
    __m512i c = _mm512_add_epi32(_mm512_mullo_epi32(s[4], t->sc[4]), _mm512_mullo_epi32(s[5], t->sc[5]));
    __m512i e = _mm512_add_epi32(_mm512_mullo_epi32(s[6], t->sc[6]), _mm512_mullo_epi32(s[7], t->sc[7]));
    return _mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, e));
}

/* acc/accm (16 floats each) of one token += this block */
static inline void finish(const Tile *t, const uint8_t *xb, __m512i isum, float *acc, float *accm) {
    int32_t pr[4];
    bsum_pairs(xb, pr);
    __m512i ms = _mm512_add_epi32(
            _mm512_add_epi32(_mm512_madd_epi16(t->mn[0], _mm512_set1_epi32(pr[0])),
                             _mm512_madd_epi16(t->mn[1], _mm512_set1_epi32(pr[1]))),
            _mm512_add_epi32(_mm512_madd_epi16(t->mn[2], _mm512_set1_epi32(pr[2])),
                             _mm512_madd_epi16(t->mn[3], _mm512_set1_epi32(pr[3]))));
    __m512 dx = _mm512_set1_ps(f32(xb));
    _mm512_storeu_ps(acc, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(t->d, dx), _mm512_loadu_ps(acc)));
    _mm512_storeu_ps(accm, _mm512_fmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(t->dmin, dx), _mm512_loadu_ps(accm)));
}

/* two tokens against the tile: each weight vector feeds two dot products */
static inline void tokens2(const Tile *t, const uint8_t *x0, const uint8_t *x1, float *a0, float *m0, float *a1,
                           float *m1) {
    __m512i s0[8], s1[8];
    for (int j = 0; j < 8; j++) {
        s0[j] = _mm512_setzero_si512();
        s1[j] = _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; g++) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {   /* 8 independent chains: dpbusd latency hidden */
            __m512i w = t->q[8 * j + g];
            s0[j] = _mm512_dpbusd_epi32(s0[j], w, _mm512_set1_epi32(ld32(x0 + 4 + 32 * j + 4 * g)));
            s1[j] = _mm512_dpbusd_epi32(s1[j], w, _mm512_set1_epi32(ld32(x1 + 4 + 32 * j + 4 * g)));
        }
    }
    finish(t, x0, isum_of(t, s0), a0, m0);
    finish(t, x1, isum_of(t, s1), a1, m1);
}

static inline void token1(const Tile *t, const uint8_t *x0, float *a0, float *m0) {
    __m512i s0[8];
    for (int j = 0; j < 8; j++) {
        s0[j] = _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; g++) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            s0[j] = _mm512_dpbusd_epi32(s0[j], t->q[8 * j + g], _mm512_set1_epi32(ld32(x0 + 4 + 32 * j + 4 * g)));
        }
    }
    finish(t, x0, isum_of(t, s0), a0, m0);
}

static inline void store_rows(float *y, const float *acc, const float *accm, int rows) {
    __mmask16 m = (__mmask16) ((1u << rows) - 1);
    _mm512_mask_storeu_ps(y, m, _mm512_sub_ps(_mm512_loadu_ps(acc), _mm512_loadu_ps(accm)));
}

static inline void offsets(const uint8_t *const p[G], __m512i *off) {
    int32_t o[G];
    for (int r = 0; r < G; r++) {
        o[r] = (int32_t) (p[r] - p[0]);
    }
    *off = _mm512_loadu_si512(o);
}

#else
/* ======================= AVX2: 8 rows per group ======================= */
#define G 8

typedef struct {
    __m256i q[64];   /* q[g] lane r: row r's quants 4g..4g+3 */
    __m256i sc[8];   /* sc[j] lane r: row r's scale of sub-block j in both int16 halves (madd multiplies pairs) */
    __m256i mn[4];   /* mn[k] lane r: row r's mins of sub-blocks 2k (low int16) and 2k + 1 (high int16) */
    __m256 d, dmin;
} Tile;

/* 8 x 8 dwords in place */
static inline void transpose8(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {   /* u[4i + k], 128-bit lane L: rows 4i..4i+3 of column 4L + k */
        u[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        r[4 + k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
    }
}

static void unpack(const uint8_t *base, __m256i off, const uint8_t *const p[G], Tile *t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int quarter = 0; quarter < 4; quarter++) {
        __m256i r[8];
        for (int i = 0; i < 8; i++) {
            r[i] = _mm256_loadu_si256((const __m256i *) (p[i] + 16 + 32 * quarter));
        }
        transpose8(r);
        for (int k = 0; k < 8; k++) {   /* qs dword w = 8 quarter + k: chunk c = quarter */
            t->q[16 * quarter + k] = _mm256_and_si256(r[k], m4);
            t->q[16 * quarter + 8 + k] = _mm256_and_si256(_mm256_srli_epi16(r[k], 4), m4);
        }
    }
    __m256i w0 = _mm256_i32gather_epi32((const int *) base, off, 1);
    __m256i u0 = _mm256_i32gather_epi32((const int *) (base + 4), off, 1);
    __m256i u1 = _mm256_i32gather_epi32((const int *) (base + 8), off, 1);
    __m256i u2 = _mm256_i32gather_epi32((const int *) (base + 12), off, 1);
    const __m256i lo16 = _mm256_set1_epi32(0xFFFF);
    t->d = _mm256_cvtph_ps(_mm256_castsi256_si128(
            _mm256_permute4x64_epi64(_mm256_packus_epi32(_mm256_and_si256(w0, lo16), _mm256_setzero_si256()), 0x08)));
    t->dmin = _mm256_cvtph_ps(_mm256_castsi256_si128(
            _mm256_permute4x64_epi64(_mm256_packus_epi32(_mm256_srli_epi32(w0, 16), _mm256_setzero_si256()), 0x08)));
    const __m256i m6 = _mm256_set1_epi32(0x3F), m4d = _mm256_set1_epi32(0x0F), m2 = _mm256_set1_epi32(0x03);
    __m256i sc[8], mins[8];
    for (int j = 0; j < 4; j++) {
        sc[j] = _mm256_and_si256(_mm256_srli_epi32(u0, 8 * j), m6);
        mins[j] = _mm256_and_si256(_mm256_srli_epi32(u1, 8 * j), m6);
        sc[4 + j] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 8 * j), m4d),
                                    _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u0, 8 * j + 6), m2), 4));
        mins[4 + j] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u2, 8 * j + 4), m4d),
                                      _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(u1, 8 * j + 6), m2), 4));
    }
    for (int j = 0; j < 8; j++) {
        t->sc[j] = _mm256_or_si256(sc[j], _mm256_slli_epi32(sc[j], 16));
    }
    for (int k = 0; k < 4; k++) {
        t->mn[k] = _mm256_or_si256(mins[2 * k], _mm256_slli_epi32(mins[2 * k + 1], 16));
    }
}

static inline void finish(const Tile *t, const uint8_t *xb, __m256i isum, float *acc, float *accm) {
    int32_t pr[4];
    bsum_pairs(xb, pr);
    __m256i ms = _mm256_add_epi32(
            _mm256_add_epi32(_mm256_madd_epi16(t->mn[0], _mm256_set1_epi32(pr[0])),
                             _mm256_madd_epi16(t->mn[1], _mm256_set1_epi32(pr[1]))),
            _mm256_add_epi32(_mm256_madd_epi16(t->mn[2], _mm256_set1_epi32(pr[2])),
                             _mm256_madd_epi16(t->mn[3], _mm256_set1_epi32(pr[3]))));
    __m256 dx = _mm256_set1_ps(f32(xb));
    _mm256_storeu_ps(acc, _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(t->d, dx), _mm256_loadu_ps(acc)));
    _mm256_storeu_ps(accm, _mm256_fmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_mul_ps(t->dmin, dx), _mm256_loadu_ps(accm)));
}

/* Sub-block j's 8 groups of one token: maddubs pairs (|q x + q x| <= 2 * 15 * 128 = 3840) summed in int16
   (two chains of 4, then together: <= 30720, no saturation), then one madd by the sub-block's scale into
   int32: one multiply by the scale instead of 8, the same exact integer sum (and so the same bits). */
static inline __m256i subblock(const Tile *t, int j, const uint8_t *x, __m256i s) {
    const uint8_t *xj = x + 4 + 32 * j;
    __m256i e = _mm256_maddubs_epi16(t->q[8 * j], _mm256_set1_epi32(ld32(xj)));
    __m256i o = _mm256_maddubs_epi16(t->q[8 * j + 1], _mm256_set1_epi32(ld32(xj + 4)));
#pragma GCC unroll 3
    for (int g = 2; g < 8; g += 2) {
        e = _mm256_add_epi16(e, _mm256_maddubs_epi16(t->q[8 * j + g], _mm256_set1_epi32(ld32(xj + 4 * g))));
        o = _mm256_add_epi16(o, _mm256_maddubs_epi16(t->q[8 * j + g + 1], _mm256_set1_epi32(ld32(xj + 4 * g + 4))));
    }
    return _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_add_epi16(e, o), t->sc[j]));
}

static inline void tokens2(const Tile *t, const uint8_t *x0, const uint8_t *x1, float *a0, float *m0, float *a1,
                           float *m1) {
    __m256i s0[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i s1[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        s0[j & 1] = subblock(t, j, x0, s0[j & 1]);
        s1[j & 1] = subblock(t, j, x1, s1[j & 1]);
    }
    finish(t, x0, _mm256_add_epi32(s0[0], s0[1]), a0, m0);
    finish(t, x1, _mm256_add_epi32(s1[0], s1[1]), a1, m1);
}

static inline void token1(const Tile *t, const uint8_t *x0, float *a0, float *m0) {
    __m256i s0[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        s0[j & 1] = subblock(t, j, x0, s0[j & 1]);
    }
    finish(t, x0, _mm256_add_epi32(s0[0], s0[1]), a0, m0);
}

static inline void store_rows(float *y, const float *acc, const float *accm, int rows) {
    __m256 v = _mm256_sub_ps(_mm256_loadu_ps(acc), _mm256_loadu_ps(accm));
    if (rows == G) {
        _mm256_storeu_ps(y, v);
    } else {
        float o[G];
        _mm256_storeu_ps(o, v);
        memcpy(y, o, sizeof(float) * rows);
    }
}

static inline void offsets(const uint8_t *const p[G], __m256i *off) {
    int32_t o[G];
    for (int r = 0; r < G; r++) {
        o[r] = (int32_t) (p[r] - p[0]);
    }
    *off = _mm256_loadu_si256((const __m256i *) o);
}
#endif

/* rows [0, rows) (rows <= G) at w + r * stride against `tokens` activation vectors at x + t * xs:
   y[t * ys + r]. Lanes past `rows` repeat the last row (computed, never stored). The caller keeps
   (G - 1) * stride within int32 (the gathers' offsets). */
static void q4_K_rows(const uint8_t *w, int64_t stride, int nb, int rows, const uint8_t *x, int64_t xs, int tokens,
                      float *y, int64_t ys) {
    const uint8_t *p[G];
    group_rows(w, stride, rows, G, p);
    Tile t __attribute__((aligned(64)));
    float acc[TCHUNK * G] __attribute__((aligned(64)));
    float accm[TCHUNK * G] __attribute__((aligned(64)));
#ifdef USE_VNNI
    __m512i off;
#else
    __m256i off;
#endif
    offsets(p, &off);
    for (int t0 = 0; t0 < tokens; t0 += TCHUNK) {
        int nt = tokens - t0 < TCHUNK ? tokens - t0 : TCHUNK;
        memset(acc, 0, sizeof(float) * G * nt);
        memset(accm, 0, sizeof(float) * G * nt);
        for (int b = 0; b < nb; b++) {
            const uint8_t *pb[G];
            for (int r = 0; r < G; r++) {
                pb[r] = p[r] + (int64_t) b * WB;
            }
            /* rows are strided, so the hardware's stream prefetchers see no stream here: while this group
               computes, the next group's rows (contiguous: G strides from here) are fetched in order, a share
               per block */
            if (t0 == 0) {
                int64_t span = (int64_t) G * stride, share = (span + nb - 1) / nb;
                const char *from = (const char *) p[0] + span + b * share;
                for (int64_t o = 0; o < share; o += 64) {
                    _mm_prefetch(from + o, PREFETCH_HINT);
                }
            }
            unpack(pb[0], off, pb, &t);
            const uint8_t *xb = x + (int64_t) t0 * xs + (int64_t) b * XB;
            int k = 0;
            for (; k + 1 < nt; k += 2) {
                tokens2(&t, xb + k * xs, xb + (k + 1) * xs, acc + k * G, accm + k * G, acc + (k + 1) * G,
                        accm + (k + 1) * G);
            }
            if (k < nt) {
                token1(&t, xb + k * xs, acc + k * G, accm + k * G);
            }
        }
        for (int k = 0; k < nt; k++) {
            store_rows(y + (t0 + k) * ys, acc + k * G, accm + k * G, rows);
        }
    }
}

/* ---- one row at a time (a single token: mat-vec, dot): the same numerics from a row's own layout.
   Each block's exact isum (sub-block scales in int16 x int16, as ggml's AVX2 kernel does) and msum are
   summed across lanes in int32, then [acc, accm] = fma([isum, msum], [d, dmin] * dx, [acc, accm]) in two
   float lanes: the interleaved kernel's per-lane operations, so the bits agree. Streams each row in
   order (prefetcher-friendly), which the strided group kernel cannot do for one token. */
static inline __m256i dot_row(__m256i acc, __m256i q, __m256i x, __m256i scale16) {
#ifdef USE_VNNI
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(q, x), scale16);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), scale16));
#endif
}

static float q4_K_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 acc = _mm_setzero_ps();   /* lane 0: acc, lane 1: accm */
    for (int b = 0; b < nb; b++, w += WB, x += XB) {
        uint32_t u[3];
        memcpy(u, w + 4, 12);
        uint32_t sc[2] = {u[0] & 0x3F3F3F3F, (u[2] & 0x0F0F0F0F) | ((u[0] >> 6) & 0x03030303) << 4};
        uint32_t mn[2] = {u[1] & 0x3F3F3F3F, ((u[2] >> 4) & 0x0F0F0F0F) | ((u[1] >> 6) & 0x03030303) << 4};
        const uint8_t *scb = (const uint8_t *) sc;
        __m256i is[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *) (w + 16 + 32 * c));
            __m256i lo = _mm256_and_si256(q, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            is[c & 1] = dot_row(is[c & 1], lo, _mm256_loadu_si256((const __m256i *) (x + 4 + 64 * c)),
                                _mm256_set1_epi16(scb[2 * c]));
            is[2 + (c & 1)] = dot_row(is[2 + (c & 1)], hi, _mm256_loadu_si256((const __m256i *) (x + 36 + 64 * c)),
                                      _mm256_set1_epi16(scb[2 * c + 1]));
        }
        __m256i isum = _mm256_add_epi32(_mm256_add_epi32(is[0], is[1]), _mm256_add_epi32(is[2], is[3]));
        /* sub-block j's min times its 32 activations' sum, in int32 lane j */
        __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) (x + 260)), _mm256_set1_epi16(1));
        __m256i ms = _mm256_mullo_epi32(bs, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) mn)));
        __m256i h = _mm256_hadd_epi32(isum, ms);   /* i01 i23 m01 m23 | i45 i67 m45 m67 */
        h = _mm256_hadd_epi32(h, h);               /* i0-3 m0-3 .. | i4-7 m4-7 .. */
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));   /* isum, msum */
        __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(ld32(w)));   /* d, dmin */
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(t), _mm_mul_ps(dd, _mm_set1_ps(f32(x))), acc);
    }
    return _mm_cvtss_f32(acc) - _mm_cvtss_f32(_mm_shuffle_ps(acc, acc, 1));
}

#ifdef USE_VNNI
/* ---- four rows against one token (mat-vecs with AVX-512): each 512-bit vector holds two sub-blocks, the
   token's activations are arranged once per block for the four rows, and the four rows' isum/msum are
   summed across lanes together. Per row the integers are exact and the float operations those of
   q4_K_row, so the bits agree. Four rows read block by block are four interleaved streams, which the
   hardware prefetchers follow badly: the group PF_GROUPS ahead is prefetched, a share per block. */
#define PF_GROUPS 4

/* words of sub-block a's scale in 128-bit lanes 0-1 and of b's in lanes 2-3, from a broadcast of the 8 scale bytes */
#define W8(a) a, 0x80, a, 0x80, a, 0x80, a, 0x80, a, 0x80, a, 0x80, a, 0x80, a, 0x80
static const uint8_t SC_IDX[4][64] __attribute__((aligned(64))) = {
    {W8(0), W8(0), W8(2), W8(2)}, {W8(1), W8(1), W8(3), W8(3)}, {W8(4), W8(4), W8(6), W8(6)}, {W8(5), W8(5), W8(7), W8(7)}};
/* word k: the min of sub-block k / 2 (bsums come per 16 activations, two per sub-block) */
static const uint8_t MN_IDX[32] __attribute__((aligned(32))) = {
    0, 0x80, 0, 0x80, 1, 0x80, 1, 0x80, 2, 0x80, 2, 0x80, 3, 0x80, 3, 0x80,
    4, 0x80, 4, 0x80, 5, 0x80, 5, 0x80, 6, 0x80, 6, 0x80, 7, 0x80, 7, 0x80};
#undef W8

/* 32 activations from x4 + a in the low half, 32 from x4 + b in the high half */
static inline __m512i x_pair(const uint8_t *x4, int a, int b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) (x4 + a))),
                              _mm256_loadu_si256((const __m256i *) (x4 + b)), 1);
}

/* one row's block: isum spread over 8 int32 lanes, msum over 8 more. qs bytes 0-63 hold sub-blocks 0 and 2
   (low nibbles) and 1 and 3 (high), bytes 64-127 sub-blocks 4, 6 and 5, 7: X[k] holds the matching activations. */
static inline void row_block(const uint8_t *w, const __m512i X[4], __m256i bs, __m256i *i8, __m256i *ms) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    uint32_t u[3];
    memcpy(u, w + 4, 12);
    uint64_t sc = (uint64_t) (u[0] & 0x3F3F3F3F)
            | (uint64_t) ((u[2] & 0x0F0F0F0F) | ((u[0] >> 6) & 0x03030303) << 4) << 32;
    uint64_t mn = (uint64_t) (u[1] & 0x3F3F3F3F)
            | (uint64_t) (((u[2] >> 4) & 0x0F0F0F0F) | ((u[1] >> 6) & 0x03030303) << 4) << 32;
    __m512i vs = _mm512_set1_epi64((long long) sc);
    __m512i q0 = _mm512_loadu_si512(w + 16), q1 = _mm512_loadu_si512(w + 80);
    __m512i a = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(_mm512_and_si512(q0, m4), X[0]),
                                    _mm512_shuffle_epi8(vs, _mm512_load_si512(SC_IDX[0])));
    __m512i b = _mm512_dpwssd_epi32(_mm512_setzero_si512(),
                                    _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), X[1]),
                                    _mm512_shuffle_epi8(vs, _mm512_load_si512(SC_IDX[1])));
    a = _mm512_dpwssd_epi32(a, _mm512_maddubs_epi16(_mm512_and_si512(q1, m4), X[2]),
                            _mm512_shuffle_epi8(vs, _mm512_load_si512(SC_IDX[2])));
    b = _mm512_dpwssd_epi32(b, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), X[3]),
                            _mm512_shuffle_epi8(vs, _mm512_load_si512(SC_IDX[3])));
    __m512i s = _mm512_add_epi32(a, b);
    *i8 = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    *ms = _mm256_madd_epi16(bs, _mm256_shuffle_epi8(_mm256_set1_epi64x((long long) mn),
                                                    _mm256_load_si256((const __m256i *) MN_IDX)));
}

/* rows w, w + stride, w + 2 stride, w + 3 stride against one token into y[0..3] */
static void q4_K_row4(const uint8_t *w, int64_t stride, const uint8_t *x, int nb, float *y) {
    __m256 acc = _mm256_setzero_ps();   /* [acc, accm] of rows 0..3 */
    const int64_t share = (4 * stride + nb - 1) / nb;
    const char *pf = (const char *) w + PF_GROUPS * 4 * stride;
    for (int b = 0; b < nb; b++, w += WB, x += XB) {
        for (int64_t o = 0; o < share; o += 64) {
            _mm_prefetch(pf + b * share + o, PREFETCH_HINT);
        }
        __m512i X[4] = {x_pair(x + 4, 0, 64), x_pair(x + 4, 32, 96), x_pair(x + 4, 128, 192), x_pair(x + 4, 160, 224)};
        __m256i bs = _mm256_loadu_si256((const __m256i *) (x + 260));
        __m256i i0, m0, i1, m1, i2, m2, i3, m3;
        row_block(w, X, bs, &i0, &m0);
        row_block(w + stride, X, bs, &i1, &m1);
        row_block(w + 2 * stride, X, bs, &i2, &m2);
        row_block(w + 3 * stride, X, bs, &i3, &m3);
        __m256i b01 = _mm256_hadd_epi32(_mm256_hadd_epi32(i0, m0), _mm256_hadd_epi32(i1, m1));
        __m256i b23 = _mm256_hadd_epi32(_mm256_hadd_epi32(i2, m2), _mm256_hadd_epi32(i3, m3));
        __m128i c01 = _mm_add_epi32(_mm256_castsi256_si128(b01), _mm256_extracti128_si256(b01, 1));
        __m128i c23 = _mm_add_epi32(_mm256_castsi256_si128(b23), _mm256_extracti128_si256(b23, 1));
        __m256i c = _mm256_inserti128_si256(_mm256_castsi128_si256(c01), c23, 1);   /* isum, msum of rows 0..3 */
        __m256 dd = _mm256_cvtph_ps(_mm_setr_epi32(ld32(w), ld32(w + stride), ld32(w + 2 * stride),
                                                   ld32(w + 3 * stride)));   /* d, dmin of rows 0..3 */
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_mul_ps(dd, _mm256_set1_ps(f32(x))), acc);
    }
    float a[8];
    _mm256_storeu_ps(a, acc);
    for (int r = 0; r < 4; r++) {
        y[r] = a[2 * r] - a[2 * r + 1];
    }
}
#endif

/* rows [r0, r1) against one token into y[0 .. r1 - r0) */
static void q4_K_rows1(const uint8_t *w, int64_t stride, int nb, const uint8_t *xq, float *y, int32_t r0, int32_t r1) {
    int32_t r = r0;
#ifdef USE_VNNI
    for (; r + 4 <= r1; r += 4) {
        q4_K_row4(w + r * stride, stride, xq, nb, y + (r - r0));
    }
#endif
    for (; r < r1; r++) {
        y[r - r0] = q4_K_row(w + r * stride, xq, nb);
    }
}

float EXPORT(trillium_q4_K_dot)(const uint8_t *w, const uint8_t *xq, int32_t n) {
    return q4_K_row(w, xq, n / QK);
}

void EXPORT(trillium_q4_K_matvec)(const uint8_t *w, int64_t stride, int32_t n, const uint8_t *xq, float *y,
                                  int32_t r0, int32_t r1) {
    q4_K_rows1(w, stride, n / QK, xq, y + r0, r0, r1);
}

void EXPORT(trillium_q4_K_matmul)(const uint8_t *w, int64_t stride, int32_t n, const uint8_t *xq, int64_t xstride,
                                  int32_t tokens, float *y, int64_t ystride, int32_t r0, int32_t r1) {
    if (tokens == 1) {   /* one token: the row kernels stream better (same bits) */
        q4_K_rows1(w, stride, n / QK, xq, y, r0, r1);
        return;
    }
    for (int32_t r = r0; r < r1; r += G) {
        int rows = r1 - r < G ? r1 - r : G;
        q4_K_rows(w + r * stride, stride, n / QK, rows, xq, xstride, tokens, y + (r - r0), ystride);
    }
}
