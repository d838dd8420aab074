// AVX2 version of quant/unpacked.h: per 32-block, |w| (unsigned) times sign-adjusted
// activations with maddubs, widened with madd, then one FMA per block and column.
#include "quant/unpacked.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "runtime/simd_avx2.h"

namespace llmrt {
namespace {

using simd::hsum;

// sum(w * a) of 32 int8 pairs as 8 int32 lanes, via |w| * (a * sign(w)).
inline __m256i dot32(__m256i w_abs, __m256i w, __m256i a) {
    const __m256i p16 = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(a, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

template <int C>
void dot_cols(int64_t n, const UnpackedRow& w, const block_a8_32* const* act, float* out) {
    __m256 acc[C];
    float min_sum[C];
    for (int c = 0; c < C; ++c) { acc[c] = _mm256_setzero_ps(); min_sum[c] = 0.0f; }
    for (int64_t b = 0; b < n / 32; ++b) {
        const __m256i wq = _mm256_loadu_si256((const __m256i*)(w.q + b * 32));
        const __m256i w_abs = _mm256_sign_epi8(wq, wq);
        const float d = w.d[b], m = w.m[b];
        for (int c = 0; c < C; ++c) {
            const block_a8_32& a = act[c][b];
            const __m256i av = _mm256_loadu_si256((const __m256i*)a.qs);
            const __m256 p = _mm256_cvtepi32_ps(dot32(w_abs, wq, av));
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(d * a.d), acc[c]);
            min_sum[c] += m * a.s;
        }
    }
    for (int c = 0; c < C; ++c) out[c] = hsum(acc[c]) + min_sum[c];
}

void dot_unpacked(int64_t n, const UnpackedRow& w, const block_a8_32* const* act, int n_cols, float* out) {
    switch (n_cols) {
        case 4: dot_cols<4>(n, w, act, out); break;
        case 3: dot_cols<3>(n, w, act, out); break;
        case 2: dot_cols<2>(n, w, act, out); break;
        default: dot_cols<1>(n, w, act, out); break;
    }
}

}  // namespace

DotUnpackedFn dot_unpacked_avx2() { return &dot_unpacked; }

}  // namespace llmrt

#else
namespace llmrt {
DotUnpackedFn dot_unpacked_avx2() { return nullptr; }
}  // namespace llmrt
#endif
