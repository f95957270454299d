/* Run-time CPU dispatch: which kernel variants this CPU (and OS, via XCR0) can run. */
#define TRILLIUM_AVX2 1
#define TRILLIUM_AVX512_VNNI 2

__attribute__((visibility("default"))) int trillium_cpu_features(void) {
    __builtin_cpu_init();
    int f = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        f |= TRILLIUM_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
            f |= TRILLIUM_AVX512_VNNI;
        }
    }
    return f;
}
