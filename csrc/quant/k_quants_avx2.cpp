// AVX2 dot products of K-quant weight rows with A8_256 activations.
//
// Per super-block: the raw unsigned quants are unpacked with masks and shifts into bytes,
// multiplied with the signed activation bytes by _mm256_maddubs_epi16 (pairs summed to int16,
// no saturation: at most 2 * 63 * 127), weighted by their group scale with _mm256_madd_epi16
// (to int32), and the block's integer sum is scaled by d and FMA-accumulated in float.
// Minimums and fixed offsets (Q6_K's 32, Q3_K's 4) are applied once per block through the
// activation's 16-element sums, exactly as the scalar reference does (k_quants.cpp).
#if defined(__AVX2__)
#include <immintrin.h>

#include "runtime/simd_avx2.h"

#include "quant/k_quants_internal.h"

namespace llmrt::kq {
namespace {

using simd::hsum;

inline float half_to_float(half_bits h) { return _cvtsh_ss(h); }

inline __m256i load256(const void* p) { return _mm256_loadu_si256((const __m256i*)p); }

// _mm256_shuffle_epi8 masks that broadcast one int16 of each 128-bit lane over that lane:
// kPickSame[j] takes element j in both lanes, kPickPair[k] element 2k in the low lane and 2k+1
// in the high lane. Kept in memory: built in registers, the compiler rematerializes them
// inside the loop for lack of registers.
#define LLMRT_PICK16(j) (uint8_t)(2 * (j)), (uint8_t)(2 * (j) + 1)
#define LLMRT_PICK16x8(j) LLMRT_PICK16(j), LLMRT_PICK16(j), LLMRT_PICK16(j), LLMRT_PICK16(j), \
                          LLMRT_PICK16(j), LLMRT_PICK16(j), LLMRT_PICK16(j), LLMRT_PICK16(j)
alignas(32) const uint8_t kPickSame[8][32] = {
    {LLMRT_PICK16x8(0), LLMRT_PICK16x8(0)}, {LLMRT_PICK16x8(1), LLMRT_PICK16x8(1)},
    {LLMRT_PICK16x8(2), LLMRT_PICK16x8(2)}, {LLMRT_PICK16x8(3), LLMRT_PICK16x8(3)},
    {LLMRT_PICK16x8(4), LLMRT_PICK16x8(4)}, {LLMRT_PICK16x8(5), LLMRT_PICK16x8(5)},
    {LLMRT_PICK16x8(6), LLMRT_PICK16x8(6)}, {LLMRT_PICK16x8(7), LLMRT_PICK16x8(7)},
};
alignas(32) const uint8_t kPickPair[4][32] = {
    {LLMRT_PICK16x8(0), LLMRT_PICK16x8(1)}, {LLMRT_PICK16x8(2), LLMRT_PICK16x8(3)},
    {LLMRT_PICK16x8(4), LLMRT_PICK16x8(5)}, {LLMRT_PICK16x8(6), LLMRT_PICK16x8(7)},
};
#undef LLMRT_PICK16x8
#undef LLMRT_PICK16

inline __m256i pick_same(__m256i v, int j) { return _mm256_shuffle_epi8(v, load256(kPickSame[j])); }
inline __m256i pick_pair(__m256i v, int k) { return _mm256_shuffle_epi8(v, load256(kPickPair[k])); }

// Both 128-bit lanes hold lane `h` of v (h = 0 or 1).
inline __m256i dup_lane(__m256i v, int h) {
    return h ? _mm256_permute2x128_si256(v, v, 0x11) : _mm256_permute2x128_si256(v, v, 0x00);
}

// Q4_K/Q5_K scales then mins as 16 bytes, built in registers (a byte-wise store followed by
// a vector load would stall on store forwarding every super-block).
inline __m128i scales_mins_q45(const uint8_t* packed) {
    uint32_t u[4];
    unpack_scale_min_k4_words(packed, u);
    return _mm_setr_epi32((int)u[0], (int)u[1], (int)u[2], (int)u[3]);
}

}  // namespace

namespace {

// The Q4_K and Q6_K kernels take NC activation rows (columns): each super-block's quants are
// unpacked once and applied to every column, each column with its own accumulators (column c
// gets exactly the NC = 1 result).
template <int NC>
void dot_q4_k(int64_t n, const void* vw, const void* const* acts, float* out) {
    const block_q4_K* w = (const block_q4_K*)vw;
    const block_a8_256* a[NC];
    for (int c = 0; c < NC; ++c) a[c] = (const block_a8_256*)acts[c];
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[NC];
    __m128 acc_m[NC];
    for (int c = 0; c < NC; ++c) {
        acc[c] = _mm256_setzero_ps();
        acc_m[c] = _mm_setzero_ps();
    }
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float wd = half_to_float(w[i].d), wdmin = half_to_float(w[i].dmin);
        const __m256i sm16 = _mm256_cvtepu8_epi16(scales_mins_q45(w[i].scales));  // 8 scales, 8 mins
        const __m128i mins = _mm256_extracti128_si256(sm16, 1);
        __m256i sumi[NC];
        for (int c = 0; c < NC; ++c) {
            // mins: sub-block j covers bsums 2j and 2j+1
            const __m256i bs = load256(a[c][i].bsums);
            const __m128i bs_pair = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            const __m128i prod_m = _mm_madd_epi16(mins, bs_pair);
            acc_m[c] = _mm_fmadd_ps(_mm_set1_ps(a[c][i].d * wdmin), _mm_cvtepi32_ps(prod_m), acc_m[c]);
            sumi[c] = _mm256_setzero_si256();
        }
        const __m256i sc = dup_lane(sm16, 0);  // scales in both lanes
        const uint8_t* q = w[i].qs;
        for (int k = 0; k < 4; ++k) {
            const __m256i qb = load256(q + 32 * k);
            const __m256i lo = _mm256_and_si256(qb, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4);
            const __m256i s_lo = pick_same(sc, 2 * k), s_hi = pick_same(sc, 2 * k + 1);
            for (int c = 0; c < NC; ++c) {
                const int8_t* y = a[c][i].qs;
                const __m256i p_lo = _mm256_maddubs_epi16(lo, load256(y + 64 * k));
                const __m256i p_hi = _mm256_maddubs_epi16(hi, load256(y + 64 * k + 32));
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p_lo, s_lo));
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p_hi, s_hi));
            }
        }
        for (int c = 0; c < NC; ++c)
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(a[c][i].d * wd), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
    }
    for (int c = 0; c < NC; ++c) {
        __m128 m = _mm_add_ps(acc_m[c], _mm_movehl_ps(acc_m[c], acc_m[c]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[c] = hsum(acc[c]) - _mm_cvtss_f32(m);
    }
}

}  // namespace

