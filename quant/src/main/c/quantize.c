/*
 * Activations to Q8_K (f32 d, i8 qs[256], i16 bsums[16]), exactly as ggml's quantize_row_q8_K_ref and
 * io.trillium.quant.block.Q8KBlock.quantize: max = the signed value of the first element of largest
 * magnitude, iscale = -127 / max, q = nearest(iscale * x) (ggml's add-1.5*2^23 rounding, ties to even),
 * at most 127, bsums over 16 quants, d = 1 / iscale. An all-zero block is written as zeros. AVX2 only:
 * every CPU the library loads on has it, and the work is a few vector passes per block.
 */
#include "common.h"

static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

void EXPORT(trillium_q8_K_quantize)(const float *x, uint8_t *base, int64_t offset, int32_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 magic = _mm256_set1_ps(12582912.f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000);
    const __m256i q127 = _mm256_set1_epi32(127), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    uint8_t *y = base + offset;
    for (int b = 0; b < n / 256; b++, x += 256, y += 292) {
        __m256 am = _mm256_setzero_ps();
        for (int i = 0; i < 256; i += 8) {
            am = _mm256_max_ps(am, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
        }
        float amax = hmax8(am);
        if (!(amax > 0)) {   /* zero (or NaN-only) block: as the Java quantizer, all zeros */
            memset(y, 0, 292);
            continue;
        }
        int j = 0;
        for (; j < 256; j += 8) {   /* the first element of that magnitude gives the sign */
            int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)),
                                                     _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (m) {
                j += __builtin_ctz((unsigned) m);
                break;
            }
        }
        float iscale = -127.f / x[j];
        __m256 is = _mm256_set1_ps(iscale);
        for (int i = 0; i < 256; i += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), is), magic);
                q[k] = _mm256_min_epi32(_mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(v), mant), bias), q127);
            }
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *) (y + 4 + i), _mm256_permutevar8x32_epi32(p, order));
        }
        for (int g = 0; g < 16; g++) {
            __m256i w = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (y + 4 + 16 * g))),
                                          _mm256_set1_epi16(1));
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
            int16_t v = (int16_t) _mm_cvtsi128_si32(s);
            memcpy(y + 260 + 2 * g, &v, 2);
        }
        float d = 1.f / iscale;
        memcpy(y, &d, 4);
    }
}

/*
 * Activations to Q8_0 (f16 d, i8 qs[32]), exactly as ggml's quantize_row_q8_0_ref and
 * io.trillium.quant.block.Q8_0Block.quantize: amax over the block, d = amax / 127 (stored as f16, the float
 * d scales), id = 1 / d (0 for a zero block), q = roundf(x * id), ties away from zero: the whole part of
 * |x * id| plus one where its fraction (exact in float below 2^23) is at least one half, with x's sign.
 */
void EXPORT(trillium_q8_0_quantize)(const float *x, uint8_t *base, int64_t offset, int32_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    uint8_t *y = base + offset;
    for (int b = 0; b < n / 32; b++, x += 32, y += 34) {
        __m256 v[4];
        __m256 am = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            am = _mm256_max_ps(am, _mm256_andnot_ps(sign, v[k]));
        }
        int nan = 0;
        for (int k = 0; k < 4; k++) {
            nan |= _mm256_movemask_ps(_mm256_cmp_ps(v[k], v[k], _CMP_UNORD_Q));
        }
        if (nan) {   /* as Java: d NaN (a quiet NaN here; Java keeps the input's payload), every quant 0 */
            memset(y, 0, 34);
            y[1] = 0x7E;   /* f16 0x7E00 */
            continue;
        }
        float amax = hmax8(am);
        float d = amax / 127.f;
        float id = d != 0.f ? 1.0f / d : 0.0f;
        uint16_t dh = (uint16_t) _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(y, &dh, 2);
        __m256 is = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 p = _mm256_mul_ps(v[k], is);
            __m256 a = _mm256_andnot_ps(sign, p);
            __m256 w = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            w = _mm256_add_ps(w, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, w), half, _CMP_GE_OQ), one));
            q[k] = _mm256_cvttps_epi32(_mm256_or_ps(w, _mm256_and_ps(p, sign)));
        }
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *) (y + 2), _mm256_permutevar8x32_epi32(p, order));
    }
}
