// AVX-512 VNNI kernels for packed Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (VecDotPackedFn over the 16-row
// layouts block_q3_Kx16 ... block_q6_Kx16 in quant/blocks.h; why in quant/packed_avx512.h): sixteen rows
// against 1..8 A8_256 activation rows. k_packed_avx2.cpp is the same arithmetic on eight
// rows: the same int32 sums per super-block, the same float steps in the same order.
//
// vpdpbusd sums four products per row lane in int32, so a sub-block's products are summed
// before its scale is applied (one vpmulld per sub-block and column) instead of inside the
// widening madd as on AVX2; the integers are equal either way.
#if defined(__AVX512VNNI__)
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/k_quants_internal.h"
#include "quant/packed_avx512.h"
#include "quant/types.h"

namespace llmrt::kq {
namespace {

using avx512::bcast32;
using avx512::bytes16_i32;
using avx512::bytes16_u32;
using avx512::dot32;
using avx512::halves16;
using avx512::load64;
using avx512::prefetch_block;

// The column's eight 32-element activation sums as int16 pairs: word k = (s2k, s2k+1).
inline void sub_block_sum_pairs(const block_a8_256& a, int32_t* pairs) {
    const __m256i sums = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)a.bsums), _mm256_set1_epi16(1));
    const __m128i packed = _mm_packs_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
    _mm_storeu_si128((__m128i*)pairs, packed);
}

// Bit s of every byte of qh moved to bit 4 (0x10), the rest cleared (see k_packed_avx2.cpp).
inline __m512i fifth_bits(__m512i qh, int s) {
    const __m512i at4 = s <= 4 ? _mm512_sll_epi16(qh, _mm_cvtsi32_si128(4 - s)) : _mm512_srl_epi16(qh, _mm_cvtsi32_si128(s - 4));
    return _mm512_and_si512(at4, _mm512_set1_epi8(0x10));
}

// Q4_K, and Q5_K (Block block_q5_Kx16: the fifth bits from qh; int32 sums cannot overflow).
template <typename Block, int NC>
void packed_kernel_q45_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    constexpr bool kFive = sizeof(Block) == sizeof(block_q5_Kx16);
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m512i mask = _mm512_set1_epi8(0x0F);
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 2368 (Q4_K) or 2880 (Q5_K) bytes
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm512_setzero_si512();
        for (int j = 0; j < 4; ++j) {
            for (int h = 0; h < 2; ++h) {  // sub-block 2j (low nibbles), 2j + 1 (high nibbles)
                __m512i v[8];
                for (int g = 0; g < 8; ++g) {
                    const __m512i x = load64(b[i].qs + 512 * j + 64 * g);
                    v[g] = _mm512_and_si512(h == 0 ? x : _mm512_srli_epi16(x, 4), mask);
                    if constexpr (kFive) v[g] = _mm512_or_si512(v[g], fifth_bits(load64(b[i].qh + 64 * g), 2 * j + h));
                }
                const __m512i scale = bytes16_u32(b[i].sc[2 * j + h]);
                for (int c = 0; c < NC; ++c) {
                    const __m512i s = dot32(v, y[c][i].qs + 64 * j + 32 * h);
                    isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(s, scale));
                }
            }
        }
        const __m512 d = halves16(b[i].d);
        const __m512 dmin = halves16(b[i].dmin);
        __m512i mins_of[4];  // lane r: (min 2k, min 2k + 1) of row r as int16
        for (int k = 0; k < 4; ++k) mins_of[k] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)b[i].mn[k]));
        for (int c = 0; c < NC; ++c) {
            const __m512 da = _mm512_set1_ps(y[c][i].d);
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, da), acc[c]);
            alignas(16) int32_t pairs[4];
            sub_block_sum_pairs(y[c][i], pairs);
            __m512i m = _mm512_setzero_si512();
            for (int k = 0; k < 4; ++k) m = _mm512_dpwssd_epi32(m, mins_of[k], _mm512_set1_epi32(pairs[k]));
            acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, da), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

