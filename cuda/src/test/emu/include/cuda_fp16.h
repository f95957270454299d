// Host stand-in for <cuda_fp16.h>: only what Trillium's kernels use (see ../emu.h).
#pragma once
#include <cstring>
struct __half { unsigned short bits; };
inline __half __ushort_as_half(unsigned short b) { return __half{b}; }
// IEEE binary16 -> binary32, subnormals, infinities and NaN included.
inline float __half2float(__half h) {
    unsigned int s = (h.bits & 0x8000u) << 16, e = (h.bits >> 10) & 0x1f, m = h.bits & 0x3ffu, f;
    if (e == 0) {
        if (m == 0) {
            f = s;
        } else {
            int k = -1;
            do { m <<= 1; k++; } while ((m & 0x400u) == 0);
            f = s | ((unsigned) (127 - 15 - k) << 23) | ((m & 0x3ffu) << 13);
        }
    } else if (e == 31) {
        f = s | 0x7f800000u | (m << 13);
    } else {
        f = s | ((e + 112) << 23) | (m << 13);
    }
    float r;
    std::memcpy(&r, &f, 4);
    return r;
}
