// AVX2 kernels for packed Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 (VecDotPackedFn; layout in quant/blocks.h, why in
// quant/packed.h): eight rows against 1..8 A8_32 activation rows.
//
// One 32-byte load of a packed block holds 4 bytes of each of the eight rows: masked, elements
// 4g..4g+3 of every row; shifted, elements 16+4g..16+4g+3. Against the column's matching 4
// activation bytes broadcast to all eight lanes, _mm256_maddubs_epi16 leaves two int16 sums per
// row per lane; the eight products of a 32-element block add up in int16 (at most
// 8 * 2 * 15 * 127 = 30480 < 32767), and one _mm256_madd_epi16 turns them into one int32 per
// row. From there every instruction (convert, scale, accumulate, offset) serves eight rows.
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/legacy_kernels.h"
#include "quant/packed_avx2.h"
#include "quant/types.h"

namespace llmrt::avx2 {
namespace {

template <typename Block>
inline __m256 row_offsets(const Block& b, __m256 d) {
    if constexpr (sizeof(Block) == sizeof(block_q4_1x8)) {
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b.m));   // x = d * q + m
    } else {
        return _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));                  // x = d * (q - 8)
    }
}

template <typename Block, int NC>
void packed_kernel(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const Block* b = (const Block*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, 24);
        __m256i lo[4], hi[4];
        for (int g = 0; g < 4; ++g) {
            const __m256i x = _mm256_loadu_si256((const __m256i*)(b[i].qs + 32 * g));
            lo[g] = _mm256_and_si256(x, mask);
            hi[g] = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
        const __m256 off = row_offsets(b[i], d);
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i p = _mm256_maddubs_epi16(lo[0], act_quad(a.qs));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(lo[1], act_quad(a.qs + 4)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(lo[2], act_quad(a.qs + 8)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(lo[3], act_quad(a.qs + 12)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[0], act_quad(a.qs + 16)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[1], act_quad(a.qs + 20)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[2], act_quad(a.qs + 24)));
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(hi[3], act_quad(a.qs + 28)));
            const __m256 sum = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
            acc[c] = _mm256_fmadd_ps(sum, _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[c]);
            acc[c] = _mm256_fmadd_ps(off, _mm256_set1_ps(a.s), acc[c]);   // s = a.d * sum(a.qs)
        }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

// The fifth bits of group k (0..7) of a packed Q5_0 block, as 0x10 in each byte that has one.
template <int K>
inline __m256i fifth_bits(__m256i qh) {
    const __m256i at4 = K <= 4 ? _mm256_slli_epi16(qh, 4 - K) : _mm256_srli_epi16(qh, K - 4);
    return _mm256_and_si256(at4, _mm256_set1_epi8(0x10));
}

// Q5_0 / Q5_1: 5-bit quants (nibble | fifth bit << 4), x = d * (q - 16) or d * q + m. A pair of
// products reaches 2 * 31 * 127 = 7874, so the eight groups are summed in int16 as two halves
// of four.
template <typename Block, int NC>
void packed_kernel_q5(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const Block* b = (const Block*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, 16);
        const __m256i qh = _mm256_loadu_si256((const __m256i*)b[i].qh);
        const __m256i fifth[8] = {fifth_bits<0>(qh), fifth_bits<1>(qh), fifth_bits<2>(qh), fifth_bits<3>(qh),
                                  fifth_bits<4>(qh), fifth_bits<5>(qh), fifth_bits<6>(qh), fifth_bits<7>(qh)};
        __m256i q[8];
        for (int g = 0; g < 4; ++g) {
            const __m256i x = _mm256_loadu_si256((const __m256i*)(b[i].qs + 32 * g));
            q[g] = _mm256_or_si256(_mm256_and_si256(x, mask), fifth[g]);
            q[g + 4] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x, 4), mask), fifth[g + 4]);
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
        __m256 off;
        if constexpr (sizeof(Block) == sizeof(block_q5_1x8)) off = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].m));
        else off = _mm256_mul_ps(d, _mm256_set1_ps(-16.0f));
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i lo = _mm256_maddubs_epi16(q[0], act_quad(a.qs));
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(q[1], act_quad(a.qs + 4)));
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(q[2], act_quad(a.qs + 8)));
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(q[3], act_quad(a.qs + 12)));
            __m256i hi = _mm256_maddubs_epi16(q[4], act_quad(a.qs + 16));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(q[5], act_quad(a.qs + 20)));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(q[6], act_quad(a.qs + 24)));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(q[7], act_quad(a.qs + 28)));
            const __m256i s32 = _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[c]);
            acc[c] = _mm256_fmadd_ps(off, _mm256_set1_ps(a.s), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

// Q8_0's signed quants: the sign moves onto the activations (_mm256_sign_epi8) so maddubs can
// take |w|. A pair of products reaches 2 * 127 * 127 = 32258, so no two int16 sums can be added:
// each group gets its own madd. The eight |w| registers are kept for all columns, which leaves
// room for four accumulators (more columns run as further passes over the L1-resident rows).
template <int NC>
void packed_kernel_q8_0(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const block_q8_0x8* b = (const block_q8_0x8*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, 12);
        __m256i mag[8];
        for (int g = 0; g < 8; ++g) mag[g] = _mm256_abs_epi8(_mm256_loadu_si256((const __m256i*)(b[i].qs + 32 * g)));
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            __m256i s = _mm256_setzero_si256();
            for (int g = 0; g < 8; ++g) {
                const __m256i wq = _mm256_loadu_si256((const __m256i*)(b[i].qs + 32 * g));
                const __m256i p = _mm256_maddubs_epi16(mag[g], _mm256_sign_epi8(act_quad(a.qs + 4 * g), wq));
                s = _mm256_add_epi32(s, _mm256_madd_epi16(p, ones));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

template <typename Block>
struct Unsigned {
    template <int NC>
    static void run(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
        packed_kernel<Block, NC>(n, w, acts, out, ldo);
    }
};
template <typename Block>
struct Five {
    template <int NC>
    static void run(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
        packed_kernel_q5<Block, NC>(n, w, acts, out, ldo);
    }
};
struct Signed8 {
    template <int NC>
    static void run(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
        packed_kernel_q8_0<NC>(n, w, acts, out, ldo);
    }
};

// Columns in passes of at most MaxCols (each pass a whole sweep over the group's blocks).
template <typename K, int MaxCols = kTileMaxCols>
void dispatch(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K::template run<1>, K::template run<2>, K::template run<3>,
                                                     K::template run<4>, K::template run<5>, K::template run<6>,
                                                     K::template run<7>, K::template run<8>};
    for (int c0 = 0; c0 < n_cols; c0 += MaxCols) {
        const int k = n_cols - c0 < MaxCols ? n_cols - c0 : MaxCols;
        kernels[k - 1](n, w, acts + c0, out + c0 * ldo, ldo);
    }
}

}  // namespace

void vec_dot_packed_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Unsigned<block_q4_0x8>>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Unsigned<block_q4_1x8>>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Five<block_q5_0x8>>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Five<block_q5_1x8>>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Signed8, 4>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