float vec_dot_q5_k_avx2(int64_t n, const void* vw, const void* va) {
    const block_q5_K* w = (const block_q5_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = a[i].d * half_to_float(w[i].d);
        const float dmin = a[i].d * half_to_float(w[i].dmin);
        const __m256i sm16 = _mm256_cvtepu8_epi16(scales_mins_q45(w[i].scales));  // 8 scales, 8 mins
        const __m256i bs = load256(a[i].bsums);
        const __m128i bs_pair = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i prod_m = _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), bs_pair);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod_m), acc_m);
        const __m256i sc = dup_lane(sm16, 0);
        const __m256i qh = load256(w[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        const uint8_t* q = w[i].qs;
        const int8_t* y = a[i].qs;
        for (int c = 0; c < 4; ++c) {
            const __m256i qb = load256(q + 32 * c);
            // bit 2c of qh is bit 4 of the low sub-block's quant, bit 2c+1 of the high one's
            const __m256i h_lo = 2 * c <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * c) : _mm256_srli_epi16(qh, 2 * c - 4);
            const __m256i h_hi = 2 * c + 1 <= 4 ? _mm256_slli_epi16(qh, 3 - 2 * c) : _mm256_srli_epi16(qh, 2 * c - 3);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_and_si256(h_lo, bit4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), _mm256_and_si256(h_hi, bit4));
            const __m256i p_lo = _mm256_maddubs_epi16(lo, load256(y + 64 * c));
            const __m256i p_hi = _mm256_maddubs_epi16(hi, load256(y + 64 * c + 32));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_lo, pick_same(sc, 2 * c)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p_hi, pick_same(sc, 2 * c + 1)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    return hsum(acc) - _mm_cvtss_f32(acc_m);
}

namespace {

template <int NC>
void dot_q6_k(int64_t n, const void* vw, const void* const* acts, float* out) {
    const block_q6_K* w = (const block_q6_K*)vw;
    const block_a8_256* a[NC];
    for (int c = 0; c < NC; ++c) a[c] = (const block_a8_256*)acts[c];
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float wd = half_to_float(w[i].d);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)w[i].scales));
        // the -32 offset: 32 * sum_g scale_g * bsums_g
        __m256i sumi[NC];
        for (int c = 0; c < NC; ++c) {
            sumi[c] = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(a[c][i].bsums)), 5);
            sumi[c] = _mm256_sub_epi32(_mm256_setzero_si256(), sumi[c]);
        }
        for (int h = 0; h < 2; ++h) {
            const __m256i ql0 = load256(w[i].ql + 64 * h);
            const __m256i ql1 = load256(w[i].ql + 64 * h + 32);
            const __m256i qh = load256(w[i].qh + 32 * h);
            // quarter k: low nibble from ql0/ql1, 2 high bits from qh bits 2k..2k+1, moved to bits 4..5
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30)),
            };
            const __m256i sch = dup_lane(sc16, h);  // the 8 group scales of this half, in both lanes
            for (int k = 0; k < 4; ++k) {
                const __m256i s = pick_pair(sch, k);
                for (int c = 0; c < NC; ++c) {
                    const __m256i p = _mm256_maddubs_epi16(q[k], load256(a[c][i].qs + 128 * h + 32 * k));
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p, s));
                }
            }
        }
        for (int c = 0; c < NC; ++c)
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(a[c][i].d * wd), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]);
}

