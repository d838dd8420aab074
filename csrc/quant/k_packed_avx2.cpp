// AVX2 kernels for packed Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (VecDotPackedFn; layouts block_q4_Kx8 / block_q6_Kx8 in
// quant/blocks.h, why in quant/packed.h): eight rows against 1..8 A8_256 activation rows. Scalar
// references: vec_dot_q4_k_ref / vec_dot_q6_k_ref of each (row, column).
//
// Per 32-element sub-block, eight 32-byte registers hold 4 elements of each of the eight rows;
// the column's matching 4 activation bytes are broadcast. The eight maddubs products add up in
// int16 (at most 8 * 2 * 15 * 127 = 30480), one madd multiplies them by each row's 6-bit scale
// while widening, and the int32 sums run over the super-block (at most 8 * 2 * 30480 * 63 <
// 2^31): one float conversion per super-block for eight rows. The mins take four madds of the
// rows' min pairs against the column's 32-element activation sums.
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstring>

#include "quant/blocks.h"
#include "quant/k_quants_internal.h"
#include "quant/packed_avx2.h"
#include "quant/types.h"

namespace llmrt::kq {
namespace {

using avx2::act_quad;
using avx2::prefetch_block;

// Sub-block s's scale of each row as the two int16 of the row's lane (the madd multiplier).
template <typename Block>
inline __m256i sub_block_scales(const Block& b, int s) {
    const __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)b.sc[s]));
    return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

// The column's eight 32-element activation sums as int16, [s0..s7 | s0..s7]: 32-bit lane k
// holds the pair (s2k, s2k+1).
inline __m256i sub_block_sums(const block_a8_256& a) {
    const __m256i pairs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)a.bsums), _mm256_set1_epi16(1));
    const __m256i packed = _mm256_packs_epi32(pairs, pairs);
    return _mm256_permute4x64_epi64(packed, 0x88);
}

// Bit s of every byte of qh moved to bit 4 (0x10), the rest cleared: a Q5_K element's fifth bit
// beside its nibble. 16-bit shifts are safe: bits 0..7 only move within their byte to bit 4.
inline __m256i fifth_bits(__m256i qh, int s) {
    const __m256i at4 = s <= 4 ? _mm256_sll_epi16(qh, _mm_cvtsi32_si128(4 - s)) : _mm256_srl_epi16(qh, _mm_cvtsi32_si128(s - 4));
    return _mm256_and_si256(at4, _mm256_set1_epi8(0x10));
}

// Q4_K, and Q5_K (Block block_q5_Kx8: levels up to 31 with the fifth bits from qh). A pair of
// Q5_K products reaches 2 * 31 * 127 = 7874, so its eight groups are summed in int16 as two
// halves of four, each widened by the scale madd.
template <typename Block, int NC>
void packed_kernel_q45_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    constexpr bool kFive = sizeof(Block) == sizeof(block_q5_Kx8);
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m256i mask = _mm256_set1_epi8(0x0F);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 1184 (Q4_K) or 1440 (Q5_K) bytes
        __m256i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
            for (int h = 0; h < 2; ++h) {  // sub-block 2j (low nibbles), 2j + 1 (high nibbles)
                __m256i v[8];
                for (int g = 0; g < 8; ++g) {
                    const __m256i x = _mm256_loadu_si256((const __m256i*)(b[i].qs + 256 * j + 32 * g));
                    v[g] = _mm256_and_si256(h == 0 ? x : _mm256_srli_epi16(x, 4), mask);
                    if constexpr (kFive)
                        v[g] = _mm256_or_si256(v[g], fifth_bits(_mm256_loadu_si256((const __m256i*)(b[i].qh + 32 * g)), 2 * j + h));
                }
                const __m256i scale = sub_block_scales(b[i], 2 * j + h);
                for (int c = 0; c < NC; ++c) {
                    const int8_t* a = y[c][i].qs + 64 * j + 32 * h;
                    __m256i p = _mm256_maddubs_epi16(v[0], act_quad(a));
                    if constexpr (kFive) {
                        __m256i p2 = _mm256_maddubs_epi16(v[4], act_quad(a + 16));
                        for (int g = 1; g < 4; ++g) {
                            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[g], act_quad(a + 4 * g)));
                            p2 = _mm256_add_epi16(p2, _mm256_maddubs_epi16(v[g + 4], act_quad(a + 16 + 4 * g)));
                        }
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(p, scale),
                                                                             _mm256_madd_epi16(p2, scale)));
                    } else {
                        for (int g = 1; g < 8; ++g) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(v[g], act_quad(a + 4 * g)));
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, scale));
                    }
                }
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].dmin));
        __m256i mins_of[4];
        for (int k = 0; k < 4; ++k) mins_of[k] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)b[i].mn[k]));
        for (int c = 0; c < NC; ++c) {
            const __m256 da = _mm256_set1_ps(y[c][i].d);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, da), acc[c]);
            const __m256i bs = sub_block_sums(y[c][i]);
            __m256i m = _mm256_madd_epi16(mins_of[0], _mm256_shuffle_epi32(bs, 0x00));
            m = _mm256_add_epi32(m, _mm256_madd_epi16(mins_of[1], _mm256_shuffle_epi32(bs, 0x55)));
            m = _mm256_add_epi32(m, _mm256_madd_epi16(mins_of[2], _mm256_shuffle_epi32(bs, 0xAA)));
            m = _mm256_add_epi32(m, _mm256_madd_epi16(mins_of[3], _mm256_shuffle_epi32(bs, 0xFF)));
            acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, da), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

