// The value side of the quantized attention kernels (ops/kv_quant_*.cpp), shared by the SIMD
// files: the tile's per-row probabilities times each row's block scales, p[j][i] * d[i][b],
// computed once per tile so the inner loops only broadcast them. Everything is `static inline`
// (included from files built for different ISAs).
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::ops::kvq {

constexpr int kRows = 32;        // rows of a coefficient tile
constexpr int kHeads = 4;        // heads of a coefficient tile
constexpr int kMaxBlocks = 32;   // blocks of a head (1024 elements)

// coef[(b * kHeads + j) * kRows + i] = p[j * p_stride + i] * d of v[i]'s block b, for blocks
// b < n_blocks, heads j < g, rows i < n_rows. half_to_float: the file's fp16 conversion.
template <typename Block, typename HalfToFloat>
static inline void block_coefficients(const float* p, int64_t p_stride, int g, const Block* const* v, int n_rows,
                                      int64_t n_blocks, float* coef, HalfToFloat half_to_float) {
    for (int64_t b = 0; b < n_blocks; ++b) {
        float d[kRows];
        for (int i = 0; i < n_rows; ++i) d[i] = half_to_float(v[i][b].d);
        for (int j = 0; j < g; ++j) {
            float* c = coef + (b * kHeads + j) * kRows;
            const float* pj = p + j * p_stride;
            for (int i = 0; i < n_rows; ++i) c[i] = pj[i] * d[i];
        }
    }
}

// y_j += sum_i p[j][i] * v[i] over any number of rows: tiles of kRows rows and kHeads heads,
// each tile's coefficients computed once, then heads(g, y_j0, coef, rows of the tile, n_rows)
// runs the file's register kernel for g <= kHeads heads.
template <typename Block, typename HalfToFloat, typename Heads>
static inline void axpy_tiles(float* y, int64_t stride, const float* p, int64_t p_stride, int group,
                              const Block* const* v, int n_rows, int64_t n, HalfToFloat half_to_float, Heads heads) {
    alignas(64) float coef[kMaxBlocks * kHeads * kRows];
    for (int r0 = 0; r0 < n_rows; r0 += kRows) {
        const int rows = n_rows - r0 < kRows ? n_rows - r0 : kRows;
        for (int j0 = 0; j0 < group; j0 += kHeads) {
            const int g = group - j0 < kHeads ? group - j0 : kHeads;
            block_coefficients(p + j0 * p_stride + r0, p_stride, g, v + r0, rows, n / 32, coef, half_to_float);
            heads(g, y + j0 * stride, coef, v + r0, rows);
        }
    }
}

}  // namespace llmrt::ops::kvq
