// Fused attention for decode on the device ("flash decoding"): online softmax, the visible cells
// split across thread blocks and the partial (max, sum, accumulator) merged by a second kernel.
//
// Which cells a token sees is computed in the kernel from the same inputs the CPU context builds
// its per-token lists from (context.cpp, build_visibility): cell c is visible to a token at
// position `pos` of sequence `seq` when cell_pos[c] >= 0, cell_pos[c] <= pos, bit `seq` of
// cell_seqs[c] is set, and, on sliding-window layers, pos - cell_pos[c] < sliding_window.
// Grouped-query attention: query head h reads KV head h / (n_head / n_head_kv).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace llmrt::cuda {

struct AttentionArgs {  // every pointer is device memory
    const float* q = nullptr;         // (n_tokens, n_head, head_dim); `scale` applies to q.k
    const void* k_cache = nullptr;    // (n_cells, n_head_kv * head_dim) fp16, or f32 if kv_f32
    const void* v_cache = nullptr;    // (n_cells, n_head_kv * head_dim) likewise
    bool kv_f32 = false;
    const int32_t* cell_pos = nullptr;    // (n_cells), -1 = empty
    const uint64_t* cell_seqs = nullptr;  // (n_cells), bit s = owned by sequence s
    const int32_t* positions = nullptr;   // (n_tokens)
    const int32_t* seq_ids = nullptr;     // (n_tokens), each in 0..63
    int64_t n_cells = 0, n_tokens = 0;
    int n_head = 0, n_head_kv = 0, head_dim = 0;  // head_dim: 64, 128 or 256 (K and V alike)
    int sliding_window = 0;  // 0: full attention
    float scale = 1.0f;
    float softcap = 0.0f;    // 0: none; else s = softcap * tanh(s / softcap)
    float* out = nullptr;    // (n_tokens, n_head, head_dim)
};

bool attention_supports_head_dim(int head_dim);
// Splits of the cell range the launcher will use, and the workspace bytes they need.
int attention_splits(const AttentionArgs& a);
size_t attention_workspace_bytes(const AttentionArgs& a);
// workspace: attention_workspace_bytes(a) bytes of device memory.
void attention(const AttentionArgs& a, void* workspace, cudaStream_t stream);

}  // namespace llmrt::cuda