// Q6_K: 6-bit levels q (value d * scale * (q - 32)) rebuilt four quads at a time from one ql pair
// and one qh register. A pair of products reaches 2 * 63 * 127 = 16002, so every quad gets its own
// madd, which also applies the sub-block's signed scale; the -32 comes off once per super-block
// as 32 * sum over sub-blocks of scale * (the column's 16-element activation sum).
inline __m256i signed_scale_pairs(const int8_t* sc8) {   // lane r: (sc[r], sc[r]) as int16
    const __m256i x = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)sc8));
    return _mm256_blend_epi16(x, _mm256_slli_epi32(x, 16), 0xAA);
}

// The end of a super-block of the offset formats (Q6_K: q - 32, Q3_K: q - 4): per row,
// total = isum - 2^Shift * sum over sub-blocks s of scale_s * (the column's 16-element sum s),
// then acc += d * a.d * total.
template <int NC, int Shift>
inline void finish_offset_levels(const int8_t (*sc)[8], const half_bits* d16, const block_a8_256* const* y, int64_t i,
                                 const __m256i* isum, __m256* acc) {
    __m256i pairs[8];   // lane r: (scale 2k, scale 2k + 1) of row r as int16
    for (int k = 0; k < 8; ++k)
        pairs[k] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i*)sc[2 * k]),
                                                           _mm_loadl_epi64((const __m128i*)sc[2 * k + 1])));
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)d16));
    for (int c = 0; c < NC; ++c) {
        const __m256i bs = _mm256_loadu_si256((const __m256i*)y[c][i].bsums);  // lane k: (s2k, s2k+1)
        __m256i offs = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k)
            offs = _mm256_add_epi32(offs, _mm256_madd_epi16(pairs[k], _mm256_permutevar8x32_epi32(bs, _mm256_set1_epi32(k))));
        const __m256i total = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(offs, Shift));
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(d, _mm256_set1_ps(y[c][i].d)), acc[c]);
    }
}

template <int NC>
void packed_kernel_q6_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const block_q6_Kx8* b = (const block_q6_Kx8*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 1680 bytes
        __m256i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm256_setzero_si256();
        __m256i scale[4];
        for (int m = 0; m < 16; ++m) {
            if (m % 4 == 0)
                for (int k = 0; k < 4; ++k) scale[k] = signed_scale_pairs(b[i].sc[4 * k + m / 4]);
            const __m256i lo = _mm256_loadu_si256((const __m256i*)(b[i].ql + 32 * m));
            const __m256i hi = _mm256_loadu_si256((const __m256i*)(b[i].ql + 32 * (m + 16)));
            const __m256i h = _mm256_loadu_si256((const __m256i*)(b[i].qh + 32 * m));
            // quads m, m + 16, m + 32, m + 48 (sub-blocks m/4, 4 + m/4, 8 + m/4, 12 + m/4)
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(lo, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45)),
                _mm256_or_si256(_mm256_and_si256(hi, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lo, 4), low4), _mm256_and_si256(h, bits45)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(hi, 4), low4),
                                _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45))};
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = y[c][i].qs;
                for (int k = 0; k < 4; ++k) {
                    const __m256i p = _mm256_maddubs_epi16(q[k], act_quad(a + 4 * (m + 16 * k)));
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, scale[k]));
                }
            }
        }
        finish_offset_levels<NC, 5>(b[i].sc, b[i].d, y, i, isum, acc);
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

