// Private to the *_packed_avx512.cpp files: helpers shared by the AVX-512 VNNI kernels of the
// 16-row packed layouts (block_*x16, quant/blocks.h and quant/packed.h). Include only inside an
// `#if defined(__AVX512VNNI__)` guard; everything is in an anonymous namespace so no AVX-512
// code can be merged with a baseline copy by the linker.
//
// Why these kernels exist beside the AVX2 ones: vpdpbusd multiplies unsigned by signed bytes and
// adds each lane's four products into its int32 in one instruction, where AVX2 needs maddubs,
// an int16 add chain and a widening madd; and a 512-bit register holds four bytes of sixteen
// rows, so every instruction serves sixteen rows against the same broadcast four activation
// bytes. The integer sums equal the AVX2 kernels' and the float steps run in the same order per
// row, so both give the same bits.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace llmrt::avx512 {
namespace {

inline __m512i load64(const void* p) { return _mm512_loadu_si512(p); }

// Sixteen fp16 per-row values (scales, minimums) as floats.
inline __m512 halves16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }

// Sixteen bytes, one per row (sub-block scales), as int32, zero- or sign-extended.
inline __m512i bytes16_u32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p)); }
inline __m512i bytes16_i32(const int8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)p)); }

// Four bytes (activation quants, or a pair of int16) in all sixteen lanes; the compiler takes it
// straight from memory as a broadcast.
inline __m512i bcast32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// Every cache line of the block `ahead` blocks on (see packed_avx2.h for why all of them).
template <typename Block>
inline void prefetch_block(const Block* b, int ahead) {
    const char* p = (const char*)(b + ahead);
    for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

// sum over g < 8 of q[g] . (bytes 4g..4g+3 of `a`, broadcast): each row's 32-element dot in its
// int32 lane. Two chains of four keep the dependency short when only one column runs.
inline __m512i dot32(const __m512i* q, const int8_t* a) {
    __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], bcast32(a));
    __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[4], bcast32(a + 16));
    for (int g = 1; g < 4; ++g) {
        s0 = _mm512_dpbusd_epi32(s0, q[g], bcast32(a + 4 * g));
        s1 = _mm512_dpbusd_epi32(s1, q[g + 4], bcast32(a + 16 + 4 * g));
    }
    return _mm512_add_epi32(s0, s1);
}

}  // namespace
}  // namespace llmrt::avx512
