// AVX2 dot products of Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weight rows with A8_32 activations, and fast
// dequantizers for the formats embedding rows come in. Scalar references: legacy.cpp.
//
// Per block: the 32 weight quants as unsigned bytes (0..15 or 0..31) times the signed activation
// bytes with _mm256_maddubs_epi16 (at most 31*127*2 per pair: no saturation), pairs summed to 8
// int32 by _mm256_madd_epi16, converted, and one FMA with the block's d_w*d_a. The offsets
// (-8, -16, +m) are folded in per block through the activation's s = d_a*sum(qa). Q8_0's signed
// weights use the sign trick: |w| (unsigned, 128 for -128) times sign(w)*a.

// Dequantizers must round like the scalar ones (d*q, then + m): no contraction into FMA.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__AVX2__)
#include <immintrin.h>

#include "runtime/simd_avx2.h"

#include <cstring>

#include "quant/blocks.h"
#include "quant/legacy_avx2_formats.h"
#include "quant/legacy_kernels.h"

namespace llmrt::avx2 {
namespace {

using simd::hsum;

// Two blocks per iteration, each with its own accumulator; the offset terms go to a scalar pair.
// NC activation rows (columns) share each unpacked weight block; every column keeps its own
// accumulators, so column c gets exactly the single-column (NC = 1) result.
template <typename F, int NC>
void dot_unsigned(int64_t n, const void* w, const void* const* acts, float* out) {
    const typename F::Block* b = (const typename F::Block*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const int64_t nb = n / 32;
    __m256 acc0[NC], acc1[NC];
    float off0[NC], off1[NC];
    for (int c = 0; c < NC; ++c) {
        acc0[c] = _mm256_setzero_ps();
        acc1[c] = _mm256_setzero_ps();
        off0[c] = off1[c] = 0.0f;
    }
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const float dw0 = h2f(b[i].d), dw1 = h2f(b[i + 1].d);
        const __m256i q0 = F::quants(b[i]), q1 = F::quants(b[i + 1]);
        const float o0 = F::offset(b[i], dw0), o1 = F::offset(b[i + 1], dw1);
        for (int c = 0; c < NC; ++c) {
            const __m256 p0 = dot_us8(q0, load_act(y[c][i]));
            const __m256 p1 = dot_us8(q1, load_act(y[c][i + 1]));
            acc0[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * y[c][i].d), p0, acc0[c]);
            acc1[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * y[c][i + 1].d), p1, acc1[c]);
            off0[c] += o0 * y[c][i].s;
            off1[c] += o1 * y[c][i + 1].s;
        }
    }
    if (i < nb) {
        const float dw = h2f(b[i].d);
        const __m256i q = F::quants(b[i]);
        const float o = F::offset(b[i], dw);
        for (int c = 0; c < NC; ++c) {
            acc0[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y[c][i].d), dot_us8(q, load_act(y[c][i])), acc0[c]);
            off0[c] += o * y[c][i].s;
        }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(_mm256_add_ps(acc0[c], acc1[c])) + (off0[c] + off1[c]);
}

// Q8_0's signed weights: |w| once per block, sign(w)*a per column.
inline __m256 dot_q8_block(__m256i absq, __m256i q, const block_a8_32& y) {
    return dot_us8(absq, _mm256_sign_epi8(load_act(y), q));
}

template <int NC>
void dot_q8(int64_t n, const void* w, const void* const* acts, float* out) {
    const block_q8_0* b = (const block_q8_0*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const int64_t nb = n / 32;
    __m256 acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) acc0[c] = acc1[c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const float dw0 = h2f(b[i].d), dw1 = h2f(b[i + 1].d);
        const __m256i q0 = _mm256_loadu_si256((const __m256i*)b[i].qs);
        const __m256i q1 = _mm256_loadu_si256((const __m256i*)b[i + 1].qs);
        const __m256i a0 = _mm256_sign_epi8(q0, q0), a1 = _mm256_sign_epi8(q1, q1);
        for (int c = 0; c < NC; ++c) {
            acc0[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw0 * y[c][i].d), dot_q8_block(a0, q0, y[c][i]), acc0[c]);
            acc1[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw1 * y[c][i + 1].d), dot_q8_block(a1, q1, y[c][i + 1]), acc1[c]);
        }
    }
    if (i < nb) {
        const float dw = h2f(b[i].d);
        const __m256i q = _mm256_loadu_si256((const __m256i*)b[i].qs);
        const __m256i aq = _mm256_sign_epi8(q, q);
        for (int c = 0; c < NC; ++c)
            acc0[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y[c][i].d), dot_q8_block(aq, q, y[c][i]), acc0[c]);
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(_mm256_add_ps(acc0[c], acc1[c]));
}

// Single-column entry and the 1..4-column dispatcher of a kernel template K<NC>.
template <void (*K1)(int64_t, const void*, const void* const*, float*)>
float single(int64_t n, const void* w, const void* a) {
    const void* acts[1] = {a};
    float r;
    K1(n, w, acts, &r);
    return r;
}
template <void (*K1)(int64_t, const void*, const void* const*, float*),
          void (*K2)(int64_t, const void*, const void* const*, float*),
          void (*K3)(int64_t, const void*, const void* const*, float*),
          void (*K4)(int64_t, const void*, const void* const*, float*)>
