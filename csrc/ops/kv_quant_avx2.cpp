// AVX2 + F16C + FMA paths of ops/kv_quant.h; compiled with -mavx2 (CMakeLists.txt) and entered
// only after the run-time CPU check in kv_quant.cpp. Register tiles as vec_avx2.cpp's fp16
// kernels, with each block unpacked once per cell and its scale applied to the converted chunk
// (keys) or folded into the probability (values).
#include "ops/kv_quant.h"

#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>

#include <type_traits>

#include "ops/kv_quant_coef.h"
#include "runtime/simd_avx2.h"

namespace llmrt::ops {
namespace {

using simd::hsum;

inline __m256 to_float(__m128i x) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(x)); }

// A block's quants as 4 chunks of 8 floats (unscaled) and its scale d.
template <typename Block> struct Unpacked;

template <> struct Unpacked<block_q8_0> {
    const int8_t* qs;
    float d;
    explicit Unpacked(const block_q8_0& b) : qs(b.qs), d(_cvtsh_ss(b.d)) {}
    __m256 chunk(int c) const { return to_float(_mm_loadl_epi64((const __m128i*)(qs + 8 * c))); }
};

template <> struct Unpacked<block_q4_0> {
    __m128i lo, hi;  // elements 0..15 and 16..31 as int8, offset removed
    float d;
    explicit Unpacked(const block_q4_0& b) : d(_cvtsh_ss(b.d)) {
        const __m128i x = _mm_loadu_si128((const __m128i*)b.qs);
        const __m128i m = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
        lo = _mm_sub_epi8(_mm_and_si128(x, m), eight);
        hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(x, 4), m), eight);
    }
    __m256 chunk(int c) const {
        const __m128i h = c < 2 ? lo : hi;
        return to_float(c & 1 ? _mm_unpackhi_epi64(h, h) : h);
    }
};

// A block's quants as 2 x 16 int16 (elements 0..15, 16..31).
inline void quants_i16(const block_q8_0& b, __m256i& lo, __m256i& hi) {
    lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)b.qs));
    hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(b.qs + 16)));
}

inline void quants_i16(const block_q4_0& b, __m256i& lo, __m256i& hi) {
    const Unpacked<block_q4_0> u(b);
    lo = _mm256_cvtepi8_epi16(u.lo);
    hi = _mm256_cvtepi8_epi16(u.hi);
}

// C cells x G heads of accumulators: per block, each head's exact integer dot product with the
// cell's quants (int8 x int16, pairs summed in int32) goes to float once, scaled by the block's d.
template <typename Block, int C, int G>
void dot_block(QueryI16 q, int64_t n, const Block* const* k, float* out, int64_t out_stride) {
    __m256 acc[C][G];
    for (int c = 0; c < C; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; ++b) {
        const int16_t* qb = q.qi + b * 32;
        for (int c = 0; c < C; ++c) {
            __m256i lo, hi;
            quants_i16(k[c][b], lo, hi);
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(k[c][b].d));
            for (int j = 0; j < G; ++j) {
                const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i*)(qb + j * n))),
                                                   _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i*)(qb + j * n + 16))));
                acc[c][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, acc[c][j]);
            }
        }
    }
    for (int j = 0; j < G; ++j) {
        if constexpr (C == 4) {
            const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(acc[0][j], acc[1][j]), _mm256_hadd_ps(acc[2][j], acc[3][j]));
            const __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
            _mm_storeu_ps(out + j * out_stride, _mm_mul_ps(s, _mm_set1_ps(q.scale[j])));
        } else {
            for (int c = 0; c < C; ++c) out[j * out_stride + c] = hsum(acc[c][j]) * q.scale[j];
        }
    }
}

template <typename Block, int G>
void dot_heads(QueryI16 q, const Block* const* k, int n_rows, int64_t n, float* out, int64_t out_stride) {
    constexpr int C = G <= 2 ? 4 : 2;
    int i = 0;
    for (; i + C <= n_rows; i += C) dot_block<Block, C, G>(q, n, k + i, out + i, out_stride);
    for (; i < n_rows; ++i) dot_block<Block, 1, G>(q, n, k + i, out + i, out_stride);
}

