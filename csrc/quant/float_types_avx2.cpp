// AVX2 + F16C paths for F32 / F16 / BF16 weight rows (see float_types.cpp for the references).
#if defined(__AVX2__)
#include <immintrin.h>

#include "runtime/simd_avx2.h"

#include "quant/legacy_kernels.h"
#include "runtime/fp16.h"

namespace llmrt::avx2 {
namespace {

using simd::hsum;

inline __m256 load_f32(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
inline __m256 load_bf16(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

// Four independent accumulators hide the FMA latency; 32 elements per iteration, scalar tail.
template <typename T, __m256 (*Load)(const T*), float (*Scalar)(T)>
float dot(int64_t n, const T* x, const float* y) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(Load(x + i), _mm256_loadu_ps(y + i), acc0);
        acc1 = _mm256_fmadd_ps(Load(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(Load(x + i + 16), _mm256_loadu_ps(y + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(Load(x + i + 24), _mm256_loadu_ps(y + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(x + i), _mm256_loadu_ps(y + i), acc0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) s += Scalar(x[i]) * y[i];
    return s;
}

inline float id_f32(float v) { return v; }
inline float cvt_f16(uint16_t h) { return _cvtsh_ss(h); }
inline float cvt_bf16(uint16_t h) { return bf16_to_fp32(h); }

}  // namespace

float vec_dot_f32(int64_t n, const void* w, const void* a) {
    return dot<float, load_f32, id_f32>(n, (const float*)w, (const float*)a);
}
float vec_dot_f16(int64_t n, const void* w, const void* a) {
    return dot<uint16_t, load_f16, cvt_f16>(n, (const uint16_t*)w, (const float*)a);
}
float vec_dot_bf16(int64_t n, const void* w, const void* a) {
    return dot<uint16_t, load_bf16, cvt_bf16>(n, (const uint16_t*)w, (const float*)a);
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16(h + i));
    for (; i < n; ++i) dst[i] = _cvtsh_ss(h[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_bf16(h + i));
    for (; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
