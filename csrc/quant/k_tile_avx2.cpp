// AVX2 4-row x n-column tile (VecDotTileFn) for Q4_K against A8_256 activations; the layout is
// the one of the 32-element formats' tiles (quant/tile_avx2.h). Scalar reference: vec_dot_q4_k_ref.
//
// Per 32-element sub-block the four chunks' int16 products (at most 4 * 2 * 15 * 127) are
// multiplied by the rows' 6-bit scales in the same _mm256_madd_epi16 that widens them, and the
// int32 sums run over the whole 256-element super-block (at most 8 * 2 * 15240 * 63 < 2^31):
// one float conversion per super-block, row and column. The mins use the activation's 16-element
// sums: per column, m . bsums for all four rows in two madds and one hadd, already in lane order.
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/k_quants_internal.h"
#include "quant/tile_avx2.h"
#include "quant/types.h"

namespace llmrt::kq {
namespace {

using avx2::act_chunk;
using avx2::chunks;
using avx2::kLaneRow;
using avx2::nibble_pair;
using avx2::row_scales;
using avx2::RowPair;
using avx2::store_rows;

// The column's eight 32-element activation sums, as int16 in both 128-bit lanes.
inline __m256i sub_block_sums(const block_a8_256& a) {
    const __m256i pairs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)a.bsums), _mm256_set1_epi16(1));
    const __m256i packed = _mm256_packs_epi32(pairs, pairs);  // [s0-3 s0-3 | s4-7 s4-7]
    return _mm256_permute4x64_epi64(packed, 0x88);           // [s0-7 | s0-7]
}

template <int NC>
void tile_q4_k(int64_t n, const void* w, size_t row_bytes, const void* const* acts, float* out, int stride) {
    const block_q4_K* b[4];
    for (int r = 0; r < 4; ++r) b[r] = (const block_q4_K*)((const uint8_t*)w + r * row_bytes);
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    constexpr int64_t kSpread = 0x0001000100010001;  // a scale in the four int16 of a row's lane
    for (int64_t i = 0; i < n / QK_K; ++i) {
        // the next super-block: 144 bytes, up to three cache lines per row
        for (int line = 0; line < 3; ++line) avx2::prefetch_rows(b, i, (int)sizeof(block_q4_K) + 64 * line);
        uint8_t sc[4][8], mn[4][8];
        for (int r = 0; r < 4; ++r) unpack_scale_min_k4(b[r][i].scales, sc[r], mn[r]);
        __m256i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm256_setzero_si256();
        for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
            const RowPair x01 = nibble_pair(b[0][i].qs + 32 * p, b[1][i].qs + 32 * p);
            const RowPair y01 = nibble_pair(b[0][i].qs + 32 * p + 16, b[1][i].qs + 32 * p + 16);
            const RowPair x23 = nibble_pair(b[2][i].qs + 32 * p, b[3][i].qs + 32 * p);
            const RowPair y23 = nibble_pair(b[2][i].qs + 32 * p + 16, b[3][i].qs + 32 * p + 16);
            for (int h = 0; h < 2; ++h) {
                const int s = 2 * p + h;
                __m256i v[4];
                if (h == 0) chunks({x01.lo, y01.lo}, {x23.lo, y23.lo}, v);
                else chunks({x01.hi, y01.hi}, {x23.hi, y23.hi}, v);
                const __m256i scale = _mm256_setr_epi64x(sc[kLaneRow[0]][s] * kSpread, sc[kLaneRow[1]][s] * kSpread,
                                                         sc[kLaneRow[2]][s] * kSpread, sc[kLaneRow[3]][s] * kSpread);
                for (int c = 0; c < NC; ++c) {
                    const int8_t* a = y[c][i].qs + 32 * s;
                    __m256i prod = _mm256_maddubs_epi16(v[0], act_chunk(a, 0));
                    prod = _mm256_add_epi16(prod, _mm256_maddubs_epi16(v[1], act_chunk(a, 1)));
                    prod = _mm256_add_epi16(prod, _mm256_maddubs_epi16(v[2], act_chunk(a, 2)));
                    prod = _mm256_add_epi16(prod, _mm256_maddubs_epi16(v[3], act_chunk(a, 3)));
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(prod, scale));
                }
            }
        }
        const avx2::RowScales dm = row_scales(b, i);  // d and dmin of each row
        const __m256i m01 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)mn[0]));
        const __m256i m23 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)mn[2]));
        for (int c = 0; c < NC; ++c) {
            const __m256 da = _mm256_set1_ps(y[c][i].d);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(dm.d, da), acc[c]);
            const __m256i bs = sub_block_sums(y[c][i]);
            // rows (0 | 1) and (2 | 3): hadd gives [r0 r0 r2 r2 | r1 r1 r3 r3], the lane order
            const __m256i mins = _mm256_hadd_epi32(_mm256_madd_epi16(m01, bs), _mm256_madd_epi16(m23, bs));
            acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(dm.m, da), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, stride);
}

template <int NC>
struct Q4K {
    static void run(int64_t n, const void* w, size_t rb, const void* const* a, float* o, int stride) {
        tile_q4_k<NC>(n, w, rb, a, o, stride);
    }
};

}  // namespace

void vec_dot_tile_q4_k_avx2(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    avx2::dispatch<Q4K, 8>(n, w, rb, acts, n_cols, out);
}

}  // namespace llmrt::kq
#endif  // __AVX2__
