// AVX2 activation quantizers, bit-exact with activations.cpp: the same absmax, the same
// multiply by 1/d, and _mm256_cvtps_epi32 rounds to nearest even as std::nearbyint does in the
// default rounding mode. At batch 8 the scalar loop was ~5% of a decode step.
#if defined(__AVX2__)
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/activations_kernels.h"
#include "runtime/fp16.h"

namespace llmrt::avx2 {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

// 32 floats -> 32 int8 (x * id rounded), stored at q; returns the four int32 vectors' sum.
inline __m256i quantize32(const float* x, __m256 id, int8_t* q) {
    const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
    const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
    const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
    const __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
    // packs interleave the 128-bit lanes; the permute restores element order
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i*)q, bytes);
    return _mm256_add_epi32(_mm256_add_epi32(a, b), _mm256_add_epi32(c, d));
}

inline float absmax(const float* x, int n) {
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
    return hmax(m);
}

}  // namespace

void prepare_a8_32(const float* x, block_a8_32* out, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b) {
        const float* xb = x + b * 32;
        const float d = absmax(xb, 32) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const int sum = hsum_epi32(quantize32(xb, _mm256_set1_ps(id), out[b].qs));
        // the fp16 round trip the weight formats' scales go through, in F16C (round to nearest
        // even, as runtime/fp16.h)
        out[b].d = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
        out[b].s = out[b].d * (float)sum;
    }
}

void prepare_a8_256(const float* x, block_a8_256* out, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float* xb = x + b * QK_K;
        const float d = absmax(xb, QK_K) / 127.0f;
        const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        for (int k = 0; k < QK_K / 32; ++k) {
            quantize32(xb + 32 * k, id, out[b].qs + 32 * k);
            // the two 16-element group sums of this chunk
            for (int g = 0; g < 2; ++g) {
                const __m128i q = _mm_loadu_si128((const __m128i*)(out[b].qs + 32 * k + 16 * g));
                const __m256i w = _mm256_cvtepi8_epi16(q);
                out[b].bsums[2 * k + g] = (int16_t)hsum_epi32(_mm256_madd_epi16(w, _mm256_set1_epi16(1)));
            }
        }
        out[b].d = d;
    }
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
