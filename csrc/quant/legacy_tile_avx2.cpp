// AVX2 4-row x n-column tiles (VecDotTileFn) for the 32-element formats against A8_32
// activations: the batched-decode kernel. Scalar reference: vec_dot_ref of each (row, column).
//
// The four rows' unpacked blocks are regrouped in 8-byte chunks, so one register holds chunk k
// of all four rows; the column's matching 8 activation bytes are broadcast to the four lanes.
// After _mm256_maddubs_epi16 of the four chunks (summed as int16: at most 4 * 2 * 31 * 127 <
// 32767 for 4- and 5-bit quants), one _mm256_madd_epi16 leaves two int32 partial sums per row,
// so the float conversion, the scale multiply and the accumulate each serve four rows at once
// instead of one. Q8_0's signed quants cannot share int16 sums (2 * 128 * 127 per pair), so
// each chunk gets its own madd.
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/legacy_avx2_formats.h"
#include "quant/legacy_kernels.h"
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
// The formats' default: unpack each row to [e0-15 | e16-31], then regroup the lanes.
template <typename F>
inline RowPair row_pair(const typename F::Block& a, const typename F::Block& b) {
    const __m256i qa = F::quants(a), qb = F::quants(b);
    return {_mm256_permute2x128_si256(qa, qb, 0x20), _mm256_permute2x128_si256(qa, qb, 0x31)};
}
// 4-bit formats: the two rows' 16 packed bytes side by side, then one mask/shift for both.
inline RowPair nibble_pair(const uint8_t* qa, const uint8_t* qb) {
    const __m256i x = _mm256_loadu2_m128i((const __m128i*)qb, (const __m128i*)qa);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(x, mask), _mm256_and_si256(_mm256_srli_epi16(x, 4), mask)};
}
template <>
inline RowPair row_pair<Q4_0>(const block_q4_0& a, const block_q4_0& b) { return nibble_pair(a.qs, b.qs); }
template <>
inline RowPair row_pair<Q4_1>(const block_q4_1& a, const block_q4_1& b) { return nibble_pair(a.qs, b.qs); }
inline RowPair q8_pair(const block_q8_0& a, const block_q8_0& b) {
    return {_mm256_loadu2_m128i((const __m128i*)b.qs, (const __m128i*)a.qs),
            _mm256_loadu2_m128i((const __m128i*)(b.qs + 16), (const __m128i*)(a.qs + 16))};
}

// v[k] = chunk k (elements 8k .. 8k+7) of the rows, in lane order kLaneRow.
inline void chunks(const RowPair& p01, const RowPair& p23, __m256i v[4]) {
    v[0] = _mm256_unpacklo_epi64(p01.lo, p23.lo);
    v[1] = _mm256_unpackhi_epi64(p01.lo, p23.lo);
    v[2] = _mm256_unpacklo_epi64(p01.hi, p23.hi);
    v[3] = _mm256_unpackhi_epi64(p01.hi, p23.hi);
}

// Chunk k (8 bytes) of an activation block in all four 64-bit lanes.
inline __m256i act_chunk(const block_a8_32& y, int k) {
    int64_t c;
    std::memcpy(&c, y.qs + 8 * k, 8);
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

template <typename F, int NC>
void tile_unsigned(int64_t n, const void* w, size_t row_bytes, const void* const* acts, float* out, int stride) {
    using Block = typename F::Block;
    const Block* b[4];
    for (int r = 0; r < 4; ++r) b[r] = (const Block*)((const uint8_t*)w + r * row_bytes);
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        __m256i v[4];
        chunks(row_pair<F>(b[0][i], b[1][i]), row_pair<F>(b[2][i], b[3][i]), v);
        const RowScales rs = row_scales(b, i);
        const __m256 dw = rs.d;
        // each row's offset lands in its two lanes, hence the halves
        const __m256 off = F::kHasMin ? _mm256_mul_ps(rs.m, _mm256_set1_ps(0.5f))
                                      : _mm256_mul_ps(rs.d, _mm256_set1_ps(-0.5f * F::kCenter));
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i p = _mm256_maddubs_epi16(v[0], act_chunk(a, 0));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[1], act_chunk(a, 1)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[2], act_chunk(a, 2)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[3], act_chunk(a, 3)));
            const __m256 sum = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
            acc[c] = _mm256_fmadd_ps(sum, _mm256_mul_ps(dw, _mm256_set1_ps(a.d)), acc[c]);
            acc[c] = _mm256_fmadd_ps(off, _mm256_set1_ps(a.s), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, stride);
}

template <int NC>
void tile_q8_0(int64_t n, const void* w, size_t row_bytes, const void* const* acts, float* out, int stride) {
    const block_q8_0* b[4];
    for (int r = 0; r < 4; ++r) b[r] = (const block_q8_0*)((const uint8_t*)w + r * row_bytes);
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        __m256i v[4], mag[4];
        chunks(q8_pair(b[0][i], b[1][i]), q8_pair(b[2][i], b[3][i]), v);
        for (int k = 0; k < 4; ++k) mag[k] = _mm256_sign_epi8(v[k], v[k]);  // |w| (128 for -128)
        const __m256 dw = row_scales(b, i).d;
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i s = _mm256_setzero_si256();
            for (int k = 0; k < 4; ++k) {
                const __m256i signed_act = _mm256_sign_epi8(act_chunk(a, k), v[k]);
                s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(mag[k], signed_act), ones));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(a.d)), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, stride);
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
template <typename F>
struct Unsigned {
    template <int NC>
    struct K {
        static void run(int64_t n, const void* w, size_t rb, const void* const* a, float* o, int stride) {
            tile_unsigned<F, NC>(n, w, rb, a, o, stride);
        }
    };
};
template <int NC>
struct Q8 {
    static void run(int64_t n, const void* w, size_t rb, const void* const* a, float* o, int stride) {
        tile_q8_0<NC>(n, w, rb, a, o, stride);
    }
};

}  // namespace

void vec_dot_tile_q4_0(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    dispatch<Unsigned<Q4_0>::K>(n, w, rb, acts, n_cols, out);
}
void vec_dot_tile_q4_1(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    dispatch<Unsigned<Q4_1>::K>(n, w, rb, acts, n_cols, out);
}
void vec_dot_tile_q5_0(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    dispatch<Unsigned<Q5_0>::K>(n, w, rb, acts, n_cols, out);
}
void vec_dot_tile_q5_1(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    dispatch<Unsigned<Q5_1>::K>(n, w, rb, acts, n_cols, out);
}
void vec_dot_tile_q8_0(int64_t n, const void* w, size_t rb, const void* const* acts, int n_cols, float* out) {
    dispatch<Q8, 4>(n, w, rb, acts, n_cols, out);  // 8 registers of quants: 4 accumulators fit
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
