/*
 * Integer-route dot kernels (weights x int8 activations), compiled once per ISA variant:
 * build.sh compiles this file with -DVARIANT=avx2 (vpmaddubsw + vpmaddwd) and -DVARIANT=vnni
 * (vpdpbusd on 256-bit vectors), each with its own -m flags, so every exported symbol carries its
 * variant suffix and Java picks one set by trillium_cpu_features().
 *
 * Semantics equal io.trillium.quant.QuantizedDotKernel: y[r] = dot of row r (at w + r*stride,
 * n elements) with the activation blocks at xq (Q8_K for 256-blocks, Q8_0 for 32-blocks).
 * All block fields are read unaligned; layouts follow ggml (little-endian).
 */
#include "common.h"
#include <math.h>

/* acc += dot of 4 adjacent u8 x s8 pairs per int32 lane; sums stay exact while every
   |u * s| pair fits int16 (all callers: u <= 128 with |s| <= 127, and u*s*2 <= 32512). */
#ifdef USE_VNNI
static inline __m256i dot_us(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(acc, u, s);
}
/* acc += (u x s pair sums in int16) x scale16, pairs of int16 lanes summed into int32 */
static inline __m256i dot_us_scaled(__m256i acc, __m256i u, __m256i s, __m256i scale16) {
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(u, s), scale16);
}
#else
static inline __m256i dot_us(__m256i acc, __m256i u, __m256i s) {
    __m256i p = _mm256_maddubs_epi16(u, s);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}
static inline __m256i dot_us_scaled(__m256i acc, __m256i u, __m256i s, __m256i scale16) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale16));
}
#endif

/* Four independent integer accumulators per block: with VNNI, vpdpwssd accumulates in place, and one chain
   of 8 (latency ~5 cycles each) bounded a row at ~40 cycles per block; integer sums are exact, so the
   split changes no result. */
static inline __m256i sum4(__m256i a, __m256i b, __m256i c, __m256i d) {
    return _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
}

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Scale vectors for the 16-element sub-block families (Q2_K, Q3_K, Q6_K): given the 16 int16 scales
   with lanes 0-7 (or 8-15) copied into both 128-bit halves, PAIR[m] spreads scale 2m over int16
   lanes 0-7 and scale 2m + 1 over lanes 8-15, matching maddubs of 32 elements from two sub-blocks. */
static const uint8_t PAIR[4][32] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15},
};

/* the halves of 16 int16 scales, each copied into both 128-bit lanes */
static inline void scale_halves(__m256i sc16, __m256i half[2]) {
    half[0] = _mm256_permute2x128_si256(sc16, sc16, 0x00);
    half[1] = _mm256_permute2x128_si256(sc16, sc16, 0x11);
}

static inline __m256i pair_scale(const __m256i half[2], int h, int m) {
    return _mm256_shuffle_epi8(half[h], _mm256_load_si256((const __m256i *) PAIR[m]));
}

/* ---- Q2_K x Q8_K: u8 scales[16] (low nibble scale, high nibble min), u8 qs[64], f16 d, f16 dmin.
   Per half h and shift j, the 2-bit fields (qs[32h + l] >> 2j) & 3 are elements 128h + 32j + l:
   sub-blocks 8h + 2j (l < 16) and 8h + 2j + 1. y = d * sc * q - dmin * m. */

static float q2_K_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i m3 = _mm256_set1_epi8(0x03);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 84, x += 292) {
        float dx = f32(x);
        float d = dx * f16(w + 80), dmin = dx * f16(w + 82);
        __m128i raw = _mm_loadu_si128((const __m128i *) w);
        __m256i half[2];
        scale_halves(_mm256_cvtepu8_epi16(_mm_and_si128(raw, m4)), half);
        __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
        accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mn16, load32(x + 260))), _mm256_set1_ps(dmin), accm);
        __m256i is[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i qs = load32(w + 16 + 32 * h);
            for (int j = 0; j < 4; j++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), m3);
                is[j] = dot_us_scaled(is[j], q, load32(x + 4 + 128 * h + 32 * j), pair_scale(half, h, j));
            }
        }
        __m256i isum = sum4(is[0], is[1], is[2], is[3]);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    return hsum_ps(_mm256_sub_ps(acc, accm));
}

