// Small AVX2 helpers shared by the *_avx2.cpp kernel files. Include only from files compiled
// with -mavx2 (CMakeLists.txt), inside their `#if defined(__AVX2__)` guard. Everything is
// `static inline`: a non-static inline function could be merged by the linker with a copy
// from a non-AVX2 file, or vice versa.
#pragma once
#include <immintrin.h>

namespace llmrt::simd {

// Sum of the 8 float lanes.
static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

}  // namespace llmrt::simd
