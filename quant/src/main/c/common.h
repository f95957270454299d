/* Shared by the kernel sources: unaligned little-endian reads of block fields, and the exported-symbol
   suffix (each source is compiled once per ISA variant, -DVARIANT=avx2 / vnni). */
#ifndef TRILLIUM_COMMON_H
#define TRILLIUM_COMMON_H
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define EXPORT(name) __attribute__((visibility("default"))) CAT(name, VARIANT)

static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline float f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

static inline int16_t i16(const uint8_t *p) {
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline int32_t ld32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* the g rows of a row-interleaved group starting at w: rows past `rows` repeat the last one (their lanes are
   computed and never stored) */
static inline void group_rows(const uint8_t *w, int64_t stride, int rows, int g, const uint8_t **p) {
    for (int r = 0; r < g; r++) {
        p[r] = w + (r < rows ? r : rows - 1) * stride;
    }
}

static inline __m256i load32(const uint8_t *p) {
    return _mm256_loadu_si256((const __m256i *) p);
}
#endif