/* ---- Q3_K x Q8_K: u8 hmask[32], u8 qs[64], u8 scales[12] (16 six-bit scales biased by 32), f16 d.
   Element order as Q2_K; bit 4h + j of hmask[l] set means +4, so u = lo2 + 4 * bit in [0, 7] and
   q = u - 4; the -4 comes back through the bsums. */

static float q3_K_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i m3 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 110, x += 292) {
        float d = f32(x) * f16(w + 108);
        /* words u0 (bytes 0-3), u1 (4-7), u2 (8-11): scale k's low nibble from u0 / u1 nibbles,
           its top 2 bits from u2 */
        uint32_t u[3];
        memcpy(u, w + 96, 12);
        __m128i v = _mm_setr_epi32((int) ((u[0] & 0x0F0F0F0F) | (u[2] & 0x03030303) << 4),
                                   (int) ((u[1] & 0x0F0F0F0F) | ((u[2] >> 2) & 0x03030303) << 4),
                                   (int) (((u[0] >> 4) & 0x0F0F0F0F) | ((u[2] >> 4) & 0x03030303) << 4),
                                   (int) (((u[1] >> 4) & 0x0F0F0F0F) | ((u[2] >> 6) & 0x03030303) << 4));
        __m256i sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(v), _mm256_set1_epi16(32));
        __m256i half[2];
        scale_halves(sc16, half);
        /* 4 * sum sc_j bsums_j */
        __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(),
                _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(x + 260)), 2));
        __m256i hm = load32(w);
        __m256i is[4] = {isum, _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i qs = load32(w + 32 + 32 * h);
            for (int j = 0; j < 4; j++) {
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), m3);
                __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
                is[j] = dot_us_scaled(is[j], _mm256_or_si256(lo, hb), load32(x + 4 + 128 * h + 32 * j),
                                      pair_scale(half, h, j));
            }
        }
        isum = sum4(is[0], is[1], is[2], is[3]);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    return hsum_ps(acc);
}

/* ---- Q4_K lives in q4k_rows.c (rows interleaved in registers); its scale layout is shared with Q5_K. */

/* Q4_K/Q5_K 6-bit scales and mins from their 12 bytes, read as words u0..u2: scales 0-3 / mins 0-3
   are the low 6 bits of u0 / u1; scales 4-7 / mins 4-7 take their low 4 bits from u2's nibbles and
   their top 2 bits from bits 6-7 of u0 / u1. Byte j of sc / mn is sub-block j's. */
static inline void scales_k4(const uint8_t *p, uint32_t sc[2], uint32_t mn[2]) {
    uint32_t u[3];
    memcpy(u, p, 12);
    sc[0] = u[0] & 0x3F3F3F3F;
    sc[1] = (u[2] & 0x0F0F0F0F) | ((u[0] >> 6) & 0x03030303) << 4;
    mn[0] = u[1] & 0x3F3F3F3F;
    mn[1] = ((u[2] >> 4) & 0x0F0F0F0F) | ((u[1] >> 6) & 0x03030303) << 4;
}

/* accm += dmin * m_j * (bsums[2j] + bsums[2j+1]), sub-block j in int32 lane j */
static inline __m256 mins_k4(__m256 accm, const uint32_t mn[2], const uint8_t *x, float dmin) {
    __m256i bs = _mm256_madd_epi16(load32(x + 260), _mm256_set1_epi16(1));
    __m256i m32 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) mn));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(bs, m32)), _mm256_set1_ps(dmin), accm);
}

/* ---- Q5_K x Q8_K: as Q4_K plus u8 qh[32] (bit 2c / 2c+1 of qh[l] is the fifth bit of element l of
   sub-block 2c / 2c+1) before qs[128]; 5-bit quants keep maddubs exact (31 * 127 * 2). */

