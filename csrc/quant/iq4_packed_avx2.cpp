// AVX2 kernel for packed IQ4_XS (VecDotPackedFn over block_iq4_xsxR<8>, quant/blocks.h): eight rows
// against 1..8 A8_256 activation rows. iq4_packed_avx512.cpp is the same arithmetic on sixteen
// rows: the same int32 sum per row and super-block, the same float steps, so both give the same
// bits (tests/test_simd_levels.py).
//
// Per sub-block, four 32-byte registers hold 4 bytes of nibbles of each of the eight rows; each
// gives two registers of table values (vpshufb, the 16 levels in both lanes). The values are
// signed, so maddubs takes |value| and the column's broadcast activation bytes with the value's
// sign (exact: a pair of products is at most 2 * 127 * 127 < 2^15). Those int16 pairs cannot be
// added to one another without overflow, so each goes straight through a madd with the row's
// signed sub-block scale (the two int16 of its lane) into the int32 sums.
//
// IQ4_NL has no AVX2 packed layout: its AVX-512 kernel takes its +128 offset off in float, which
// this arithmetic could not reproduce bit for bit, and IQ4_NL files are mostly narrow models.
#if defined(__AVX2__)
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/iq_internal.h"
#include "quant/packed_avx2.h"
#include "quant/types.h"

namespace llmrt::iq {
namespace {

using avx2::act_quad;
using avx2::prefetch_block;

using Block = block_iq4_xsxR<8>;

// Sub-block s's signed scale of each row in both int16 halves of the row's lane.
inline __m256i sub_block_scales(const Block& b, int s) {
    const __m256i x = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)b.sc[s]));
    return _mm256_or_si256(_mm256_and_si256(x, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(x, 16));
}

template <int NC>
void packed_kernel_iq4_xs(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)kvalues_iq4nl));
    const __m256i mask = _mm256_set1_epi8(0x0F);
    __m256 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 2);  // 1104 bytes a super-block
        __m256i isum[NC];
        for (int c = 0; c < NC; ++c) isum[c] = _mm256_setzero_si256();
        for (int s = 0; s < 8; ++s) {
            const __m256i scale = sub_block_scales(b[i], s);
            for (int g = 0; g < 4; ++g) {
                const __m256i x = _mm256_loadu_si256((const __m256i*)(b[i].qs + 128 * s + 32 * g));
                for (int h = 0; h < 2; ++h) {  // low nibbles: elements 4g.., high: 16 + 4g..
                    const __m256i idx = _mm256_and_si256(h == 0 ? x : _mm256_srli_epi16(x, 4), mask);
                    const __m256i v = _mm256_shuffle_epi8(table, idx);
                    const __m256i mag = _mm256_sign_epi8(v, v);
                    for (int c = 0; c < NC; ++c) {
                        const __m256i a = act_quad(y[c][i].qs + 32 * s + 16 * h + 4 * g);
                        const __m256i p = _mm256_maddubs_epi16(mag, _mm256_sign_epi8(a, v));
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(p, scale));
                    }
                }
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)b[i].d));
        for (int c = 0; c < NC; ++c)
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(d, _mm256_set1_ps(y[c][i].d)), acc[c]);
    }
    for (int c = 0; c < NC; ++c) _mm256_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

// The kernel for each column count, picked at run time (kept in this file's anonymous namespace:
// see iq4_packed_avx512.cpp).
template <template <int> class K>
void by_columns(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                     K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

template <int NC> struct XS8 { static constexpr Kernel run = packed_kernel_iq4_xs<NC>; };

}  // namespace

void vec_dot_packed_iq4_xs_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo) {
    by_columns<XS8>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::iq
#endif  // __AVX2__
