// KV storage + decode(batch) -> logits (docs/architecture.md, "The boundary").
// Python owns the policy: it writes cell_pos / cell_seqs (which cells hold which position of
// which sequences) and passes, for every token of a batch, the cell its K/V goes to. This class
// checks those claims, writes K/V and runs the forward pass.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "models/model.h"
#include "ops/rope.h"
#include "quant/types.h"
#include "runtime/thread_pool.h"

namespace llmrt {

struct Batch {
    const int32_t* tokens = nullptr;     // (n)
    const int32_t* positions = nullptr;  // (n)
    const int32_t* seq_ids = nullptr;    // (n) each in [0, n_seq_max)
    const int32_t* cells = nullptr;      // (n) distinct KV cells
    const uint8_t* want_logits = nullptr;  // (n) nonzero: return this token's logits
    int64_t n = 0;
};

// Per-decode work buffers, reused between calls.
struct Scratch {
    std::vector<float> x, h, q, k, v, attn, gate, up, out_rows, logits_rows;
    std::vector<uint8_t> act;
    // MoE FFN: router logits (n, n_expert); chosen experts and weights (n, n_expert_used);
    // per expert the (token, weight) pairs routed to it, grouped by expert; gathered inputs
    // and outputs of one expert (m, n_embd); the layer's FFN output (n, n_embd).
    std::vector<float> router, route_w, pair_w, moe_x, moe_out, moe_y;
    std::vector<int32_t> route_ids, pair_tok, expert_start;
    std::vector<std::vector<int32_t>> visible_full, visible_swa;  // per token: attended cells
    // This batch's RoPE angles, one entry per distinct RopeParams among the layers (Gemma 3 has
    // two: local and global layers); filled as layers ask, cleared per forward pass.
    std::vector<std::pair<ops::RopeParams, ops::RopeAngles>> rope;
};

class Context {
public:
    // type_k / type_v: element type of the K and V caches (kv_rows.h): F16 (default), F32 (twice
    // the memory; for exact comparisons), Q8_0 or Q4_0 (blocks of 32 along each head).
    Context(std::shared_ptr<const Model> model, int64_t n_cells, int n_seq_max, int n_threads,
            GGMLType type_k = GGMLType::F16, GGMLType type_v = GGMLType::F16);

    int64_t n_cells() const { return n_cells_; }
    int n_seq_max() const { return n_seq_max_; }
    int n_threads() const { return pool_.size(); }
    GGMLType type_k() const { return type_k_; }
    GGMLType type_v() const { return type_v_; }
    // Batch-invariant decode (ops/batch_invariant.h): a sequence's logits do not depend on what
    // else is in the batch, at some cost in speed.
    bool deterministic() const { return deterministic_; }
    void set_deterministic(bool on) { deterministic_ = on; }
    int32_t* cell_pos() { return cell_pos_.data(); }     // (n_cells), -1 = empty
    uint64_t* cell_seqs() { return cell_seqs_.data(); }  // (n_cells), bit s = owned by sequence s
    const Model& model() const { return *model_; }

    // Number of tokens whose logits decode() will write.
    static int64_t count_wanted(const Batch& b);
    // Writes K/V of every token, runs the layers, stores count_wanted(b) rows of n_vocab logits.
    void decode(const Batch& b, float* logits);

    // Re-rotate cached K of `cells` by `delta` positions (the caller updates cell_pos).
    void kv_shift(const int32_t* cells, int64_t n, int32_t delta);
    // Copy K/V of src cells to dst cells in every layer (the caller updates the metadata).
    void kv_copy(const int32_t* src, const int32_t* dst, int64_t n);
    // Forget everything: all cells empty.
    void clear();

    // Bytes of one cell's K (or V) in a layer: n_head_kv heads of head_dim_k (head_dim_v).
    size_t k_row_bytes() const;
    size_t v_row_bytes() const;
    // Layer il's K (V) storage: n_cells rows of k_row_bytes() (v_row_bytes()).
    const uint8_t* k_data(int il) const { return k_cache_.at((size_t)il).data(); }
    const uint8_t* v_data(int il) const { return v_cache_.at((size_t)il).data(); }

private:
    void validate(const Batch& b) const;
    void build_visibility(const Batch& b);
    void forward(const Batch& b, float* logits);
    void attention_block(int il, const Batch& b);
    void ffn_block(int il, int64_t n);
    void moe_ffn_block(int il, int64_t n);                    // models/moe_ffn.cpp
    void route_tokens(int il, int64_t n);                      // fills s_.pair_* by expert
    void shared_expert(const LayerWeights& L, int64_t n);      // adds into s_.moe_y
    void decode_experts(const LayerWeights& L, int64_t n_ff);  // one token
    void prefill_experts(const LayerWeights& L, int64_t n, int64_t n_ff);
    void store_kv(int il, const Batch& b);
    const ops::RopeAngles& rope_angles(const ops::RopeParams& p, const Batch& b);

    std::shared_ptr<const Model> model_;
    int64_t n_cells_;
    int n_seq_max_;
    ThreadPool pool_;
    std::vector<int32_t> cell_pos_;
    std::vector<uint64_t> cell_seqs_;
    GGMLType type_k_, type_v_;
    // Hadamard block sizes (ops/hadamard.h) of the K and V heads when their cache is quantized;
    // 0: stored as computed.
    int rot_k_ = 0, rot_v_ = 0;
    bool deterministic_ = false;
    // [layer] raw bytes of n_cells rows of n_head_kv * head_dim elements of type_k_ / type_v_
    std::vector<std::vector<uint8_t>> k_cache_;
    std::vector<std::vector<uint8_t>> v_cache_;
    Scratch s_;
};

}  // namespace llmrt
