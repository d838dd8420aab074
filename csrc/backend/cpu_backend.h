// The CPU backend: every op of backend.h on host memory, through the kernels of ops/ and quant/
// on one thread pool.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "runtime/thread_pool.h"

namespace llmrt {

// K/V rows of every layer in host memory. Quantized types (q8_0, q4_0) hold the heads in a
// Hadamard basis (ops/hadamard.h), which spreads outliers across each block before rounding.
class CpuKVStore : public KVStore {
public:
    CpuKVStore(const HParams& hp, int64_t n_cells, GGMLType type_k, GGMLType type_v);
    size_t k_row_bytes() const override { return k_row_bytes_; }  // one cell of one layer: n_head_kv heads
    size_t v_row_bytes() const override { return v_row_bytes_; }
    void read_cell(int layer, int32_t cell, uint8_t* k, uint8_t* v) const override;
    uint8_t* k(int layer) { return k_[(size_t)layer].data(); }
    uint8_t* v(int layer) { return v_[(size_t)layer].data(); }
    const uint8_t* k(int layer) const { return k_[(size_t)layer].data(); }
    const uint8_t* v(int layer) const { return v_[(size_t)layer].data(); }
    int rot_k() const { return rot_k_; }  // Hadamard block of K heads; 0: stored as computed
    int rot_v() const { return rot_v_; }
    int n_layer() const { return (int)k_.size(); }
    int n_head_kv() const { return n_head_kv_; }
    int head_dim_k() const { return head_dim_k_; }
    int head_dim_v() const { return head_dim_v_; }

private:
    int n_head_kv_, head_dim_k_, head_dim_v_;
    size_t k_row_bytes_, v_row_bytes_;
    int rot_k_ = 0, rot_v_ = 0;
    std::vector<std::vector<uint8_t>> k_, v_;  // [layer] n_cells rows
};

class CpuBackend : public Backend {
public:
    explicit CpuBackend(int n_threads) : pool_(n_threads) {}
    std::string name() const override { return "cpu"; }
    int n_threads() const override { return pool_.size(); }

    std::unique_ptr<KVStore> make_kv_store(const HParams& hp, int64_t n_cells, GGMLType type_k,
                                           GGMLType type_v) override;
    float* buffer(int slot, size_t n) override;
    void begin_batch(const KVStore& kv, const Batch& b, int window) override;

    void matmul(const ops::WeightView& w, const float* x, int64_t n, float* y) override;
    void matmul_multi(const ops::WeightView* const* w, float* const* y, int count, const float* x,
                      int64_t n) override;
    void get_rows(const ops::WeightView& table, const int32_t* ids, int64_t n, float* y) override;
    void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps) override;
    void rope(float* x, int64_t n, int n_head, int head_dim, const ops::RopeParams& p) override;
    void gated_activation(ops::Activation act, float* gate, const float* up, int64_t n) override;
    void softcap(float* x, int64_t n, float cap) override;
    void scale(float* x, int64_t n, float s) override;
    void add(float* x, const float* y, int64_t n) override;
    void add_rows(float* x, const float* row, int64_t rows, int64_t dim) override;
    void gather_rows(const float* src, const uint8_t* flags, int64_t rows, int64_t dim, float* dst) override;

    void kv_write(KVStore& kv, int layer, const Batch& b, float* k, float* v) override;  // cpu_kv.cpp
    void attention(const KVStore& kv, const AttnArgs& a) override;                     // cpu_kv.cpp
    void moe_ffn(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, float* y) override;  // cpu_moe.cpp
    void kv_shift(KVStore& kv, const Model& model, const int32_t* cells, int64_t n, int32_t delta) override;
    void kv_copy(KVStore& kv, const int32_t* src, const int32_t* dst, int64_t n) override;

private:
    // MoE pieces (cpu_moe.cpp)
    void route_tokens(const HParams& hp, const LayerWeights& L, const float* h, int64_t n);
    void decode_experts(const HParams& hp, const LayerWeights& L, const float* h, int64_t n_ff, float* y);
    void prefill_experts(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, int64_t n_ff, float* y);
    void shared_expert(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, float* y);

    ThreadPool pool_;
    std::vector<uint8_t> act_;                    // activation rows quantized for the matmuls
    std::vector<std::vector<float>> buffers_;     // buffer(slot)
    const Batch* batch_ = nullptr;                // begin_batch's
    int window_ = 0;
    // Per token of the batch: the cells it attends to, without and within the window.
    std::vector<std::vector<int32_t>> visible_full_, visible_swa_;
    // The batch's RoPE angles, one entry per distinct RopeParams among the layers (Gemma 3 has
    // two: local and global layers); filled as layers ask.
    std::vector<std::pair<ops::RopeParams, ops::RopeAngles>> rope_;
    // MoE: router logits (n, n_expert); chosen experts and weights (n, n_expert_used); per expert
    // the (token, weight) pairs routed to it, grouped by expert; gate/up of the experts;
    // gathered inputs and outputs of one expert (m, n_embd).
    std::vector<float> router_, route_w_, pair_w_, gate_, up_, moe_x_, moe_out_;
    std::vector<int32_t> route_ids_, pair_tok_, expert_start_;
};

}  // namespace llmrt