// Q6_K: 6-bit levels q (value d * scale * (q - 32)). Register m of ql / qh holds quads m, m + 16,
// m + 32, m + 48 (sub-blocks m/4, 4 + m/4, 8 + m/4, 12 + m/4), so the four registers m = 4t..4t+3
// cover sub-blocks t, 4 + t, 8 + t and 12 + t whole. Each sub-block's four dpbusd run in one chain
// and take the sub-block's signed scale once; the -32 comes off once per super-block as
// 32 * sum over sub-blocks of scale * (the column's 16-element activation sum), as on AVX2.
// Quads k = 0 and 2 come from the ql low/high nibbles and qh bits 0-1 / 4-5 ... (the layout's
// comment); they go as pairs {0, 2} and {1, 3} so that eight weight registers serve all columns.
template <int K>
inline __m512i q6_levels(__m512i l, __m512i h) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    const __m512i lo = K < 2 ? _mm512_and_si512(l, low4) : _mm512_and_si512(_mm512_srli_epi16(l, 4), low4);
    __m512i hi;
    if constexpr (K == 0) hi = _mm512_slli_epi16(h, 4);
    else if constexpr (K == 1) hi = _mm512_slli_epi16(h, 2);
    else if constexpr (K == 2) hi = h;
    else hi = _mm512_srli_epi16(h, 2);
    return _mm512_or_si512(lo, _mm512_and_si512(hi, bits45));
}

// Quads KA and KB (both from ql registers at offset `base`: 0 for the low half, 16 for the high)
// of registers 4t..4t+3, against every column, into isum.
template <int NC, int KA, int KB>
inline void q6_quad_pair(const block_q6_Kx16& b, int t, int base, const block_a8_256* const* y, int64_t i,
                         __m512i* isum) {
    __m512i qa[4], qb[4];
    for (int u = 0; u < 4; ++u) {
        const int m = 4 * t + u;
        const __m512i l = load64(b.ql + 64 * (m + base));
        const __m512i h = load64(b.qh + 64 * m);
        qa[u] = q6_levels<KA>(l, h);
        qb[u] = q6_levels<KB>(l, h);
    }
    // quad k of register m covers sub-block 4k + m / 4
    const __m512i sa = bytes16_i32(b.sc[4 * KA + t]);
    const __m512i sb = bytes16_i32(b.sc[4 * KB + t]);
    for (int c = 0; c < NC; ++c) {
        const int8_t* q = y[c][i].qs + 16 * t;   // quad 4t + u + 16k at byte 4 * (4t + u + 16k)
        __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qa[0], bcast32(q + 64 * KA));
        __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qb[0], bcast32(q + 64 * KB));
        for (int u = 1; u < 4; ++u) {
            pa = _mm512_dpbusd_epi32(pa, qa[u], bcast32(q + 64 * KA + 4 * u));
            pb = _mm512_dpbusd_epi32(pb, qb[u], bcast32(q + 64 * KB + 4 * u));
        }
        isum[c] = _mm512_add_epi32(isum[c], _mm512_add_epi32(_mm512_mullo_epi32(pa, sa), _mm512_mullo_epi32(pb, sb)));
    }
}

// The end of a super-block of the offset formats (Q6_K: q - 32, Q3_K: q - 4): per row,
// total = isum - 2^Shift * sum over sub-blocks s of scale_s * (the column's 16-element sum s),
// then acc += d * a.d * total.
template <int NC, int Shift>
inline void finish_offset_levels(const int8_t (*sc)[16], const half_bits* d16, const block_a8_256* const* y,
                                 int64_t i, const __m512i* isum, __m512* acc) {
    __m512i pairs[8];   // lane r: (scale 2k, scale 2k + 1) of row r as int16
    for (int k = 0; k < 8; ++k) {
        const __m128i lo = _mm_loadu_si128((const __m128i*)sc[2 * k]);
        const __m128i hi = _mm_loadu_si128((const __m128i*)sc[2 * k + 1]);
        const __m256i rows = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(lo, hi)),
                                                     _mm_unpackhi_epi8(lo, hi), 1);
        pairs[k] = _mm512_cvtepi8_epi16(rows);
    }
    const __m512 d = halves16(d16);
    for (int c = 0; c < NC; ++c) {
        const int16_t* bs = y[c][i].bsums;   // word k: (bsum 2k, bsum 2k + 1)
        __m512i offs = _mm512_setzero_si512();
        for (int k = 0; k < 8; ++k) offs = _mm512_dpwssd_epi32(offs, pairs[k], bcast32(bs + 2 * k));
        const __m512i total = _mm512_sub_epi32(isum[c], _mm512_slli_epi32(offs, Shift));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_mul_ps(d, _mm512_set1_ps(y[c][i].d)), acc[c]);
    }
}