template <template <int> class K>
struct Multi {
    static void run(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
        switch (n_cols) {
            case 1: K<1>::f(n, w, acts, out); break;
            case 2: K<2>::f(n, w, acts, out); break;
            case 3: K<3>::f(n, w, acts, out); break;
            default: K<4>::f(n, w, acts, out); break;
        }
    }
};
template <int NC> struct Q4K { static void f(int64_t n, const void* w, const void* const* a, float* o) { dot_q4_k<NC>(n, w, a, o); } };
template <int NC> struct Q6K { static void f(int64_t n, const void* w, const void* const* a, float* o) { dot_q6_k<NC>(n, w, a, o); } };

}  // namespace

float vec_dot_q4_k_avx2(int64_t n, const void* w, const void* a) {
    float r;
    dot_q4_k<1>(n, w, &a, &r);
    return r;
}
float vec_dot_q6_k_avx2(int64_t n, const void* w, const void* a) {
    float r;
    dot_q6_k<1>(n, w, &a, &r);
    return r;
}
void vec_dot_multi_q4_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    Multi<Q4K>::run(n, w, acts, n_cols, out);
}
void vec_dot_multi_q6_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out) {
    Multi<Q6K>::run(n, w, acts, n_cols, out);
}

float vec_dot_q2_k_avx2(int64_t n, const void* vw, const void* va) {
    const block_q2_K* w = (const block_q2_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m256 acc_m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = a[i].d * half_to_float(w[i].d);
        const float dmin = a[i].d * half_to_float(w[i].dmin);
        const __m128i sb = _mm_loadu_si128((const __m128i*)w[i].scales);
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sb, m4));
        const __m256i mn16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), m4));
        const __m256i summ = _mm256_madd_epi16(mn16, load256(a[i].bsums));
        acc_m = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(summ), acc_m);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i qv = load256(w[i].qs + 32 * h);
            const __m256i sch = dup_lane(sc16, h);
            const int8_t* y = a[i].qs + 128 * h;
            for (int j = 0; j < 4; ++j) {
                const __m256i v = _mm256_and_si256(_mm256_srli_epi16(qv, 2 * j), m3);
                const __m256i p = _mm256_maddubs_epi16(v, load256(y + 32 * j));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pick_pair(sch, j)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc) - hsum(acc_m);
}

float vec_dot_q3_k_avx2(int64_t n, const void* vw, const void* va) {
    const block_q3_K* w = (const block_q3_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i bit2 = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = a[i].d * half_to_float(w[i].d);
        uint32_t u[4];
        unpack_scales_q3_k_words(w[i].scales, u);
        const __m128i sc8 = _mm_sub_epi8(_mm_setr_epi32((int)u[0], (int)u[1], (int)u[2], (int)u[3]), _mm_set1_epi8(32));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        // the -4 offset: 4 * sum_g scale_g * bsums_g
        __m256i sumi = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(a[i].bsums)), 2);
        sumi = _mm256_sub_epi32(_mm256_setzero_si256(), sumi);
        const __m256i hm = load256(w[i].hmask);
        for (int h = 0; h < 2; ++h) {
            const __m256i qv = load256(w[i].qs + 32 * h);
            const __m256i sch = dup_lane(sc16, h);
            const int8_t* y = a[i].qs + 128 * h;
            for (int j = 0; j < 4; ++j) {
                const int bit = 4 * h + j;  // hmask bit of elements 128h + 32j .. +31, moved to bit 2
                const __m256i hb = bit >= 2 ? _mm256_srli_epi16(hm, bit - 2) : _mm256_slli_epi16(hm, 2 - bit);
                const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qv, 2 * j), m3),
                                                  _mm256_and_si256(hb, bit2));
                const __m256i p = _mm256_maddubs_epi16(v, load256(y + 32 * j));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pick_pair(sch, j)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum(acc);
}

}  // namespace llmrt::kq
#endif  // __AVX2__
