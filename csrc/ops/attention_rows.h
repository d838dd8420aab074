// The attention's per-element-type entry points (ops/attention.cpp): a tile of K rows scored
// against a group of query heads, and a tile of V rows accumulated with their probabilities,
// for each KV cache type. fp16 rows go through one pass for the whole head group, f32 rows per
// head, q8_0 / q4_0 rows through ops/kv_quant.h (against the query heads quantized once per
// chunk of cells). Rows are pointers to the head's first element (or block); n is the head size
// in elements.
#pragma once
#include <cstdint>

#include "ops/kv_quant.h"
#include "ops/vec.h"

namespace llmrt::ops {

constexpr int kTile = 32;  // cells scored before the running max is updated
constexpr int kMaxHeadDim = 1024;
constexpr int kMaxGroup = 16;  // query heads per KV head

// Elements per unit of storage: 1 for float types, a block for quantized ones.
template <typename T> constexpr int64_t kUnitElems = 1;
template <> constexpr int64_t kUnitElems<block_q8_0> = QK8_0;
template <> constexpr int64_t kUnitElems<block_q4_0> = QK4_0;

struct RowKernels {
    const VecKernels& vk;
    const KvQuantKernels& kq;
};

// The query heads of a group as the key kernels of cache unit T take them: the float rows for
// float caches, int16 rows with a scale per head for quantized ones.
template <typename T, bool Quantized = (kUnitElems<T> > 1)>
struct QueryRows {
    const float* q;
    int64_t stride;
    QueryRows(const float* q, int64_t stride, int, int64_t) : q(q), stride(stride) {}
};

template <typename T>
struct QueryRows<T, true> {
    alignas(64) int16_t qi[kMaxGroup * kMaxHeadDim];
    float scale[kMaxGroup];
    QueryRows(const float* q, int64_t stride, int group, int64_t n) { prepare_query_i16(q, stride, group, n, qi, scale); }
    QueryI16 view() const { return {qi, scale}; }
};

// scores[j][i] = q_j . k of cell i.
inline void score_tile(const RowKernels& r, const QueryRows<uint16_t>& q, int group, const uint16_t* const* k, int n,
                       int64_t head_dim, float (*scores)[kTile]) {
    r.vk.dot_tile_f16(q.q, q.stride, group, k, n, head_dim, &scores[0][0], kTile);
}
inline void score_tile(const RowKernels& r, const QueryRows<float>& q, int group, const float* const* k, int n,
                       int64_t head_dim, float (*scores)[kTile]) {
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < group; ++j) scores[j][i] = r.vk.dot_f32(q.q + j * q.stride, k[i], head_dim);
}
inline void score_tile(const RowKernels& r, const QueryRows<block_q8_0>& q, int group, const block_q8_0* const* k,
                       int n, int64_t head_dim, float (*scores)[kTile]) {
    r.kq.q8_0.dot_tile(q.view(), group, k, n, head_dim, &scores[0][0], kTile);
}
inline void score_tile(const RowKernels& r, const QueryRows<block_q4_0>& q, int group, const block_q4_0* const* k,
                       int n, int64_t head_dim, float (*scores)[kTile]) {
    r.kq.q4_0.dot_tile(q.view(), group, k, n, head_dim, &scores[0][0], kTile);
}

// y_j += sum_i p[j][i] * v_i over a tile of value rows.
inline void axpy_kv(const RowKernels& r, float* y, int64_t stride, const float* p, int group,
                    const uint16_t* const* v, int n_rows, int n) {
    r.vk.axpy_tile_f16(y, stride, p, kTile, group, v, n_rows, n);
}
inline void axpy_kv(const RowKernels& r, float* y, int64_t stride, const float* p, int group, const float* const* v,
                    int n_rows, int n) {
    for (int i = 0; i < n_rows; ++i)
        for (int j = 0; j < group; ++j) r.vk.axpy_f32(y + j * stride, p[j * kTile + i], v[i], n);
}
inline void axpy_kv(const RowKernels& r, float* y, int64_t stride, const float* p, int group,
                    const block_q8_0* const* v, int n_rows, int n) {
    r.kq.q8_0.axpy_tile(y, stride, p, kTile, group, v, n_rows, n);
}
inline void axpy_kv(const RowKernels& r, float* y, int64_t stride, const float* p, int group,
                    const block_q4_0* const* v, int n_rows, int n) {
    r.kq.q4_0.axpy_tile(y, stride, p, kTile, group, v, n_rows, n);
}

}  // namespace llmrt::ops
