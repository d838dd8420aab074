// AVX-512 paths of ops/kv_quant.h (16 floats a register, a block is two): compiled with
// -mavx512f/bw/vl (CMakeLists.txt) and entered only after the run-time CPU check in
// kv_quant.cpp. The register tiles of kv_quant_avx2.cpp, wider: 32 registers hold up to 4 cells
// x 4 heads of key accumulators, or 4 blocks of value accumulators for 2 heads.
#include "ops/kv_quant.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__FMA__)
#include <immintrin.h>

#include "ops/kv_quant_coef.h"

namespace llmrt::ops {
namespace {

inline __m512 to_float(__m128i x) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(x)); }

// A block's quants as 2 chunks of 16 floats (unscaled) and its scale d.
template <typename Block> struct Unpacked;

template <> struct Unpacked<block_q8_0> {
    const int8_t* qs;
    float d;
    explicit Unpacked(const block_q8_0& b) : qs(b.qs), d(_cvtsh_ss(b.d)) {}
    __m512 chunk(int c) const { return to_float(_mm_loadu_si128((const __m128i*)(qs + 16 * c))); }
};

template <> struct Unpacked<block_q4_0> {
    __m128i lo, hi;
    float d;
    explicit Unpacked(const block_q4_0& b) : d(_cvtsh_ss(b.d)) {
        const __m128i x = _mm_loadu_si128((const __m128i*)b.qs);
        const __m128i m = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
        lo = _mm_sub_epi8(_mm_and_si128(x, m), eight);
        hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(x, 4), m), eight);
    }
    __m512 chunk(int c) const { return to_float(c == 0 ? lo : hi); }
};

inline __m256 half_sum(__m512 v) {
    return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// A block's 32 quants as int16.
inline __m512i quants_i16(const block_q8_0& b) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i*)b.qs));
}

inline __m512i quants_i16(const block_q4_0& b) {
    const Unpacked<block_q4_0> u(b);
    return _mm512_cvtepi8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(u.lo), u.hi, 1));
}

// C cells x G heads of accumulators; one register of int16 quants per block and head.
template <typename Block, int C, int G>
void dot_block(QueryI16 q, int64_t n, const Block* const* k, float* out, int64_t out_stride) {
    __m512 acc[C][G];
    for (int c = 0; c < C; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / 32; ++b) {
        const int16_t* qb = q.qi + b * 32;
        for (int c = 0; c < C; ++c) {
            const __m512i kq = quants_i16(k[c][b]);
            const __m512 d = _mm512_set1_ps(_cvtsh_ss(k[c][b].d));
            for (int j = 0; j < G; ++j) {
                const __m512i s = _mm512_madd_epi16(kq, _mm512_loadu_si512((const void*)(qb + j * n)));
                acc[c][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), d, acc[c][j]);
            }
        }
    }
    for (int j = 0; j < G; ++j) {
        if constexpr (C == 4) {  // four horizontal sums at once
            const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(half_sum(acc[0][j]), half_sum(acc[1][j])),
                                            _mm256_hadd_ps(half_sum(acc[2][j]), half_sum(acc[3][j])));
            const __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
            _mm_storeu_ps(out + j * out_stride, _mm_mul_ps(s, _mm_set1_ps(q.scale[j])));
        } else {
            for (int c = 0; c < C; ++c) out[j * out_stride + c] = _mm512_reduce_add_ps(acc[c][j]) * q.scale[j];
        }
    }
}

template <typename Block, int G>
void dot_heads(QueryI16 q, const Block* const* k, int n_rows, int64_t n, float* out, int64_t out_stride) {
    int i = 0;
    for (; i + 4 <= n_rows; i += 4) dot_block<Block, 4, G>(q, n, k + i, out + i, out_stride);
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

// NB blocks (2 NB chunks of 16 output dims) x G heads of accumulators over the tile of rows,
// from element d (a multiple of 32); coef: block_coefficients of the tile.
template <typename Block, int NB, int G>
void axpy_block(float* y, int64_t stride, const float* coef, const Block* const* v, int n_rows, int64_t d) {
    __m512 acc[2 * NB][G];
    for (int c = 0; c < 2 * NB; ++c)
        for (int j = 0; j < G; ++j) acc[c][j] = _mm512_loadu_ps(y + j * stride + d + 16 * c);
    for (int i = 0; i < n_rows; ++i) {
        for (int nb = 0; nb < NB; ++nb) {
            const Unpacked<Block> u(v[i][d / 32 + nb]);
            const float* cb = coef + (d / 32 + nb) * kvq::kHeads * kvq::kRows + i;
            __m512 pd[G];
            for (int j = 0; j < G; ++j) pd[j] = _mm512_set1_ps(cb[j * kvq::kRows]);
            for (int ch = 0; ch < 2; ++ch) {
                const __m512 vv = u.chunk(ch);
                for (int j = 0; j < G; ++j) acc[2 * nb + ch][j] = _mm512_fmadd_ps(pd[j], vv, acc[2 * nb + ch][j]);
            }
        }
    }
    for (int c = 0; c < 2 * NB; ++c)
        for (int j = 0; j < G; ++j) _mm512_storeu_ps(y + j * stride + d + 16 * c, acc[c][j]);
}

template <typename Block, int G>
void axpy_heads(float* y, int64_t stride, const float* coef, const Block* const* v, int n_rows, int64_t n) {
    constexpr int NB = G <= 2 ? 4 : 2;
    int64_t d = 0;
    for (; d + 32 * NB <= n; d += 32 * NB) axpy_block<Block, NB, G>(y, stride, coef, v, n_rows, d);
    for (; d + 32 <= n; d += 32) axpy_block<Block, 1, G>(y, stride, coef, v, n_rows, d);
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

const KvQuantKernels kAvx512{{dot_tile<block_q8_0>, axpy_tile<block_q8_0>},
                             {dot_tile<block_q4_0>, axpy_tile<block_q4_0>}};

}  // namespace

const KvQuantKernels* kv_quant_kernels_avx512() { return &kAvx512; }

}  // namespace llmrt::ops

#else
namespace llmrt::ops {
const KvQuantKernels* kv_quant_kernels_avx512() { return nullptr; }
}  // namespace llmrt::ops
#endif