void multi(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    switch (n_cols) {
        case 1: K1(n, w, acts, out); break;
        case 2: K2(n, w, acts, out); break;
        case 3: K3(n, w, acts, out); break;
        default: K4(n, w, acts, out); break;
    }
}
template <typename F>
void multi_unsigned(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi<dot_unsigned<F, 1>, dot_unsigned<F, 2>, dot_unsigned<F, 3>, dot_unsigned<F, 4>>(n, w, acts, n_cols, out);
}

// Dequantize helpers: 16 bytes -> 2 x 8 floats scaled.
inline void store_i8x16(float* dst, __m128i q, __m256 d) {
    _mm256_storeu_ps(dst, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8)))));
}
inline void store_u8x16_plus(float* dst, __m128i q, __m256 d, __m256 m) {
    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q))), m));
    _mm256_storeu_ps(dst + 8, _mm256_add_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(q, 8)))), m));
}

}  // namespace

float vec_dot_q4_0(int64_t n, const void* w, const void* a) { return single<dot_unsigned<Q4_0, 1>>(n, w, a); }
float vec_dot_q4_1(int64_t n, const void* w, const void* a) { return single<dot_unsigned<Q4_1, 1>>(n, w, a); }
float vec_dot_q5_0(int64_t n, const void* w, const void* a) { return single<dot_unsigned<Q5_0, 1>>(n, w, a); }
float vec_dot_q5_1(int64_t n, const void* w, const void* a) { return single<dot_unsigned<Q5_1, 1>>(n, w, a); }
float vec_dot_q8_0(int64_t n, const void* w, const void* a) { return single<dot_q8<1>>(n, w, a); }

void vec_dot_multi_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi_unsigned<Q4_0>(n, w, acts, n_cols, out);
}
void vec_dot_multi_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi_unsigned<Q4_1>(n, w, acts, n_cols, out);
}
void vec_dot_multi_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi_unsigned<Q5_0>(n, w, acts, n_cols, out);
}
void vec_dot_multi_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi_unsigned<Q5_1>(n, w, acts, n_cols, out);
}
void vec_dot_multi_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    multi<dot_q8<1>, dot_q8<2>, dot_q8<3>, dot_q8<4>>(n, w, acts, n_cols, out);
}

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
    const block_q4_0* b = (const block_q4_0*)src;
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
        const __m256 d = _mm256_set1_ps(h2f(b[i].d));
        const __m128i t = _mm_loadu_si128((const __m128i*)b[i].qs);
        store_i8x16(dst, _mm_sub_epi8(_mm_and_si128(t, mask), eight), d);
        store_i8x16(dst + 16, _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(t, 4), mask), eight), d);
    }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
    const block_q4_1* b = (const block_q4_1*)src;
    const __m128i mask = _mm_set1_epi8(0x0F);
    for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
        const __m256 d = _mm256_set1_ps(h2f(b[i].d)), m = _mm256_set1_ps(h2f(b[i].m));
        const __m128i t = _mm_loadu_si128((const __m128i*)b[i].qs);
        store_u8x16_plus(dst, _mm_and_si128(t, mask), d, m);
        store_u8x16_plus(dst + 16, _mm_and_si128(_mm_srli_epi16(t, 4), mask), d, m);
    }
}

// 32 quant bytes (as signed after the offset) -> 32 floats d*q.
inline void store_i8x32(float* dst, __m256i q, __m256 d) {
    store_i8x16(dst, _mm256_castsi256_si128(q), d);
    store_i8x16(dst + 16, _mm256_extracti128_si256(q, 1), d);
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
    const block_q5_0* b = (const block_q5_0*)src;
    for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
        const __m256i q = _mm256_sub_epi8(Q5_0::quants(b[i]), _mm256_set1_epi8(16));
        store_i8x32(dst, q, _mm256_set1_ps(h2f(b[i].d)));
    }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
    const block_q5_1* b = (const block_q5_1*)src;
    for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
        const __m256 d = _mm256_set1_ps(h2f(b[i].d)), m = _mm256_set1_ps(h2f(b[i].m));
        const __m256i q = Q5_1::quants(b[i]);  // 0..31: fine as signed bytes
        float* o = dst;
        for (int k = 0; k < 2; ++k, o += 16) {
            const __m128i h = k ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
            const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(h));
            const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(h, 8)));
            _mm256_storeu_ps(o, _mm256_add_ps(_mm256_mul_ps(d, lo), m));
            _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_mul_ps(d, hi), m));
        }
    }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
    const block_q8_0* b = (const block_q8_0*)src;
    for (int64_t i = 0; i < n / 32; ++i, dst += 32) {
        const __m256 d = _mm256_set1_ps(h2f(b[i].d));
        store_i8x16(dst, _mm_loadu_si128((const __m128i*)b[i].qs), d);
        store_i8x16(dst + 16, _mm_loadu_si128((const __m128i*)(b[i].qs + 16)), d);
    }
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
