// AVX-512 VNNI kernels for packed Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 (VecDotPackedFn over the 16-row
// layouts block_*x16 in quant/blocks.h; why in quant/packed_avx512.h): sixteen rows against
// 1..8 A8_32 activation rows. legacy_packed_avx2.cpp is the same arithmetic on eight rows; the
// integer sums and the float steps per row match it exactly.
//
// Per block, eight registers of quants (four bytes of every row each) meet the column's matching
// four activation bytes, broadcast; vpdpbusd adds each row's four products into its int32 lane.
#if defined(__AVX512VNNI__)
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/legacy_kernels.h"
#include "quant/packed_avx512.h"
#include "quant/types.h"

namespace llmrt::avx512 {
namespace {

// What the 4- and 5-bit formats differ in: fifth bits in qh, and the per-row term multiplied by
// the column's s (x = d * q + m with a minimum, d * (q - centre) without); prefetch distance
// (~3-4 KiB ahead).
template <typename Block> struct Nibbles;
template <> struct Nibbles<block_q4_0x16> { static constexpr bool five = false, min = false; static constexpr float centre = 8; static constexpr int ahead = 12; };
template <> struct Nibbles<block_q4_1x16> { static constexpr bool five = false, min = true; static constexpr float centre = 0; static constexpr int ahead = 12; };
template <> struct Nibbles<block_q5_0x16> { static constexpr bool five = true, min = false; static constexpr float centre = 16; static constexpr int ahead = 8; };
template <> struct Nibbles<block_q5_1x16> { static constexpr bool five = true, min = true; static constexpr float centre = 0; static constexpr int ahead = 8; };

// The fifth bits of group k (0..7) of a packed Q5 block, as 0x10 in each byte that has one.
template <int K>
inline __m512i fifth_bits(__m512i qh) {
    const __m512i at4 = K <= 4 ? _mm512_slli_epi16(qh, 4 - K) : _mm512_srli_epi16(qh, K - 4);
    return _mm512_and_si512(at4, _mm512_set1_epi8(0x10));
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1: q[g] = low nibbles of group g (elements 4g..), q[g + 4] = its high
// nibbles, each with its fifth bit (<< 4) for the 5-bit formats.
template <typename Block, int NC>
void packed_kernel(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    using F = Nibbles<Block>;
    const Block* b = (const Block*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m512i mask = _mm512_set1_epi8(0x0F);
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, F::ahead);
        __m512i q[8];
        for (int g = 0; g < 4; ++g) {
            const __m512i x = load64(b[i].qs + 64 * g);
            q[g] = _mm512_and_si512(x, mask);
            q[g + 4] = _mm512_and_si512(_mm512_srli_epi16(x, 4), mask);
        }
        if constexpr (F::five) {
            const __m512i qh = load64(b[i].qh);
            const __m512i fifth[8] = {fifth_bits<0>(qh), fifth_bits<1>(qh), fifth_bits<2>(qh), fifth_bits<3>(qh),
                                      fifth_bits<4>(qh), fifth_bits<5>(qh), fifth_bits<6>(qh), fifth_bits<7>(qh)};
            for (int g = 0; g < 8; ++g) q[g] = _mm512_or_si512(q[g], fifth[g]);
        }
        const __m512 d = halves16(b[i].d);
        __m512 off;
        if constexpr (F::min) off = halves16(b[i].m);
        else off = _mm512_mul_ps(d, _mm512_set1_ps(-F::centre));
        for (int c = 0; c < NC; ++c) {
            // acc += d * a.d * sum + off * a.s (s = a.d * sum(a.qs)), in the AVX2 kernels' order
            const block_a8_32& a = y[c][i];
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot32(q, a.qs)), _mm512_mul_ps(d, _mm512_set1_ps(a.d)), acc[c]);
            acc[c] = _mm512_fmadd_ps(off, _mm512_set1_ps(a.s), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

// Q8_0's signed quants: vpdpbusd takes |w| as the unsigned operand and the activation bytes
// negated where w < 0 (one masked subtract per group and column; AVX-512 has no vpsignb).
// |-128| is 0x80, which reads as 128 unsigned: still exact. Groups go in two halves of four so
// the sign masks fit the mask registers.
template <int NC>
void packed_kernel_q8_0(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const block_q8_0x16* b = (const block_q8_0x16*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, 6);
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = zero;
        for (int h = 0; h < 2; ++h) {
            __m512i mag[4];
            __mmask64 neg[4];
            for (int g = 0; g < 4; ++g) {
                const __m512i x = load64(b[i].qs + 64 * (4 * h + g));
                mag[g] = _mm512_abs_epi8(x);
                neg[g] = _mm512_movepi8_mask(x);
            }
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = y[c][i].qs + 16 * h;
                for (int g = 0; g < 4; ++g) {
                    const __m512i av = bcast32(a + 4 * g);
                    isum[c] = _mm512_dpbusd_epi32(isum[c], mag[g], _mm512_mask_sub_epi8(av, neg[g], zero, av));
                }
            }
        }
        const __m512 d = halves16(b[i].d);
        for (int c = 0; c < NC; ++c)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, _mm512_set1_ps(y[c][i].d)), acc[c]);
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

template <template <int> class K>
void dispatch(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                     K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

template <int NC> struct Q4_0 { static constexpr Kernel run = packed_kernel<block_q4_0x16, NC>; };
template <int NC> struct Q4_1 { static constexpr Kernel run = packed_kernel<block_q4_1x16, NC>; };
template <int NC> struct Q5_0 { static constexpr Kernel run = packed_kernel<block_q5_0x16, NC>; };
template <int NC> struct Q5_1 { static constexpr Kernel run = packed_kernel<block_q5_1x16, NC>; };
template <int NC> struct Q8_0 { static constexpr Kernel run = packed_kernel_q8_0<NC>; };

}  // namespace

void vec_dot_packed_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Q4_0>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Q4_1>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Q5_0>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Q5_1>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<Q8_0>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::avx512
#endif  // __AVX512VNNI__
