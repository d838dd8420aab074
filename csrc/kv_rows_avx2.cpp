// AVX2 quantizers for KV rows, bit-exact with the registry's (ggml's reference) q8_0 / q4_0
// quantizers in quant/legacy.cpp: the same scale, std::round's half-away-from-zero for q8_0 and
// q4_0's separately rounded x * id + 8.5 then truncation. Storing K/V is then no longer a tenth of
// a prefill's time. Entered only after the run-time check in kv_rows.cpp.

// x * id + 8.5 must round twice, as the scalar quantizer does: no contraction into FMA.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "kv_rows_kernels.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

#include <cmath>

namespace llmrt::kv_avx2 {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float absmax32(const float* x) {
    __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(_mm256_loadu_ps(x)), abs_ps(_mm256_loadu_ps(x + 8))),
                             _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 16)), abs_ps(_mm256_loadu_ps(x + 24))));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

// Four vectors of 8 int32 (elements 0..31 in order) -> 32 int8 in order.
inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// std::round of each lane: truncate, then one step away from zero when the dropped part is >= 0.5.
inline __m256i round_away(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 up = _mm256_cmp_ps(abs_ps(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 step = _mm256_and_ps(up, _mm256_or_ps(sign, _mm256_set1_ps(1.0f)));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, step));
}

}  // namespace

void quantize_q8_0(const float* x, block_q8_0* y, int64_t n) {
    for (int64_t b = 0; b < n / QK8_0; ++b, x += QK8_0) {
        const float d = absmax32(x) / 127.0f;
        const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        __m256i q[4];
        for (int k = 0; k < 4; ++k) q[k] = round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id));
        _mm256_storeu_si256((__m256i*)y[b].qs, pack32(q[0], q[1], q[2], q[3]));
    }
}

void quantize_q4_0(const float* x, block_q4_0* y, int64_t n) {
    for (int64_t b = 0; b < n / QK4_0; ++b, x += QK4_0) {
        // the element of largest magnitude with its sign, the first one on ties
        const float amax = absmax32(x);
        float max = 0.0f;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) == amax) { max = x[j]; break; }
        const float d = max / -8.0f;
        const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        y[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        __m256i q[4];
        for (int k = 0; k < 4; ++k) {
            const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id), _mm256_set1_ps(8.5f));
            q[k] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvttps_epi32(v), _mm256_setzero_si256()),
                                    _mm256_set1_epi32(15));
        }
        // bytes 0..15 low nibbles (elements 0..15), high nibbles elements 16..31
        const __m256i bytes = pack32(q[0], q[1], q[2], q[3]);
        const __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
        _mm_storeu_si128((__m128i*)y[b].qs, _mm_or_si128(lo, _mm_slli_epi16(hi, 4)));
    }
}

}  // namespace llmrt::kv_avx2
#endif
