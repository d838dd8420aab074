// AVX2 gated activations. Both are x * sigmoid(z): SiLU with z = g, and the tanh form of GELU,
// 0.5 g (1 + tanh(u)) = g * sigmoid(2u), with the vector exp of runtime/simd_avx2.h. The scalar
// loop with libm's expf/tanhf was ~5% of a Gemma step.
#include "ops/activations_kernels.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>

#include "runtime/simd_avx2.h"

namespace llmrt::ops::avx2 {
namespace {

using simd::exp256;

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
