// AVX2 4-row x n-column tiles (VecDotTileFn) for the 32-element formats against A8_32
// activations: the batched-decode kernel. Scalar reference: vec_dot_ref of each (row, column).
//
// The four rows' unpacked blocks are transposed in 8-byte chunks, so one register holds chunk k
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

// q[r] = [c0 c1 | c2 c3] (8-byte chunks of row r) -> v[k] = [q0.ck q1.ck q2.ck q3.ck].
inline void transpose_chunks(const __m256i q[4], __m256i v[4]) {
    const __m256i t0 = _mm256_unpacklo_epi64(q[0], q[1]), t1 = _mm256_unpackhi_epi64(q[0], q[1]);
    const __m256i t2 = _mm256_unpacklo_epi64(q[2], q[3]), t3 = _mm256_unpackhi_epi64(q[2], q[3]);
    v[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    v[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    v[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    v[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

// Chunk k (8 bytes) of an activation block in all four 64-bit lanes.
inline __m256i act_chunk(const block_a8_32& y, int k) {
    int64_t c;
    std::memcpy(&c, y.qs + 8 * k, 8);
    return _mm256_set1_epi64x(c);
}

// The first two halves of each row's block (d, and m where the format has one; else the first
// quant bytes, ignored), as [d0 d0 d1 d1 d2 d2 d3 d3] and [m0 m0 m1 m1 ...]: per-row scalars
// lined up with the two int32 sums of each row.
struct RowScales {
    __m256 d, m;
};
template <typename Block>
inline RowScales row_scales(const Block* const b[4], int64_t i) {
    uint32_t h[4];
    for (int r = 0; r < 4; ++r) std::memcpy(&h[r], &b[r][i], 4);
    const __m256 x = _mm256_cvtph_ps(_mm_setr_epi32((int)h[0], (int)h[1], (int)h[2], (int)h[3]));
    return {_mm256_permutevar8x32_ps(x, _mm256_setr_epi32(0, 0, 2, 2, 4, 4, 6, 6)),
            _mm256_permutevar8x32_ps(x, _mm256_setr_epi32(1, 1, 3, 3, 5, 5, 7, 7))};
}

// Lanes (2r, 2r + 1) of acc summed: row r's result.
inline void store_rows(__m256 acc, float* out, int stride) {
    const __m256 h = _mm256_hadd_ps(acc, acc);
    out[0] = _mm256_cvtss_f32(h);
    out[stride] = _mm256_cvtss_f32(_mm256_permute_ps(h, 1));
    const __m128 hi = _mm256_extractf128_ps(h, 1);
    out[2 * stride] = _mm_cvtss_f32(hi);
    out[3 * stride] = _mm_cvtss_f32(_mm_permute_ps(hi, 1));
}

template <typename F, int NC>
void tile_unsigned(int64_t n, const void* w, size_t row_bytes, const void* const* acts, float* out) {
    using Block = typename F::Block;
    const Block* b[4];
    for (int r = 0; r < 4; ++r) b[r] = (const Block*)((const uint8_t*)w + r * row_bytes);
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        __m256i q[4], v[4];
        for (int r = 0; r < 4; ++r) q[r] = F::quants(b[r][i]);
        transpose_chunks(q, v);
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
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, NC);
}

template <int NC>
void tile_q8_0(int64_t n, const void* w, size_t row_bytes, const void* const* acts, float* out) {
    const block_q8_0* b[4];
    for (int r = 0; r < 4; ++r) b[r] = (const block_q8_0*)((const uint8_t*)w + r * row_bytes);
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        __m256i q[4], v[4], mag[4];
        for (int r = 0; r < 4; ++r) q[r] = _mm256_loadu_si256((const __m256i*)b[r][i].qs);
        transpose_chunks(q, v);
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
    for (int c = 0; c < NC; ++c) store_rows(acc[c], out + c, NC);
}

using TileKernel = void (*)(int64_t, const void*, size_t, const void* const*, float*);

// The 1..8-column dispatcher of a kernel template K<NC>.
template <template <int> class K>
void dispatch(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out) {
    static constexpr TileKernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                         K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, row_bytes, acts, out);
}
template <typename F>
struct Unsigned {
    template <int NC>
    struct K {
        static void run(int64_t n, const void* w, size_t rb, const void* const* a, float* o) {
            tile_unsigned<F, NC>(n, w, rb, a, o);
        }
    };
};
template <int NC>
struct Q8 {
    static void run(int64_t n, const void* w, size_t rb, const void* const* a, float* o) { tile_q8_0<NC>(n, w, rb, a, o); }
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
    dispatch<Q8>(n, w, rb, acts, n_cols, out);
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