template <int NC>
void packed_kernel_q6_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const block_q6_Kx16* b = (const block_q6_Kx16*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 3360 bytes
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm512_setzero_si512();
        for (int t = 0; t < 4; ++t) {
            q6_quad_pair<NC, 0, 2>(b[i], t, 0, y, i, isum);
            q6_quad_pair<NC, 1, 3>(b[i], t, 16, y, i, isum);
        }
        finish_offset_levels<NC, 5>(b[i].sc, b[i].d, y, i, isum, acc);
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

// Q2_K and Q3_K (block_q2_Kx16 / block_q3_Kx16; what each stores: k_packed_avx2.cpp's
// packed_kernel_q23_k): a sub-block's four quads in one dpbusd chain, then its scale (unsigned
// for Q2_K, signed for Q3_K); Q2_K's minimums and Q3_K's -4 once per super-block.
template <typename Block, int NC>
void packed_kernel_q23_k(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    constexpr bool kThree = sizeof(Block) == sizeof(block_q3_Kx16);
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m512i low2 = _mm512_set1_epi8(0x03), bit2 = _mm512_set1_epi8(0x04);
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 1600 (Q2_K) or 1824 (Q3_K) bytes
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm512_setzero_si512();
        for (int s = 0; s < 16; ++s) {   // sub-block s: quads m = 4s .. 4s + 3
            __m512i q[4];
            for (int u = 0; u < 4; ++u) {
                const int m = 4 * s + u;
                q[u] = _mm512_and_si512(_mm512_srl_epi16(load64(b[i].ql + 64 * (m % 16)), _mm_cvtsi32_si128(2 * (m / 16))),
                                        low2);
                if constexpr (kThree) {
                    const __m512i h = load64(b[i].qh + 64 * (m % 8));
                    const int hb = m / 8;   // qh bit of quad m, moved to bit 2 (16-bit shifts stay in-byte)
                    const __m512i h2 = hb <= 2 ? _mm512_sll_epi16(h, _mm_cvtsi32_si128(2 - hb))
                                               : _mm512_srl_epi16(h, _mm_cvtsi32_si128(hb - 2));
                    q[u] = _mm512_or_si512(q[u], _mm512_and_si512(h2, bit2));
                }
            }
            __m512i scale;
            if constexpr (kThree) scale = bytes16_i32(b[i].sc[s]);
            else scale = bytes16_u32(b[i].sc[s]);
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = y[c][i].qs + 16 * s;
                __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], bcast32(a));
                for (int u = 1; u < 4; ++u) p = _mm512_dpbusd_epi32(p, q[u], bcast32(a + 4 * u));
                isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(p, scale));
            }
        }
        if constexpr (kThree) {
            finish_offset_levels<NC, 2>(b[i].sc, b[i].d, y, i, isum, acc);
        } else {
            const __m512 d = halves16(b[i].d);
            const __m512 dmin = halves16(b[i].dmin);
            __m512i mins_of[8];  // lane r: (min 2k, min 2k + 1) of row r as int16
            for (int k = 0; k < 8; ++k) mins_of[k] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)b[i].mn[k]));
            for (int c = 0; c < NC; ++c) {
                const __m512 da = _mm512_set1_ps(y[c][i].d);
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, da), acc[c]);
                const int16_t* bs = y[c][i].bsums;   // word k: (bsum 2k, bsum 2k + 1)
                __m512i m = _mm512_setzero_si512();
                for (int k = 0; k < 8; ++k) m = _mm512_dpwssd_epi32(m, mins_of[k], bcast32(bs + 2 * k));
                acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(dmin, da), acc[c]);
            }
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

// The kernel for each column count 1..kTileMaxCols, picked at run time.
template <template <int> class K>
void by_columns(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                     K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

template <int NC> struct Q2 { static constexpr Kernel run = packed_kernel_q23_k<block_q2_Kx16, NC>; };
template <int NC> struct Q3 { static constexpr Kernel run = packed_kernel_q23_k<block_q3_Kx16, NC>; };
template <int NC> struct Q4 { static constexpr Kernel run = packed_kernel_q45_k<block_q4_Kx16, NC>; };
template <int NC> struct Q5 { static constexpr Kernel run = packed_kernel_q45_k<block_q5_Kx16, NC>; };
template <int NC> struct Q6 { static constexpr Kernel run = packed_kernel_q6_k<NC>; };

}  // namespace

void vec_dot_packed_q2_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<Q2>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q3_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<Q3>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q4_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<Q4>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<Q5>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q6_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<Q6>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::kq
#endif  // __AVX512VNNI__