// Q2_K and Q3_K (block_q2_Kx8 / block_q3_Kx8), both 16-element sub-blocks of small levels:
// - Q2_K: 2-bit levels q, x = d * sc * q - dmin * m; the minimums take eight madds of the rows'
//   minimum pairs against the column's 16-element sums once per super-block.
// - Q3_K: 3-bit levels q (value d * scale * (q - 4)), two low bits from ql and the third from qh;
//   the -4 comes off once per super-block, as Q6_K's -32.
// A sub-block's four quads add up in int16 (at most 4 * 2 * 7 * 127 = 7112) and one madd applies
// its scale (unsigned for Q2_K, signed for Q3_K).
template <typename Block, int NC>
void packed_kernel_q23_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    constexpr bool kThree = sizeof(Block) == sizeof(block_q3_Kx8);
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m256i low2 = _mm256_set1_epi8(0x03), bit2 = _mm256_set1_epi8(0x04);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 800 (Q2_K) or 912 (Q3_K) bytes
        __m256i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm256_setzero_si256();
        for (int s = 0; s < 16; ++s) {   // sub-block s: quads m = 4s .. 4s + 3
            __m256i q[4];
            for (int u = 0; u < 4; ++u) {
                const int m = 4 * s + u;
                const __m256i l = _mm256_loadu_si256((const __m256i*)(b[i].ql + 32 * (m % 16)));
                q[u] = _mm256_and_si256(_mm256_srl_epi16(l, _mm_cvtsi32_si128(2 * (m / 16))), low2);
                if constexpr (kThree) {
                    const __m256i h = _mm256_loadu_si256((const __m256i*)(b[i].qh + 32 * (m % 8)));
                    const int hb = m / 8;   // qh bit of quad m, moved to bit 2 (16-bit shifts stay in-byte)
                    const __m256i h2 = hb <= 2 ? _mm256_sll_epi16(h, _mm_cvtsi32_si128(2 - hb))
                                               : _mm256_srl_epi16(h, _mm_cvtsi32_si128(hb - 2));
                    q[u] = _mm256_or_si256(q[u], _mm256_and_si256(h2, bit2));
                }
            }
            __m256i scale;
            if constexpr (kThree) scale = signed_scale_pairs(b[i].sc[s]);
            else scale = sub_block_scales(b[i], s);
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = y[c][i].qs + 16 * s;
                __m256i p = _mm256_maddubs_epi16(q[0], act_quad(a));
                for (int u = 1; u < 4; ++u) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(q[u], act_quad(a + 4 * u)));
                isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, scale));
            }
        }
        if constexpr (kThree) {
            finish_offset_levels<NC, 2>(b[i].sc, b[i].d, y, i, isum, acc);
        } else {
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
            const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].dmin));
            __m256i mins_of[8];  // lane r: (min 2k, min 2k + 1) of row r as int16
            for (int k = 0; k < 8; ++k) mins_of[k] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)b[i].mn[k]));
            for (int c = 0; c < NC; ++c) {
                const __m256 da = _mm256_set1_ps(y[c][i].d);
                acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, da), acc[c]);
                const __m256i bs = _mm256_loadu_si256((const __m256i*)y[c][i].bsums);  // lane k: (s2k, s2k+1)
                __m256i m = _mm256_setzero_si256();
                for (int k = 0; k < 8; ++k)
                    m = _mm256_add_epi32(m, _mm256_madd_epi16(mins_of[k], _mm256_permutevar8x32_epi32(bs, _mm256_set1_epi32(k))));
                acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, da), acc[c]);
            }
        }
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

// The kernel for each column count 1..kTileMaxCols, picked at run time.
template <template <int> class K>
void by_columns(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                     K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

template <int NC> struct Q2 { static constexpr Kernel run = packed_kernel_q23_k<block_q2_Kx8, NC>; };
template <int NC> struct Q3 { static constexpr Kernel run = packed_kernel_q23_k<block_q3_Kx8, NC>; };
template <int NC> struct Q4 { static constexpr Kernel run = packed_kernel_q45_k<block_q4_Kx8, NC>; };
template <int NC> struct Q5 { static constexpr Kernel run = packed_kernel_q45_k<block_q5_Kx8, NC>; };
template <int NC> struct Q6 { static constexpr Kernel run = packed_kernel_q6_k<NC>; };

}  // namespace

void vec_dot_packed_q2_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                              int64_t ldo) {
    by_columns<Q2>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q3_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                              int64_t ldo) {
    by_columns<Q3>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q4_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                              int64_t ldo) {
    by_columns<Q4>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                              int64_t ldo) {
    by_columns<Q5>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q6_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                              int64_t ldo) {
    by_columns<Q6>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::kq
#endif  // __AVX2__