static float q5_K_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 176, x += 292) {
        float dx = f32(x);
        float d = dx * f16(w), dmin = dx * f16(w + 2);
        uint32_t sc[2], mn[2];
        scales_k4(w + 4, sc, mn);
        const uint8_t *scb = (const uint8_t *) sc;
        accm = mins_k4(accm, mn, x, dmin);
        __m256i qh = load32(w + 16);
        __m256i is[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int c = 0; c < 4; c++) {
            __m256i q = load32(w + 48 + 32 * c);
            /* the fifth bit to bit 4 of each byte: 16-bit shifts of 0/1 bytes cannot cross bytes */
            __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
            __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h1);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h2);
            is[c & 1] = dot_us_scaled(is[c & 1], lo, load32(x + 4 + 64 * c), _mm256_set1_epi16(scb[2 * c]));
            is[2 + (c & 1)] = dot_us_scaled(is[2 + (c & 1)], hi, load32(x + 36 + 64 * c), _mm256_set1_epi16(scb[2 * c + 1]));
        }
        __m256i isum = sum4(is[0], is[1], is[2], is[3]);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    return hsum_ps(_mm256_sub_ps(acc, accm));
}

/* ---- Q6_K x Q8_K: u8 ql[128], u8 qh[64], i8 scales[16], f16 d; q = 6-bit - 32.
   Unsigned 6-bit quants go through maddubs (63 * 127 * 2 fits int16); the -32 comes back through
   the bsums: sum sc_j (q - 32) a = sum sc_j q a - 32 sum sc_j bsums_j. */

static float q6_K_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x03);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 210, x += 292) {
        float d = f32(x) * f16(w + 208);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (w + 192)));
        __m256i half[2];
        scale_halves(sc16, half);
        /* 32 * sum sc_j bsums_j, spread over int32 lanes */
        __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(),
                                        _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(x + 260)), 5));
        __m256i is[4] = {isum, _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = load32(w + 64 * h), ql1 = load32(w + 64 * h + 32);
            __m256i qh = load32(w + 128 + 32 * h);
            /* elements 128h + 32k + l, k = 0..3, are sub-blocks 8h + 2k (l < 16) and 8h + 2k + 1 */
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int k = 0; k < 4; k++) {
                is[k] = dot_us_scaled(is[k], q[k], load32(x + 4 + 128 * h + 32 * k), pair_scale(half, h, k));
            }
        }
        isum = sum4(is[0], is[1], is[2], is[3]);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc);
    }
    return hsum_ps(acc);
}

/* ---- Q8_0 x Q8_0: f16 d, i8 qs[32]. Signed x signed via |w| (unsigned) x sign(w)*x. */

#ifndef USE_VNNI   /* AVX-512: q8_0_rows.c */
static inline __m256i dot_ss(__m256i w, __m256i x) {
    return dot_us(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

static float q8_0_row(const uint8_t *w, const uint8_t *x, int nb) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int b = 0;
    for (; b + 1 < nb; b += 2, w += 68, x += 68) {
        __m256i p0 = dot_ss(load32(w + 2), load32(x + 2));
        __m256i p1 = dot_ss(load32(w + 36), load32(x + 36));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16(w) * f16(x)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(f16(w + 34) * f16(x + 34)), acc1);
    }
    if (b < nb) {
        __m256i p0 = dot_ss(load32(w + 2), load32(x + 2));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16(w) * f16(x)), acc0);
    }
    return hsum_ps(_mm256_add_ps(acc0, acc1));
}
#endif

/* ---- Q4_0 x Q8_0: f16 d, u8 qs[16] (low nibbles elements 0-15, high 16-31); q = nibble - 8.
   sum (q - 8) * a = sum nibble * a - 8 * sum a, with sum a from the same dot against ones. */

/* the 32 nibbles of a 16-byte run: low nibbles in bytes 0-15, high nibbles in bytes 16-31 */
static inline __m256i nibbles32(const uint8_t *p) {
    __m128i q = _mm_loadu_si128((const __m128i *) p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
}

static float q4_0_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i ones = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 18, x += 34) {
        __m256i qq = nibbles32(w + 2);
        __m256i a = load32(x + 2);
        __m256i p = dot_us(_mm256_setzero_si256(), qq, a);
        __m256i sa = dot_us(_mm256_setzero_si256(), ones, a);
        p = _mm256_sub_epi32(p, _mm256_slli_epi32(sa, 3));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16(w) * f16(x)), acc);
    }
    return hsum_ps(acc);
}

/* ---- Q5_0 x Q8_0: f16 d, u8 qh[4] (bit j: fifth bit of element j), u8 qs[16] (low nibbles elements 0-15,
   high 16-31); q = (nibble | bit << 4) - 16, so sum q * a = sum u * a - 16 * sum a with u in [0, 31]. */

