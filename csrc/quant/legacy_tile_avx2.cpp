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
#include "quant/tile_avx2.h"
#include "quant/types.h"

namespace llmrt::avx2 {
namespace {

// The formats' default: unpack each row to [e0-15 | e16-31], then regroup the lanes.
template <typename F>
inline RowPair row_pair(const typename F::Block& a, const typename F::Block& b) {
    const __m256i qa = F::quants(a), qb = F::quants(b);
    return {_mm256_permute2x128_si256(qa, qb, 0x20), _mm256_permute2x128_si256(qa, qb, 0x31)};
}
template <>
inline RowPair row_pair<Q4_0>(const block_q4_0& a, const block_q4_0& b) { return nibble_pair(a.qs, b.qs); }
template <>
inline RowPair row_pair<Q4_1>(const block_q4_1& a, const block_q4_1& b) { return nibble_pair(a.qs, b.qs); }
inline RowPair q8_pair(const block_q8_0& a, const block_q8_0& b) {
    return {_mm256_loadu2_m128i((const __m128i*)b.qs, (const __m128i*)a.qs),
            _mm256_loadu2_m128i((const __m128i*)(b.qs + 16), (const __m128i*)(a.qs + 16))};
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
        prefetch_rows(b, i, 512);
        __m256i v[4];
        chunks(row_pair<F>(b[0][i], b[1][i]), row_pair<F>(b[2][i], b[3][i]), v);
        const RowScales rs = row_scales(b, i);
        const __m256 dw = rs.d;
        // each row's offset lands in its two lanes, hence the halves
        const __m256 off = F::kHasMin ? _mm256_mul_ps(rs.m, _mm256_set1_ps(0.5f))
                                      : _mm256_mul_ps(rs.d, _mm256_set1_ps(-0.5f * F::kCenter));
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i p = _mm256_maddubs_epi16(v[0], act_chunk(a.qs, 0));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[1], act_chunk(a.qs, 1)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[2], act_chunk(a.qs, 2)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[3], act_chunk(a.qs, 3)));
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
        prefetch_rows(b, i, 512);
        __m256i v[4], mag[4];
        chunks(q8_pair(b[0][i], b[1][i]), q8_pair(b[2][i], b[3][i]), v);
        for (int k = 0; k < 4; ++k) mag[k] = _mm256_sign_epi8(v[k], v[k]);  // |w| (128 for -128)
        const __m256 dw = row_scales(b, i).d;
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i s = _mm256_setzero_si256();
            for (int k = 0; k < 4; ++k) {
                const __m256i signed_act = _mm256_sign_epi8(act_chunk(a.qs, k), v[k]);
                s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(mag[k], signed_act), ones));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(a.d)), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, stride);
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
