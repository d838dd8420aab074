// AVX2 + F16C + FMA versions of ops/vec.h; compiled with -mavx2 (see CMakeLists.txt) and only
// entered after the run-time CPU check in vec.cpp.
#include "ops/vec.h"

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>

#include "runtime/simd_avx2.h"

#include "runtime/fp16.h"

namespace llmrt::ops {
namespace {

using simd::hsum;

inline __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i*)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16(x + i));
    for (; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

float dot_f32(const float* a, const float* b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    float s = hsum(_mm256_add_ps(acc0, acc1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

void scale_f32(float* y, float s, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vs));
    for (; i < n; ++i) y[i] *= s;
}

void axpy_f32(float* y, float alpha, const float* x, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

// Up to 4 heads per pass over the row: 4 accumulators plus the converted row stay in registers.
template <int G>
void dot_group4(const float* q, int64_t stride, const uint16_t* k, int64_t n, float* out) {
    __m256 acc[G];
    for (int j = 0; j < G; ++j) acc[j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 kv = load_f16(k + i);
        for (int j = 0; j < G; ++j) acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * stride + i), kv, acc[j]);
    }
    for (int j = 0; j < G; ++j) {
        float s = hsum(acc[j]);
        for (int64_t t = i; t < n; ++t) s += q[j * stride + t] * fp16_to_fp32(k[t]);
        out[j] = s;
    }
}

void dot_group_f16(const float* q, int64_t stride, int group, const uint16_t* k, int64_t n, float* out) {
    for (int j0 = 0; j0 < group; j0 += 4) {
        const float* qj = q + j0 * stride;
        switch (group - j0) {
            case 1: dot_group4<1>(qj, stride, k, n, out + j0); break;
            case 2: dot_group4<2>(qj, stride, k, n, out + j0); break;
            case 3: dot_group4<3>(qj, stride, k, n, out + j0); break;
            default: dot_group4<4>(qj, stride, k, n, out + j0); break;
        }
    }
}

// C cells x G heads of accumulators (C * G <= 12 of the 16 registers); the q chunks come from
// memory as fused operands, so one converted K chunk meets G heads.
template <int C, int G>
void dot_block(const float* q, int64_t stride, const uint16_t* const* k, int64_t n, float* out, int64_t out_stride) {
    __m256 acc[C][G];
    for (int c = 0; c < C; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm256_setzero_ps();
    for (int64_t d = 0; d < n; d += 8) {
        for (int c = 0; c < C; ++c) {
            const __m256 kv = load_f16(k[c] + d);
            for (int j = 0; j < G; ++j) acc[c][j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + j * stride + d), kv, acc[c][j]);
        }
    }
    for (int j = 0; j < G; ++j) {
        if constexpr (C == 4) {   // four horizontal sums at once
            const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(acc[0][j], acc[1][j]), _mm256_hadd_ps(acc[2][j], acc[3][j]));
            _mm_storeu_ps(out + j * out_stride, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
        } else {
            for (int c = 0; c < C; ++c) out[j * out_stride + c] = hsum(acc[c][j]);
        }
    }
}

// Heads in blocks of at most 3 (4 cells each) or 4 (2 cells each); rows of a length that is no
// multiple of 8 take the per-cell kernel.
void dot_tile_f16(const float* q, int64_t stride, int group, const uint16_t* const* k, int n_rows, int64_t n,
                  float* out, int64_t out_stride) {
    if (n % 8 != 0) {
        float tmp[16];
        for (int i = 0; i < n_rows; ++i)
            for (int j0 = 0; j0 < group; j0 += 16) {
                const int g = group - j0 < 16 ? group - j0 : 16;
                dot_group_f16(q + j0 * stride, stride, g, k[i], n, tmp);
                for (int j = 0; j < g; ++j) out[(j0 + j) * out_stride + i] = tmp[j];
            }
        return;
    }
    for (int j0 = 0; j0 < group;) {
        const int left = group - j0;
        const int g = left == 4 ? 4 : (left < 3 ? left : 3);
        const float* qj = q + j0 * stride;
        float* oj = out + j0 * out_stride;
        int i = 0;
        if (g == 4) {
            for (; i + 2 <= n_rows; i += 2) dot_block<2, 4>(qj, stride, k + i, n, oj + i, out_stride);
        } else {
            for (; i + 4 <= n_rows; i += 4) {
                if (g == 3) dot_block<4, 3>(qj, stride, k + i, n, oj + i, out_stride);
                else if (g == 2) dot_block<4, 2>(qj, stride, k + i, n, oj + i, out_stride);
                else dot_block<4, 1>(qj, stride, k + i, n, oj + i, out_stride);
            }
        }
        for (; i < n_rows; ++i) {
            if (g == 4) dot_block<1, 4>(qj, stride, k + i, n, oj + i, out_stride);
            else if (g == 3) dot_block<1, 3>(qj, stride, k + i, n, oj + i, out_stride);
            else if (g == 2) dot_block<1, 2>(qj, stride, k + i, n, oj + i, out_stride);
            else dot_block<1, 1>(qj, stride, k + i, n, oj + i, out_stride);
        }
        j0 += g;
    }
}

float exp_sum(float* x, float shift, int64_t n) {
    const __m256 vs = _mm256_set1_ps(shift);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum(acc);
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

// D chunks of 8 output dims x G heads of accumulators, held over the whole tile of rows: each
// probability is broadcast once per D chunks and each converted V chunk serves G heads.
template <int D, int G>
void axpy_block(float* y, int64_t stride, const float* p, int64_t p_stride, const uint16_t* const* v, int n_rows,
                int64_t d) {
    __m256 acc[D][G];
    for (int c = 0; c < D; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm256_loadu_ps(y + j * stride + d + 8 * c);
    for (int i = 0; i < n_rows; ++i) {
        __m256 pi[G];
        for (int j = 0; j < G; ++j) pi[j] = _mm256_set1_ps(p[j * p_stride + i]);
        for (int c = 0; c < D; ++c) {
            const __m256 vv = load_f16(v[i] + d + 8 * c);
            for (int j = 0; j < G; ++j) acc[c][j] = _mm256_fmadd_ps(pi[j], vv, acc[c][j]);
        }
    }
    for (int c = 0; c < D; ++c)
        for (int j = 0; j < G; ++j) _mm256_storeu_ps(y + j * stride + d + 8 * c, acc[c][j]);
}

// As many output chunks per pass as the registers allow (D * G + G + 1 <= 16), then single chunks.
template <int G>
void axpy_heads(float* y, int64_t stride, const float* p, int64_t p_stride, const uint16_t* const* v, int n_rows,
                int64_t n) {
    constexpr int D = G == 1 ? 8 : G == 2 ? 4 : G == 3 ? 4 : 2;
    int64_t d = 0;
    for (; d + 8 * D <= n; d += 8 * D) axpy_block<D, G>(y, stride, p, p_stride, v, n_rows, d);
    for (; d + 8 <= n; d += 8) axpy_block<1, G>(y, stride, p, p_stride, v, n_rows, d);
    for (; d < n; ++d)
        for (int i = 0; i < n_rows; ++i)
            for (int j = 0; j < G; ++j) y[j * stride + d] += p[j * p_stride + i] * fp16_to_fp32(v[i][d]);
}

void axpy_tile_f16(float* y, int64_t stride, const float* p, int64_t p_stride, int group, const uint16_t* const* v,
                   int n_rows, int64_t n) {
    for (int j0 = 0; j0 < group; j0 += 4) {
        float* yj = y + j0 * stride;
        const float* pj = p + j0 * p_stride;
        switch (group - j0) {
            case 1: axpy_heads<1>(yj, stride, pj, p_stride, v, n_rows, n); break;
            case 2: axpy_heads<2>(yj, stride, pj, p_stride, v, n_rows, n); break;
            case 3: axpy_heads<3>(yj, stride, pj, p_stride, v, n_rows, n); break;
            default: axpy_heads<4>(yj, stride, pj, p_stride, v, n_rows, n); break;
        }
    }
}

const VecKernels kAvx2{f32_to_f16,   f16_to_f32, dot_f32,       scale_f32, axpy_f32,
                       dot_group_f16, dot_tile_f16, exp_sum, axpy_tile_f16};

}  // namespace

const VecKernels* vec_kernels_avx2() { return &kAvx2; }

}  // namespace llmrt::ops

#else
namespace llmrt::ops {
const VecKernels* vec_kernels_avx2() { return nullptr; }
}  // namespace llmrt::ops
#endif