template <typename Block>
void dot_tile(QueryI16 q, int group, const Block* const* k, int n_rows, int64_t n, float* out, int64_t out_stride) {
    for (int j0 = 0; j0 < group; j0 += 4) {
        const QueryI16 qj{q.qi + j0 * n, q.scale + j0};
        float* oj = out + j0 * out_stride;
        switch (group - j0) {
            case 1: dot_heads<Block, 1>(qj, k, n_rows, n, oj, out_stride); break;
            case 2: dot_heads<Block, 2>(qj, k, n_rows, n, oj, out_stride); break;
            case 3: dot_heads<Block, 3>(qj, k, n_rows, n, oj, out_stride); break;
            default: dot_heads<Block, 4>(qj, k, n_rows, n, oj, out_stride); break;
        }
    }
}

// D chunks of 8 output dims x G heads of accumulators over the tile of rows, starting at chunk
// C0 of the block holding element d (a multiple of 32); coef: block_coefficients of the tile.
template <typename Block, int D, int G, int C0>
void axpy_block(float* y, int64_t stride, const float* coef, const Block* const* v, int n_rows, int64_t d) {
    constexpr int NB = (C0 + D + 3) / 4;  // blocks touched
    __m256 acc[D][G];
    for (int c = 0; c < D; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm256_loadu_ps(y + j * stride + d + 8 * (C0 + c));
    for (int i = 0; i < n_rows; ++i) {
        for (int nb = 0; nb < NB; ++nb) {
            const Unpacked<Block> u(v[i][d / 32 + nb]);
            const float* cb = coef + (d / 32 + nb) * kvq::kHeads * kvq::kRows + i;
            __m256 pd[G];
            for (int j = 0; j < G; ++j) pd[j] = _mm256_broadcast_ss(cb + j * kvq::kRows);
            for (int c = nb == 0 ? 0 : 4 * nb - C0; c < D && C0 + c < 4 * (nb + 1); ++c) {
                const __m256 vv = u.chunk((C0 + c) % 4);
                for (int j = 0; j < G; ++j) acc[c][j] = _mm256_fmadd_ps(pd[j], vv, acc[c][j]);
            }
        }
    }
    for (int c = 0; c < D; ++c)
        for (int j = 0; j < G; ++j) _mm256_storeu_ps(y + j * stride + d + 8 * (C0 + c), acc[c][j]);
}

template <typename Block, int G>
void axpy_heads(float* y, int64_t stride, const float* coef, const Block* const* v, int n_rows, int64_t n) {
    int64_t d = 0;
    if constexpr (G == 1)
        for (; d + 64 <= n; d += 64) axpy_block<Block, 8, G, 0>(y, stride, coef, v, n_rows, d);
    for (; d + 32 <= n; d += 32) {
        // whole blocks while the accumulators, the coefficients and a q4_0 block's two
        // unpacked halves fit the 16 registers
        if constexpr (G <= 2 || (G == 3 && std::is_same_v<Block, block_q8_0>)) {
            axpy_block<Block, 4, G, 0>(y, stride, coef, v, n_rows, d);
        } else {
            axpy_block<Block, 2, G, 0>(y, stride, coef, v, n_rows, d);
            axpy_block<Block, 2, G, 2>(y, stride, coef, v, n_rows, d);
        }
    }
}

template <typename Block>
void axpy_tile(float* y, int64_t stride, const float* p, int64_t p_stride, int group, const Block* const* v,
               int n_rows, int64_t n) {
    const auto half = [](uint16_t h) { return _cvtsh_ss(h); };
    kvq::axpy_tiles(y, stride, p, p_stride, group, v, n_rows, n, half,
                    [&](int g, float* yj, const float* coef, const Block* const* vr, int rows) {
                        switch (g) {
                            case 1: return axpy_heads<Block, 1>(yj, stride, coef, vr, rows, n);
                            case 2: return axpy_heads<Block, 2>(yj, stride, coef, vr, rows, n);
                            case 3: return axpy_heads<Block, 3>(yj, stride, coef, vr, rows, n);
                            default: return axpy_heads<Block, 4>(yj, stride, coef, vr, rows, n);
                        }
                    });
}

const KvQuantKernels kAvx2{{dot_tile<block_q8_0>, axpy_tile<block_q8_0>},
                           {dot_tile<block_q4_0>, axpy_tile<block_q4_0>}};

}  // namespace

const KvQuantKernels* kv_quant_kernels_avx2() { return &kAvx2; }

}  // namespace llmrt::ops

#else
namespace llmrt::ops {
const KvQuantKernels* kv_quant_kernels_avx2() { return nullptr; }
}  // namespace llmrt::ops
#endif
