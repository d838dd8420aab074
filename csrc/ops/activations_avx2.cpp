// AVX2 gated activations. Both are x * sigmoid(z): SiLU with z = g, and the tanh form of GELU,
// 0.5 g (1 + tanh(u)) = g * sigmoid(2u). exp is a Cephes-style range reduction (x = n ln2 + r,
// |r| <= ln2/2) with a degree-6 polynomial: relative error ~1e-7, like std::exp's float result
// to within a couple of ulps. The scalar loop with libm's expf/tanhf was ~5% of a Gemma step.
#include "ops/activations_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>

namespace llmrt::ops::avx2 {
namespace {

inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n ln2, with ln2 split in two so the product is exact enough
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// x * sigmoid(z) = x / (1 + exp(-z))
inline __m256 times_sigmoid(__m256 x, __m256 z) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), z));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

}  // namespace

void gated_activation(Activation act, float* gate, const float* up, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        __m256 z = g;
        if (act == Activation::GeLUTanh) {
            const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), g), g, _mm256_set1_ps(1.0f));
            z = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f * kSqrt2OverPi), g), inner);
        }
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(times_sigmoid(g, z), _mm256_loadu_ps(up + i)));
    }
    if (i < n) gated_activation_ref(act, gate + i, up + i, n - i);
}

}  // namespace llmrt::ops::avx2
#endif
