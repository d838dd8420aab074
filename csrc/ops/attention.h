// Fused attention over the KV cache: one pass per (token, head) with an online softmax, so no
// score matrix is materialised. Which cells a token sees is decided outside (the context builds
// per-token cell lists from cell_pos / cell_seqs / the sliding window); this kernel only reads.
#pragma once
#include <cstdint>
#include <vector>

#include "quant/types.h"
#include "runtime/thread_pool.h"

namespace llmrt::ops {

struct AttentionArgs {
    const float* q = nullptr;           // (n_tokens, n_head, head_dim_k); `scale` applies to q.k
    const void* k_cache = nullptr;      // (n_cells, n_head_kv * head_dim_k) elements of type_k
    const void* v_cache = nullptr;      // (n_cells, n_head_kv * head_dim_v) elements of type_v
    // F16 (default), F32, Q8_0 or Q4_0 (blocks of 32 along each head: head_dim a multiple of 32)
    GGMLType type_k = GGMLType::F16, type_v = GGMLType::F16;
    const std::vector<int32_t>* visible = nullptr;  // per token: the cells it attends to
    int64_t n_tokens = 0;
    int n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
    float scale = 1.0f;     // applied to q.k
    float softcap = 0.0f;   // 0: none; else s = softcap * tanh(s / softcap)
    float* out = nullptr;   // (n_tokens, n_head, head_dim_v)
};

void attention(ThreadPool& pool, const AttentionArgs& a);

}  // namespace llmrt::ops
