#include "quant/unpacked.h"

#include "runtime/cpu_features.h"

namespace llmrt {

void dot_unpacked_ref(int64_t n, const UnpackedRow& w, const block_a8_32* const* act, int n_cols, float* out) {
    for (int c = 0; c < n_cols; ++c) {
        float sum = 0.0f;
        for (int64_t b = 0; b < n / 32; ++b) {
            const block_a8_32& a = act[c][b];
            int isum = 0;
            for (int j = 0; j < 32; ++j) isum += (int)w.q[b * 32 + j] * (int)a.qs[j];
            sum += w.d[b] * a.d * (float)isum + w.m[b] * a.s;
        }
        out[c] = sum;
    }
}

DotUnpackedFn dot_unpacked_best() {
    static const DotUnpackedFn fn = [] {
        DotUnpackedFn avx2 = dot_unpacked_avx2();
        return (avx2 && simd_level() >= SimdLevel::AVX2) ? avx2 : &dot_unpacked_ref;
    }();
    return fn;
}

}  // namespace llmrt
