// AVX2 dot products of the lattice i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) and TQ2_0
// with A8_256 activations.
//
// Lattice types: a register takes 4 groups of 8 (quant/iq_lattice.h): their magnitude patterns
// are gathered from the tables with scalar loads (the indices are packed too irregularly for a
// vector gather to pay), the sign bits are spread to one byte mask per element and applied to
// the activations (x ^ m) - m, and maddubs multiplies the unsigned magnitudes (at most 62) with
// them; the widening madd applies each group's odd scale 2 ls + 1.
// TQ2_0: the 2-bit fields t + 1 in 0..2 go into maddubs unsigned, and sum(a) (from the
// activations' 16-element sums) takes the + 1 off.
#if defined(__AVX2__)
#include <immintrin.h>

#include "quant/iq_lattice.h"
#include "runtime/simd_avx2.h"

namespace llmrt::iq {
namespace {

using simd::hsum;

inline __m256i load256(const void* p) { return _mm256_loadu_si256((const __m256i*)p); }

// 0xFF in every byte whose element the group's sign byte marks negative.
inline __m256i sign_masks(const Group8* g) {
    const uint32_t s4 = (uint32_t)g[0].signs | (uint32_t)g[1].signs << 8 | (uint32_t)g[2].signs << 16 |
                        (uint32_t)g[3].signs << 24;
    // byte 8j + i takes sign byte j (both lanes hold all four), then keeps bit i
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201ull);
    const __m256i picked = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)s4), spread), bit);
    return _mm256_cmpeq_epi8(picked, bit);
}

// A group's scale in its four int16 lanes.
inline int64_t scale4(int s) { return (int64_t)((uint64_t)(uint16_t)s * 0x0001000100010001ull); }

template <typename Block, Group8 (*Group)(const Block&, int), int Div>
float dot_lattice(int64_t n, const void* w, const void* act) {
    const Block* b = (const Block*)w;
    const block_a8_256* a = (const block_a8_256*)act;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        __m256i isum = _mm256_setzero_si256();
        for (int r = 0; r < 8; ++r) {
            Group8 g[4];
            for (int j = 0; j < 4; ++j) g[j] = Group(b[i], 4 * r + j);
            const __m256i mag = _mm256_set_epi64x((int64_t)g[3].grid, (int64_t)g[2].grid, (int64_t)g[1].grid,
                                                  (int64_t)g[0].grid);
            const __m256i neg = sign_masks(g);
            const __m256i av = _mm256_sub_epi8(_mm256_xor_si256(load256(a[i].qs + 32 * r), neg), neg);
            const __m256i scales = _mm256_set_epi64x(scale4(g[3].scale), scale4(g[2].scale), scale4(g[1].scale),
                                                     scale4(g[0].scale));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(mag, av), scales));
        }
        const float d = _cvtsh_ss(b[i].d) * a[i].d * (1.0f / (float)Div);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum(acc);
}

}  // namespace

float vec_dot_iq2_xxs_avx2(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_xxs, group_iq2_xxs, 8>(n, w, a); }
float vec_dot_iq2_xs_avx2(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_xs, group_iq2_xs, 8>(n, w, a); }
float vec_dot_iq2_s_avx2(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_s, group_iq2_s, 8>(n, w, a); }
float vec_dot_iq3_xxs_avx2(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq3_xxs, group_iq3_xxs, 4>(n, w, a); }
float vec_dot_iq3_s_avx2(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq3_s, group_iq3_s, 1>(n, w, a); }

float vec_dot_tq2_0_avx2(int64_t n, const void* w, const void* act) {
    const block_tq2_0* b = (const block_tq2_0*)w;
    const block_a8_256* a = (const block_a8_256*)act;
    const __m256i low2 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        __m256i isum = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load256(b[i].qs + 32 * h);
            for (int k = 0; k < 4; ++k) {
                const __m256i t = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), low2);
                const __m256i p = _mm256_maddubs_epi16(t, load256(a[i].qs + 128 * h + 32 * k));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, ones));
            }
        }
        // minus sum(a): the 16 activation sums, widened and subtracted lane-wise
        isum = _mm256_sub_epi32(isum, _mm256_madd_epi16(load256(a[i].bsums), ones));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(b[i].d) * a[i].d), _mm256_cvtepi32_ps(isum), acc);
    }
    return hsum(acc);
}

}  // namespace llmrt::iq
#endif  // __AVX2__
