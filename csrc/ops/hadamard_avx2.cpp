// AVX2 Walsh-Hadamard blocks (ops/hadamard.h): the butterflies of spans 1, 2 and 4 within a
// register by lane swaps, wider spans across registers. Each output is the same a + c or a - c
// as the scalar loop's, so both paths give the same bits. Entered only after the run-time check
// in hadamard.cpp.
#include "ops/hadamard.h"

#if defined(__AVX2__)
#include <immintrin.h>

#include <cmath>

namespace llmrt::ops::avx2 {

void hadamard_blocks(float* x, int64_t n_rows, int64_t row_len, int block) {
    const __m256 norm = _mm256_set1_ps(1.0f / std::sqrt((float)block));
    const int64_t n = n_rows * row_len;
    for (int64_t b = 0; b < n; b += block) {
        float* v = x + b;
        for (int i = 0; i < block; i += 8) {
            __m256 a = _mm256_loadu_ps(v + i);
            __m256 s = _mm256_permute_ps(a, 0xB1);  // span 1: lanes (0 1)(2 3)...
            a = _mm256_blend_ps(_mm256_add_ps(a, s), _mm256_sub_ps(s, a), 0xAA);
            s = _mm256_permute_ps(a, 0x4E);         // span 2
            a = _mm256_blend_ps(_mm256_add_ps(a, s), _mm256_sub_ps(s, a), 0xCC);
            s = _mm256_permute2f128_ps(a, a, 1);    // span 4
            a = _mm256_blend_ps(_mm256_add_ps(a, s), _mm256_sub_ps(s, a), 0xF0);
            _mm256_storeu_ps(v + i, a);
        }
        for (int h = 8; h < block; h *= 2)
            for (int i = 0; i < block; i += 2 * h)
                for (int j = i; j < i + h; j += 8) {
                    const __m256 a = _mm256_loadu_ps(v + j), c = _mm256_loadu_ps(v + j + h);
                    _mm256_storeu_ps(v + j, _mm256_add_ps(a, c));
                    _mm256_storeu_ps(v + j + h, _mm256_sub_ps(a, c));
                }
        for (int i = 0; i < block; i += 8) _mm256_storeu_ps(v + i, _mm256_mul_ps(_mm256_loadu_ps(v + i), norm));
    }
}

}  // namespace llmrt::ops::avx2
#endif