/* 0xFF in byte j where bit j of the little-endian 32-bit word at p is set: byte j takes word byte j / 8
   (an in-lane shuffle of the broadcast word), then tests its bit j % 8 */
static inline __m256i bit_bytes(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,
                                         1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    __m256i x = _mm256_shuffle_epi8(_mm256_set1_epi32((int) v), sel);
    return _mm256_cmpeq_epi8(_mm256_and_si256(x, bit), bit);
}

static float q5_0_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i ones = _mm256_set1_epi8(1), b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 22, x += 34) {
        __m256i u = _mm256_or_si256(nibbles32(w + 6), _mm256_and_si256(bit_bytes(w + 2), b4));
        __m256i a = load32(x + 2);
        __m256i p = dot_us(_mm256_setzero_si256(), u, a);
        __m256i sa = dot_us(_mm256_setzero_si256(), ones, a);
        p = _mm256_sub_epi32(p, _mm256_slli_epi32(sa, 4));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16(w) * f16(x)), acc);
    }
    return hsum_ps(acc);
}

/* ---- IQ4_NL x Q8_0 and IQ4_XS x Q8_K: 4-bit indexes into the non-linear int8 table kvalues, looked up
   with vpshufb; signed x signed products as |a| x sign(w, a). Not |w| x sign(a, w): Q8_K activations
   reach -128 (its quantizer maps the largest magnitude there), whose negation does not fit int8, while
   |a| = 128 is fine as an unsigned byte and kvalues lie in [-127, 113]; pair sums stay within
   2 * 128 * 127 < 2^15. */

static const int8_t KVALUES[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static inline __m256i kvalues32(void) {
    __m128i t = _mm_loadu_si128((const __m128i *) KVALUES);
    return _mm256_set_m128i(t, t);
}

static float iq4_nl_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i table = kvalues32();
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 18, x += 34) {
        __m256i q = _mm256_shuffle_epi8(table, nibbles32(w + 2));
        __m256i a = load32(x + 2);
        __m256i p = dot_us(_mm256_setzero_si256(), _mm256_sign_epi8(a, a), _mm256_sign_epi8(q, a));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16(w) * f16(x)), acc);
    }
    return hsum_ps(acc);
}

/* IQ4_XS: f16 d, u16 scales_h, u8 scales_l[4], u8 qs[128]; sub-block ib (32 elements: qs[16 ib ..] low
   nibbles then high nibbles) has the 6-bit scale ls = low 4 bits from scales_l, top 2 from scales_h;
   y = d * (ls - 32) * kvalues[q]. */
static float iq4_xs_row(const uint8_t *w, const uint8_t *x, int nb) {
    const __m256i table = kvalues32();
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++, w += 136, x += 292) {
        float d = f32(x) * f16(w);
        uint16_t sh;
        memcpy(&sh, w + 2, 2);
        uint32_t sl;
        memcpy(&sl, w + 4, 4);
        __m256i is[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int ib = 0; ib < 8; ib++) {
            int ls = (int) (((sl >> (4 * ib)) & 0xF) | (((sh >> (2 * ib)) & 3) << 4)) - 32;
            __m256i q = _mm256_shuffle_epi8(table, nibbles32(w + 8 + 16 * ib));
            __m256i a = load32(x + 4 + 32 * ib);
            is[ib & 3] = dot_us_scaled(is[ib & 3], _mm256_sign_epi8(a, a), _mm256_sign_epi8(q, a),
                                       _mm256_set1_epi16((short) ls));
        }
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum4(is[0], is[1], is[2], is[3])), _mm256_set1_ps(d), acc);
    }
    return hsum_ps(acc);
}

/* ---- batched products (prefill): rows x tokens, each (row, token) summed exactly as *_row sums it.
   A tile is one row against up to TT tokens: the row's block is unpacked once (quants, scales, mins) and
   used by every token of the tile, each token with its own accumulators, updated in the row kernel's order,
   so a token's result is bit-identical to a mat-vec of that token alone (the batch a token is computed in
   never changes it). */

#define TT 4

