// Private to the legacy *_avx2.cpp files: the 32-element weight formats as AVX2 sees them
// (their quants as unsigned bytes, d, and the offset factor of the activation's s). Include
// only inside an `#if defined(__AVX2__)` guard; everything is in an anonymous namespace so no
// AVX2 code can be merged with a baseline copy by the linker.
#pragma once
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"

namespace llmrt::avx2 {
namespace {

inline float h2f(half_bits h) { return _cvtsh_ss(h); }

// 16 bytes of packed nibbles -> 32 bytes 0..15: low nibbles (elements 0..15) in the low lane.
inline __m256i unpack_nibbles(const uint8_t* qs) {
    const __m128i t = _mm_loadu_si128((const __m128i*)qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// The 32 bits of qh -> 32 bytes, 0x10 where element j's bit is set.
inline __m256i unpack_high_bits(const uint8_t* qhb) {
    uint32_t qh;
    std::memcpy(&qh, qhb, 4);
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                             0x0101010101010101, 0x0000000000000000);
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// Sum of u[i]*s[i] over 32 bytes (u unsigned, s signed), as 8 floats.
inline __m256 dot_us8(__m256i u, __m256i s) {
    const __m256i p16 = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

inline __m256i load_act(const block_a8_32& y) { return _mm256_loadu_si256((const __m256i*)y.qs); }

// The weight formats, as: their unsigned quants, d, and the factor of s (offset term). kCenter
// is the constant subtracted from the quants (offset = -kCenter * d) when there is no stored min
// m (offset = m, the half right after d in the block).
struct Q4_0 {
    using Block = block_q4_0;
    static constexpr bool kHasMin = false;
    static constexpr float kCenter = 8.0f;
    static __m256i quants(const Block& b) { return unpack_nibbles(b.qs); }
    static float offset(const Block& b, float dw) { return -8.0f * dw; }
};
struct Q4_1 {
    using Block = block_q4_1;
    static constexpr bool kHasMin = true;
    static constexpr float kCenter = 0.0f;
    static __m256i quants(const Block& b) { return unpack_nibbles(b.qs); }
    static float offset(const Block& b, float) { return h2f(b.m); }
};
struct Q5_0 {
    using Block = block_q5_0;
    static constexpr bool kHasMin = false;
    static constexpr float kCenter = 16.0f;
    static __m256i quants(const Block& b) { return _mm256_or_si256(unpack_nibbles(b.qs), unpack_high_bits(b.qh)); }
    static float offset(const Block& b, float dw) { return -16.0f * dw; }
};
struct Q5_1 {
    using Block = block_q5_1;
    static constexpr bool kHasMin = true;
    static constexpr float kCenter = 0.0f;
    static __m256i quants(const Block& b) { return _mm256_or_si256(unpack_nibbles(b.qs), unpack_high_bits(b.qh)); }
    static float offset(const Block& b, float) { return h2f(b.m); }
};

}  // namespace
}  // namespace llmrt::avx2
