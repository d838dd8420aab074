// AVX2 kernels for packed Q4_0 / Q4_1 (VecDotPackedFn; layout in quant/blocks.h, why in
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
#include "quant/types.h"

namespace llmrt::avx2 {
namespace {

// 4 activation bytes in all eight lanes (a broadcast load: no shuffle).
inline __m256i act_quad(const int8_t* qs) {
    int32_t v;
    std::memcpy(&v, qs, 4);
    return _mm256_set1_epi32(v);
}

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
        _mm_prefetch((const char*)(b + i + 24), _MM_HINT_T0);
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

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

template <typename Block>
void dispatch(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {
        packed_kernel<Block, 1>, packed_kernel<Block, 2>, packed_kernel<Block, 3>, packed_kernel<Block, 4>,
        packed_kernel<Block, 5>, packed_kernel<Block, 6>, packed_kernel<Block, 7>, packed_kernel<Block, 8>};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

}  // namespace

void vec_dot_packed_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<block_q4_0x8>(n, w, acts, n_cols, out, ldo);
}
void vec_dot_packed_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    dispatch<block_q4_1x8>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::avx2
#endif  // __AVX2__