static void q6_K_tile(const uint8_t *w, const uint8_t *x, int64_t xs, int nt, int nb, float *out, int64_t os) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x03);
    __m256 acc[TT];
    for (int t = 0; t < TT; t++) {
        acc[t] = _mm256_setzero_ps();
    }
    for (int b = 0; b < nb; b++, w += 210) {
        float dw = f16(w + 208);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (w + 192)));
        __m256i half[2];
        scale_halves(sc16, half);
        __m256i q[8], ps[8];
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = load32(w + 64 * h), ql1 = load32(w + 64 * h + 32);
            __m256i qh = load32(w + 128 + 32 * h);
            q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int k = 0; k < 4; k++) {
                ps[4 * h + k] = pair_scale(half, h, k);
            }
        }
        for (int t = 0; t < nt; t++) {
            const uint8_t *xb = x + t * xs + 292 * (int64_t) b;
            float d = f32(xb) * dw;
            __m256i is[4] = {_mm256_sub_epi32(_mm256_setzero_si256(),
                                              _mm256_slli_epi32(_mm256_madd_epi16(sc16, load32(xb + 260)), 5)),
                             _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 4; k++) {
                    is[k] = dot_us_scaled(is[k], q[4 * h + k], load32(xb + 4 + 128 * h + 32 * k), ps[4 * h + k]);
                }
            }
            __m256i isum = sum4(is[0], is[1], is[2], is[3]);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) {
        out[t * os] = hsum_ps(acc[t]);
    }
}

#ifndef USE_VNNI   /* AVX-512 has q8_0_rows (q8_0_rows.c) */
/* Q8_0: the row kernel alternates two accumulators over block pairs; kept exactly, per token */
static void q8_0_tile(const uint8_t *w, const uint8_t *x, int64_t xs, int nt, int nb, float *out, int64_t os) {
    __m256 acc0[TT], acc1[TT];
    for (int t = 0; t < TT; t++) {
        acc0[t] = _mm256_setzero_ps();
        acc1[t] = _mm256_setzero_ps();
    }
    int b = 0;
    for (; b + 1 < nb; b += 2, w += 68) {
        __m256i w0 = load32(w + 2), w1 = load32(w + 36);
        __m256i a0 = _mm256_sign_epi8(w0, w0), a1 = _mm256_sign_epi8(w1, w1);
        float d0 = f16(w), d1 = f16(w + 34);
        for (int t = 0; t < nt; t++) {
            const uint8_t *xb = x + t * xs + 34 * (int64_t) b;
            __m256i p0 = dot_us(_mm256_setzero_si256(), a0, _mm256_sign_epi8(load32(xb + 2), w0));
            __m256i p1 = dot_us(_mm256_setzero_si256(), a1, _mm256_sign_epi8(load32(xb + 36), w1));
            acc0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * f16(xb)), acc0[t]);
            acc1[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d1 * f16(xb + 34)), acc1[t]);
        }
    }
    if (b < nb) {
        __m256i w0 = load32(w + 2);
        __m256i a0 = _mm256_sign_epi8(w0, w0);
        float d0 = f16(w);
        for (int t = 0; t < nt; t++) {
            const uint8_t *xb = x + t * xs + 34 * (int64_t) b;
            __m256i p0 = dot_us(_mm256_setzero_si256(), a0, _mm256_sign_epi8(load32(xb + 2), w0));
            acc0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * f16(xb)), acc0[t]);
        }
    }
    for (int t = 0; t < nt; t++) {
        out[t * os] = hsum_ps(_mm256_add_ps(acc0[t], acc1[t]));
    }
}
#endif

#include "iq_rows.h"   /* the i-quants' and ternary types' row kernels */

/* the types without a hoisted tile: the row kernel once per token of the tile (same sums by construction) */
#define ROW_TILE(name, wb, xb)                                                                          \
    static void name##_tile(const uint8_t *w, const uint8_t *x, int64_t xs, int nt, int nb, float *out, \
                            int64_t os) {                                                               \
        for (int t = 0; t < nt; t++) {                                                                  \
            out[t * os] = name##_row(w, x + t * xs, nb);                                                \
        }                                                                                               \
    }
