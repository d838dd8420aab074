// The operations a forward pass is made of, behind one interface, so the decoder block
// (models/decoder.cpp) is written once and runs on any device (docs/architecture.md, "Backends").
// Every pointer an op takes is memory of the backend (host memory for the CPU); weights are the
// model's views. The CPU implementation is backend/cpu_*.cpp; backend/cuda_backend.cpp is where
// the GPU one goes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/batch.h"
#include "models/hparams.h"
#include "models/model.h"
#include "ops/activations.h"
#include "ops/matmul.h"
#include "ops/rope.h"
#include "quant/types.h"

namespace llmrt {

// K/V storage of every layer, owned and laid out by its backend, plus the cell metadata Python
// writes in place (host memory on every backend): which position of which sequences each cell
// holds. Attention's visibility is defined by these arrays alone (see AttnArgs).
class KVStore {
public:
    KVStore(int64_t n_cells, GGMLType type_k, GGMLType type_v)
        : n_cells_(n_cells), type_k_(type_k), type_v_(type_v), cell_pos_((size_t)n_cells, -1),
          cell_seqs_((size_t)n_cells, 0) {}
    virtual ~KVStore() = default;

    int64_t n_cells() const { return n_cells_; }
    GGMLType type_k() const { return type_k_; }
    GGMLType type_v() const { return type_v_; }
    int32_t* cell_pos() { return cell_pos_.data(); }     // (n_cells), -1 = empty
    uint64_t* cell_seqs() { return cell_seqs_.data(); }  // (n_cells), bit s = owned by sequence s
    const int32_t* cell_pos() const { return cell_pos_.data(); }
    const uint64_t* cell_seqs() const { return cell_seqs_.data(); }
    void clear_cells();
    // Bytes of one cell's K (V) in one layer, and a host copy of them (for inspection and tests).
    virtual size_t k_row_bytes() const = 0;
    virtual size_t v_row_bytes() const = 0;
    virtual void read_cell(int layer, int32_t cell, uint8_t* k, uint8_t* v) const = 0;

private:
    int64_t n_cells_;
    GGMLType type_k_, type_v_;
    std::vector<int32_t> cell_pos_;
    std::vector<uint64_t> cell_seqs_;
};

// Attention of a batch's queries over one layer's cells. Token t (position positions[t],
// sequence seq_ids[t]) attends to exactly the cells c with bit seq_ids[t] set in cell_seqs[c]
// and 0 <= cell_pos[c] <= positions[t], and, where window > 0, positions[t] - cell_pos[c] < window.
struct AttnArgs {
    int layer = 0;
    float* q = nullptr;     // (n_tokens, n_head, head_dim_k); the backend may overwrite it
    int64_t n_tokens = 0;
    const int32_t* positions = nullptr;
    const int32_t* seq_ids = nullptr;
    int window = 0;         // 0: no sliding window in this layer
    int n_head = 0, n_head_kv = 0, head_dim_k = 0, head_dim_v = 0;
    float scale = 1.0f;     // applied to q.k
    float softcap = 0.0f;   // 0: none; else s = softcap * tanh(s / softcap)
    float* out = nullptr;   // (n_tokens, n_head, head_dim_v)
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    virtual int n_threads() const = 0;

    // K/V storage for n_cells cells of every layer of a model with these hyperparameters.
    virtual std::unique_ptr<KVStore> make_kv_store(const HParams& hp, int64_t n_cells, GGMLType type_k,
                                                   GGMLType type_v) = 0;
    // Working memory of the forward pass: slot `slot` holding at least n floats (kept between calls).
    virtual float* buffer(int slot, size_t n) = 0;

    // Called once per forward pass before any op: the batch whose positions the ops below see.
    // `window`: the sliding window some layers use (0: none).
    virtual void begin_batch(const KVStore& kv, const Batch& b, int window) = 0;

    // y (n, w.n_out) = x (n, w.n_in) . w^T; matmul_multi: several weights over one input.
    virtual void matmul(const ops::WeightView& w, const float* x, int64_t n, float* y) = 0;
    virtual void matmul_multi(const ops::WeightView* const* w, float* const* y, int count, const float* x,
                              int64_t n) = 0;
    // Row r of y = x[ids[r]] of an embedding table, as float.
    virtual void get_rows(const ops::WeightView& table, const int32_t* ids, int64_t n, float* y) = 0;
    // y = x / rms(x) * w over rows of dim (y may be x).
    virtual void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps) = 0;
    // RoPE of n tokens (at the batch's positions) of n_head heads in place.
    virtual void rope(float* x, int64_t n, int n_head, int head_dim, const ops::RopeParams& p) = 0;
    // gate = act(gate) * up
    virtual void gated_activation(ops::Activation act, float* gate, const float* up, int64_t n) = 0;
    virtual void softcap(float* x, int64_t n, float cap) = 0;
    virtual void scale(float* x, int64_t n, float s) = 0;
    virtual void add(float* x, const float* y, int64_t n) = 0;                          // x += y
    virtual void add_rows(float* x, const float* row, int64_t rows, int64_t dim) = 0;   // x[r] += row
    // dst rows = the src rows (of dim) whose flag is nonzero, in order.
    virtual void gather_rows(const float* src, const uint8_t* flags, int64_t rows, int64_t dim, float* dst) = 0;

    // Write the batch's K and V rows (n_head_kv * head_dim each) of layer `layer` to b.cells.
    virtual void kv_write(KVStore& kv, int layer, const Batch& b, float* k, float* v) = 0;
    virtual void attention(const KVStore& kv, const AttnArgs& a) = 0;
    // The mixture-of-experts FFN of one layer on normed input h (n, n_embd): routing, the chosen
    // experts, the shared expert; y = their weighted sum (n, n_embd).
    virtual void moe_ffn(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, float* y) = 0;

    // Re-rotate the cached K of `cells` by delta positions; copy cells' K/V to other cells.
    virtual void kv_shift(KVStore& kv, const Model& model, const int32_t* cells, int64_t n, int32_t delta) = 0;
    virtual void kv_copy(KVStore& kv, const int32_t* src, const int32_t* dst, int64_t n) = 0;
};

// "cpu" or "cuda" (the latter raises DeviceError until the CUDA forward pass exists).
std::unique_ptr<Backend> make_backend(const std::string& name, int n_threads);
std::unique_ptr<Backend> make_cpu_backend(int n_threads);
std::unique_ptr<Backend> make_cuda_backend(int n_threads);

}  // namespace llmrt
