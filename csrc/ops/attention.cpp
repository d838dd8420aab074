// Fused attention with an online softmax over tiles of cells.
//
// Work item = (token, KV head, split). The query heads sharing a KV head (grouped-query
// attention) are processed together so each K/V row is read once per group. For decode, where
// tokens x KV heads is far smaller than the thread count, the visible cells are split into
// chunks whose partial (max, sum, accumulator) are merged afterwards ("split-K" decoding).
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/attention_rows.h"
#include "ops/batch_invariant.h"
#include "runtime/errors.h"

namespace llmrt::ops {
namespace {

constexpr int64_t kInvariantSplit = 256;  // cells per split when batch-invariant

// Running softmax state of one query head: max m, sum l, unnormalised output acc.
struct Partial {
    float m, l;
    float* acc;  // (head_dim_v)
};

// TK / TV: the storage unit of the K / V cache (float, fp16 bits, or a quantized block).
template <typename TK, typename TV>
void attend_chunk(const AttentionArgs& a, const RowKernels& rk, int64_t t, int kv_head, const int32_t* cells,
                  int64_t n_cells, Partial* part, int group) {
    const VecKernels& vk = rk.vk;
    const int64_t k_head = a.head_dim_k / kUnitElems<TK>, v_head = a.head_dim_v / kUnitElems<TV>;
    const int64_t k_stride = (int64_t)a.n_head_kv * k_head;
    const int64_t v_stride = (int64_t)a.n_head_kv * v_head;
    const TK* k_base = static_cast<const TK*>(a.k_cache) + (int64_t)kv_head * k_head;
    const TV* v_base = static_cast<const TV*>(a.v_cache) + (int64_t)kv_head * v_head;
    const float* q0 = a.q + (t * a.n_head + (int64_t)kv_head * group) * a.head_dim_k;
    for (int j = 0; j < group; ++j) {
        part[j].m = -std::numeric_limits<float>::infinity();
        part[j].l = 0.0f;
        std::fill(part[j].acc, part[j].acc + a.head_dim_v, 0.0f);
    }
    const QueryRows<TK> query(q0, a.head_dim_k, group, a.head_dim_k);
    float scores[kMaxGroup][kTile];
    for (int64_t c0 = 0; c0 < n_cells; c0 += kTile) {
        const int n = (int)std::min<int64_t>(kTile, n_cells - c0);
        const TK* k_rows[kTile];
        for (int i = 0; i < n; ++i) k_rows[i] = k_base + cells[c0 + i] * k_stride;
        score_tile(rk, query, group, k_rows, n, a.head_dim_k, scores);
        for (int j = 0; j < group; ++j) {
            float* s = scores[j];
            for (int i = 0; i < n; ++i) s[i] *= a.scale;
            if (a.softcap > 0.0f)
                for (int i = 0; i < n; ++i) s[i] = a.softcap * std::tanh(s[i] / a.softcap);
            float tile_max = s[0];
            for (int i = 1; i < n; ++i) tile_max = std::max(tile_max, s[i]);
            if (tile_max > part[j].m) {
                // a new maximum: rescale what was accumulated (skipped while nothing was)
                const float r = std::exp(part[j].m - tile_max);
                if (part[j].l > 0.0f) vk.scale_f32(part[j].acc, r, a.head_dim_v);
                part[j].l *= r;
                part[j].m = tile_max;
            }
            part[j].l += vk.exp_sum(s, part[j].m, n);   // the tile's probabilities, unnormalised
        }
        const TV* v_rows[kTile];
        for (int i = 0; i < n; ++i) v_rows[i] = v_base + cells[c0 + i] * v_stride;
        axpy_kv(rk, part[0].acc, a.head_dim_v, &scores[0][0], group, v_rows, n, a.head_dim_v);
    }
}

using ChunkFn = void (*)(const AttentionArgs&, const RowKernels&, int64_t, int, const int32_t*, int64_t, Partial*,
                        int);

template <typename TK>
ChunkFn chunk_for_v(GGMLType v) {
    switch (v) {
        case GGMLType::F32: return attend_chunk<TK, float>;
        case GGMLType::F16: return attend_chunk<TK, uint16_t>;
        case GGMLType::Q8_0: return attend_chunk<TK, block_q8_0>;
        case GGMLType::Q4_0: return attend_chunk<TK, block_q4_0>;
        default: throw ModelError("attention: unsupported V cache type");
    }
}

// The kernel for a pair of cache types; head sizes must hold whole blocks of quantized types.
ChunkFn chunk_for(const AttentionArgs& a) {
    const auto whole = [](GGMLType t, int head_dim) {
        return !(t == GGMLType::Q8_0 || t == GGMLType::Q4_0) || head_dim % 32 == 0;
    };
    if (!whole(a.type_k, a.head_dim_k) || !whole(a.type_v, a.head_dim_v))
        throw ModelError("attention: quantized KV caches need head sizes that are multiples of 32");
    switch (a.type_k) {
        case GGMLType::F32: return chunk_for_v<float>(a.type_v);
        case GGMLType::F16: return chunk_for_v<uint16_t>(a.type_v);
        case GGMLType::Q8_0: return chunk_for_v<block_q8_0>(a.type_v);
        case GGMLType::Q4_0: return chunk_for_v<block_q4_0>(a.type_v);
        default: throw ModelError("attention: unsupported K cache type");
    }
}

}  // namespace

void attention(ThreadPool& pool, const AttentionArgs& a) {
    if (a.head_dim_v > kMaxHeadDim || a.head_dim_k > kMaxHeadDim)
        throw ModelError("attention head size above " + std::to_string(kMaxHeadDim));
    if (a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0 || a.n_head / a.n_head_kv > kMaxGroup)
        throw ModelError("attention: unsupported head grouping");
    const VecKernels& vk = vec_kernels();
    const RowKernels rk{vk, kv_quant_kernels()};
    const ChunkFn attend = chunk_for(a);
    const int group = a.n_head / a.n_head_kv;
    const int64_t items = a.n_tokens * a.n_head_kv;

    // Enough splits that every thread has work; none below 64 cells per split.
    int64_t longest = 0;
    for (int64_t t = 0; t < a.n_tokens; ++t) longest = std::max<int64_t>(longest, (int64_t)a.visible[t].size());
    int64_t n_split = 1;
    const bool invariant = batch_invariant();
    if (invariant) n_split = std::max<int64_t>(1, (longest + kInvariantSplit - 1) / kInvariantSplit);
    else if (items < 4 * pool.size())
        n_split = std::max<int64_t>(1, std::min<int64_t>((4 * pool.size() + items - 1) / items, longest / 64));

    // Partials: (items, n_split, group) states of (m, l, acc[head_dim_v]). Unsplit, a head's
    // accumulator is its output row, normalised where it was computed (no serial merge).
    const int64_t n_parts = items * n_split * group;
    std::vector<float> ml((size_t)n_parts * 2);
    std::vector<float> acc(n_split > 1 ? (size_t)n_parts * a.head_dim_v : 0);
    pool.parallel_for(items * n_split, 1, [&](int64_t w0, int64_t w1) {
        Partial part[kMaxGroup];
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t item = w / n_split, split = w % n_split;
            const int64_t t = item / a.n_head_kv;
            const int kv_head = (int)(item % a.n_head_kv);
            const std::vector<int32_t>& vis = a.visible[t];
            // batch-invariant: fixed chunks, so a token's splits do not depend on the others' lengths
            const int64_t per = invariant ? kInvariantSplit : ((int64_t)vis.size() + n_split - 1) / n_split;
            const int64_t c0 = std::min<int64_t>((int64_t)vis.size(), split * per);
            const int64_t c1 = std::min<int64_t>((int64_t)vis.size(), c0 + per);
            float* out = a.out + (t * a.n_head + (int64_t)kv_head * group) * a.head_dim_v;
            for (int j = 0; j < group; ++j)
                part[j].acc = n_split == 1 ? out + j * a.head_dim_v : &acc[((w * group) + j) * a.head_dim_v];
            attend(a, rk, t, kv_head, vis.data() + c0, c1 - c0, part, group);
            for (int j = 0; j < group; ++j) {
                ml[((w * group) + j) * 2] = part[j].m;
                ml[((w * group) + j) * 2 + 1] = part[j].l;
                if (n_split == 1) vk.scale_f32(part[j].acc, part[j].l > 0.0f ? 1.0f / part[j].l : 0.0f, a.head_dim_v);
            }
        }
    });
    if (n_split == 1) return;

    // Merge the splits of each (token, head) and normalise.
    for (int64_t item = 0; item < items; ++item) {
        const int64_t t = item / a.n_head_kv;
        const int kv_head = (int)(item % a.n_head_kv);
        for (int j = 0; j < group; ++j) {
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t s = 0; s < n_split; ++s) m = std::max(m, ml[(((item * n_split + s) * group) + j) * 2]);
            float* out = a.out + (t * a.n_head + (int64_t)kv_head * group + j) * a.head_dim_v;
            std::fill(out, out + a.head_dim_v, 0.0f);
            float l = 0.0f;
            for (int64_t s = 0; s < n_split; ++s) {
                const int64_t p = ((item * n_split + s) * group) + j;
                if (ml[p * 2 + 1] <= 0.0f) continue;  // an empty split
                const float r = std::exp(ml[p * 2] - m);
                l += ml[p * 2 + 1] * r;
                const float* src = &acc[p * a.head_dim_v];
                for (int i = 0; i < a.head_dim_v; ++i) out[i] += src[i] * r;
            }
            const float inv = l > 0.0f ? 1.0f / l : 0.0f;
            for (int i = 0; i < a.head_dim_v; ++i) out[i] *= inv;
        }
    }
}

}  // namespace llmrt::ops