ROW_TILE(q2_K, 84, 292)
ROW_TILE(q3_K, 110, 292)
ROW_TILE(q5_K, 176, 292)
ROW_TILE(q4_0, 18, 34)
ROW_TILE(q5_0, 22, 34)
ROW_TILE(iq4_nl, 18, 34)
ROW_TILE(iq4_xs, 136, 292)
ROW_TILE(iq2_xxs, 66, 292)
ROW_TILE(iq3_xxs, 98, 292)
ROW_TILE(iq3_s, 110, 292)
ROW_TILE(iq1_s, 50, 292)
ROW_TILE(iq2_xs, 74, 292)
ROW_TILE(iq2_s, 82, 292)
ROW_TILE(iq1_m, 56, 292)
ROW_TILE(tq2_0, 66, 292)
ROW_TILE(tq1_0, 54, 292)

/* Rows [r0, r1) x tokens [0, tokens): y[t * ystride + (r - r0)]. Rows go in groups of RB that stay in
   L1/L2 while every tile of tokens passes over them. */
#define RB 8
#define MATMUL(name, bs)                                                                                  \
    void EXPORT(trillium_##name##_matmul)(const uint8_t *w, int64_t stride, int32_t n, const uint8_t *xq,  \
                                          int64_t xstride, int32_t tokens, float *y, int64_t ystride,    \
                                          int32_t r0, int32_t r1) {                                      \
        int nb = n / (bs);                                                                                \
        for (int32_t rb = r0; rb < r1; rb += RB) {                                                        \
            int32_t re = rb + RB < r1 ? rb + RB : r1;                                                      \
            for (int32_t t0 = 0; t0 < tokens; t0 += TT) {                                                 \
                int nt = tokens - t0 < TT ? tokens - t0 : TT;                                              \
                for (int32_t r = rb; r < re; r++) {                                                       \
                    name##_tile(w + r * stride, xq + t0 * xstride, xstride, nt, nb,                       \
                                y + t0 * ystride + (r - r0), ystride);                                   \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }

/* ---- exported entry points: one dot, and a mat-vec over rows [rowStart, rowEnd) writing y[r] */

#define KERNEL(name, bs)                                                                          \
    float EXPORT(trillium_##name##_dot)(const uint8_t *w, const uint8_t *xq, int32_t n) {         \
        return name##_row(w, xq, n / (bs));                                                       \
    }                                                                                             \
    void EXPORT(trillium_##name##_matvec)(const uint8_t *w, int64_t stride, int32_t n,            \
                                          const uint8_t *xq, float *y, int32_t r0, int32_t r1) {  \
        for (int32_t r = r0; r < r1; r++) {                                                       \
            y[r] = name##_row(w + r * stride, xq, n / (bs));                                      \
        }                                                                                         \
    }

KERNEL(q2_K, 256)
KERNEL(q3_K, 256)
KERNEL(q5_K, 256)
KERNEL(q6_K, 256)
#ifndef USE_VNNI   /* AVX-512: mat-vecs in q8_0_rows.c */
KERNEL(q8_0, 32)
#endif
KERNEL(q4_0, 32)
KERNEL(q5_0, 32)
KERNEL(iq4_nl, 32)
KERNEL(iq4_xs, 256)
KERNEL(iq2_xxs, 256)
KERNEL(iq3_xxs, 256)
KERNEL(iq3_s, 256)
KERNEL(iq1_s, 256)
KERNEL(iq2_xs, 256)
KERNEL(iq2_s, 256)
KERNEL(iq1_m, 256)
KERNEL(tq2_0, 256)
KERNEL(tq1_0, 256)

MATMUL(q2_K, 256)
MATMUL(q3_K, 256)
MATMUL(q5_K, 256)
MATMUL(q6_K, 256)
#ifndef USE_VNNI   /* AVX-512: q8_0_rows.c */
MATMUL(q8_0, 32)
#endif
MATMUL(q4_0, 32)
MATMUL(q5_0, 32)
MATMUL(iq4_nl, 32)
MATMUL(iq4_xs, 256)
MATMUL(iq2_xxs, 256)
MATMUL(iq3_xxs, 256)
MATMUL(iq3_s, 256)
MATMUL(iq1_s, 256)
MATMUL(iq2_xs, 256)
MATMUL(iq2_s, 256)
MATMUL(iq1_m, 256)
MATMUL(tq2_0, 256)
MATMUL(tq1_0, 256)
