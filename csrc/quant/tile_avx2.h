// Private to the *_tile_avx2.cpp files: the register layout shared by the 4-row x n-column
// tiles (VecDotTileFn). Include only inside an `#if defined(__AVX2__)` guard; everything is in an
// anonymous namespace so no AVX2 code can be merged with a baseline copy by the linker.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/types.h"

namespace llmrt::avx2 {
namespace {

// Row order in the lanes. Two rows are unpacked side by side as lo = [ra e0-15 | rb e0-15] and
// hi = [ra e16-31 | rb e16-31]; a 64-bit unpack of the pairs (0, 1) and (2, 3) then yields
// chunk k of all four rows in lane order 0, 2, 1, 3 without any cross-lane permute.
constexpr int kLaneRow[4] = {0, 2, 1, 3};

struct RowPair {
    __m256i lo, hi;
};
// 4-bit formats: the two rows' 16 packed bytes side by side, then one mask/shift for both.
inline RowPair nibble_pair(const uint8_t* qa, const uint8_t* qb) {
    const __m256i x = _mm256_loadu2_m128i((const __m128i*)qb, (const __m128i*)qa);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(x, mask), _mm256_and_si256(_mm256_srli_epi16(x, 4), mask)};
}
// v[k] = chunk k (elements 8k .. 8k+7) of the rows, in lane order kLaneRow.
inline void chunks(const RowPair& p01, const RowPair& p23, __m256i v[4]) {
    v[0] = _mm256_unpacklo_epi64(p01.lo, p23.lo);
    v[1] = _mm256_unpackhi_epi64(p01.lo, p23.lo);
    v[2] = _mm256_unpacklo_epi64(p01.hi, p23.hi);
    v[3] = _mm256_unpackhi_epi64(p01.hi, p23.hi);
}

// The tiles read four rows at once, which the hardware prefetchers follow poorly: without this
// a whole model streamed from memory decoded one token ~40% slower through the tiles than
// through the one-row kernels (SmolLM2, 2 threads). `ahead` bytes past the current block.
template <typename Block>
inline void prefetch_rows(const Block* const b[4], int64_t i, int ahead) {
    for (int r = 0; r < 4; ++r) _mm_prefetch((const char*)(b[r] + i) + ahead, _MM_HINT_T0);
}

// Chunk k (8 bytes) of 8-bit activations in all four 64-bit lanes.
inline __m256i act_chunk(const int8_t* qs, int k) {
    int64_t c;
    std::memcpy(&c, qs + 8 * k, 8);
    return _mm256_set1_epi64x(c);
}

// The first two halves of each row's block (d, and m where the format has one; else the first
// quant bytes, ignored), as [d d d d ...] and [m m ...], two lanes per row in lane order kLaneRow:
// per-row scalars lined up with the two int32 sums of each row.
struct RowScales {
    __m256 d, m;
};
template <typename Block>
inline RowScales row_scales(const Block* const b[4], int64_t i) {
    uint32_t h[4];
    for (int l = 0; l < 4; ++l) std::memcpy(&h[l], &b[kLaneRow[l]][i], 4);
    const __m256 x = _mm256_cvtph_ps(_mm_setr_epi32((int)h[0], (int)h[1], (int)h[2], (int)h[3]));
    return {_mm256_permutevar8x32_ps(x, _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6)),
            _mm256_permutevar8x32_ps(x, _mm256_setr_epi32(1, 1, 3, 3, 5, 5, 7, 7))};
}

// Lanes (2l, 2l + 1) of acc summed: the result of row kLaneRow[l].
inline void store_rows(__m256 acc, float* out, int stride) {
    const __m256 h = _mm256_hadd_ps(acc, acc);
    const __m128 hi = _mm256_extractf128_ps(h, 1);
    out[kLaneRow[0] * stride] = _mm256_cvtss_f32(h);
    out[kLaneRow[1] * stride] = _mm256_cvtss_f32(_mm256_permute_ps(h, 1));
    out[kLaneRow[2] * stride] = _mm_cvtss_f32(hi);
    out[kLaneRow[3] * stride] = _mm_cvtss_f32(_mm_permute_ps(hi, 1));
}

using TileKernel = void (*)(int64_t, const void*, size_t, const void* const*, float*, int);

// The 1..8-column dispatcher of a kernel template K<NC>, in passes of at most MaxCols columns
// (a kernel whose accumulators would not fit the 16 registers runs as two narrower passes).
template <template <int> class K, int MaxCols = kTileMaxCols>
void dispatch(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out) {
    static constexpr TileKernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                         K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    for (int c0 = 0; c0 < n_cols; c0 += MaxCols) {
        const int k = n_cols - c0 < MaxCols ? n_cols - c0 : MaxCols;
        kernels[k - 1](n, w, row_bytes, acts + c0, out + c0, n_cols);
    }
}
}  // namespace
}  // namespace llmrt::avx2
