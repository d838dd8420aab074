// AVX2 dot products of IQ4_NL / MXFP4 (A8_32) and IQ4_XS (A8_256) weight rows.
//
// The 16-entry int8 table fits one 128-bit lane, so _mm256_shuffle_epi8 with the nibbles as
// indices turns 32 quants into their table values in one instruction (low nibbles in the low
// lane = elements 0..15, high nibbles in the high lane = 16..31, the activations' order).
// The values are signed, and maddubs needs one unsigned operand: it gets |w| and the
// activations take w's sign (_mm256_sign_epi8), which is exact since both stay within
// -127..127 and a pair of products is at most 2 * 127 * 127 < 2^15.
#if defined(__AVX2__)
#include <immintrin.h>

#include "quant/iq_internal.h"
#include "runtime/simd_avx2.h"

namespace llmrt::iq {
namespace {

using simd::hsum;

inline __m256i table256(const int8_t* t) { return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)t)); }

// The 32 table values of 16 nibble bytes, in element order.
inline __m256i lookup32(__m256i table, const uint8_t* qs) {
    const __m128i q = _mm_loadu_si128((const __m128i*)qs);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    return _mm256_shuffle_epi8(table, idx);
}

// Products of 32 signed weight values and activation bytes, summed in pairs (16 x int16).
inline __m256i products16(__m256i v, const int8_t* a) {
    const __m256i av = _mm256_loadu_si256((const __m256i*)a);
    return _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(av, v));
}

// IQ4_NL and MXFP4: one scale per 32-element block; two blocks per step for two FMA chains.
template <typename Block, float (*Scale)(const Block&)>
float dot_blocks32(int64_t n, const void* vw, const void* va, const int8_t* values) {
    const Block* b = (const Block*)vw;
    const block_a8_32* y = (const block_a8_32*)va;
    const __m256i table = table256(values);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m256i p0 = _mm256_madd_epi16(products16(lookup32(table, b[i].qs), y[i].qs), ones);
        const __m256i p1 = _mm256_madd_epi16(products16(lookup32(table, b[i + 1].qs), y[i + 1].qs), ones);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(Scale(b[i]) * y[i].d), _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(Scale(b[i + 1]) * y[i + 1].d), _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; ++i) {
        const __m256i p = _mm256_madd_epi16(products16(lookup32(table, b[i].qs), y[i].qs), ones);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(Scale(b[i]) * y[i].d), _mm256_cvtepi32_ps(p), acc0);
    }
    return hsum(_mm256_add_ps(acc0, acc1));
}

inline float scale_iq4_nl(const block_iq4_nl& b) { return _cvtsh_ss(b.d); }
inline float scale_mxfp4(const block_mxfp4& b) { return e8m0_half(b.e); }

}  // namespace

float vec_dot_iq4_nl_avx2(int64_t n, const void* w, const void* a) {
    return dot_blocks32<block_iq4_nl, scale_iq4_nl>(n, w, a, kvalues_iq4nl);
}

float vec_dot_mxfp4_avx2(int64_t n, const void* w, const void* a) {
    return dot_blocks32<block_mxfp4, scale_mxfp4>(n, w, a, kvalues_mxfp4);
}

// IQ4_XS: each sub-block's pair sums are weighted by its signed scale in the widening madd
// (|sum| <= 32 * 2 * 127 * 127 per lane), then one FMA per super-block.
float vec_dot_iq4_xs_avx2(int64_t n, const void* vw, const void* va) {
    const block_iq4_xs* b = (const block_iq4_xs*)vw;
    const block_a8_256* y = (const block_a8_256*)va;
    const __m256i table = table256(kvalues_iq4nl);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        __m256i isum0 = _mm256_setzero_si256(), isum1 = _mm256_setzero_si256();
        for (int s = 0; s < 8; s += 2) {
            const __m256i p0 = products16(lookup32(table, b[i].qs + 16 * s), y[i].qs + 32 * s);
            const __m256i p1 = products16(lookup32(table, b[i].qs + 16 * s + 16), y[i].qs + 32 * s + 32);
            isum0 = _mm256_add_epi32(isum0, _mm256_madd_epi16(p0, _mm256_set1_epi16((int16_t)iq4_xs_scale(b[i], s))));
            isum1 = _mm256_add_epi32(isum1, _mm256_madd_epi16(p1, _mm256_set1_epi16((int16_t)iq4_xs_scale(b[i], s + 1))));
        }
        const __m256 sum = _mm256_cvtepi32_ps(_mm256_add_epi32(isum0, isum1));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b[i].d) * y[i].d), sum, acc);
    }
    return hsum(acc);
}

}  // namespace llmrt::iq
#endif  // __AVX2__
