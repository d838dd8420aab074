// A model, a backend that runs it, the backend's K/V storage, and decode(batch) -> logits
// (docs/architecture.md, "The boundary"). Python owns the policy: it writes cell_pos /
// cell_seqs (which cells hold which position of which sequences) and passes, for every token of
// a batch, the cell its K/V goes to. This class checks those claims and runs the decoder.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/batch.h"
#include "models/decoder.h"
#include "models/model.h"
#include "quant/types.h"

namespace llmrt {

class Context {
public:
    // type_k / type_v: element type of the K and V caches (kv_rows.h): F16 (default), F32 (twice
    // the memory; for exact comparisons), Q8_0 or Q4_0 (blocks of 32 along each head).
    // backend: "cpu" or "cuda" (backend/backend.h).
    Context(std::shared_ptr<const Model> model, int64_t n_cells, int n_seq_max, int n_threads,
            GGMLType type_k = GGMLType::F16, GGMLType type_v = GGMLType::F16, const std::string& backend = "cpu");

    int64_t n_cells() const { return kv_->n_cells(); }
    int n_seq_max() const { return n_seq_max_; }
    int n_threads() const { return backend_->n_threads(); }
    GGMLType type_k() const { return kv_->type_k(); }
    GGMLType type_v() const { return kv_->type_v(); }
    const Backend& backend() const { return *backend_; }
    // Batch-invariant decode (ops/batch_invariant.h): a sequence's logits do not depend on what
    // else is in the batch, at some cost in speed.
    bool deterministic() const { return deterministic_; }
    void set_deterministic(bool on) { deterministic_ = on; }
    int32_t* cell_pos() { return kv_->cell_pos(); }     // (n_cells), -1 = empty
    uint64_t* cell_seqs() { return kv_->cell_seqs(); }  // (n_cells), bit s = owned by sequence s
    const Model& model() const { return *model_; }
    const KVStore& kv_store() const { return *kv_; }

    // Writes K/V of every token, runs the layers, stores b.count_wanted() rows of n_vocab logits.
    void decode(const Batch& b, float* logits);

    // Re-rotate cached K of `cells` by `delta` positions (the caller updates cell_pos).
    void kv_shift(const int32_t* cells, int64_t n, int32_t delta);
    // Copy K/V of src cells to dst cells in every layer (the caller updates the metadata).
    void kv_copy(const int32_t* src, const int32_t* dst, int64_t n);
    // Forget everything: all cells empty.
    void clear() { kv_->clear_cells(); }

private:
    void validate(const Batch& b) const;
    void check_cells(const int32_t* cells, int64_t n, const char* who) const;

    std::shared_ptr<const Model> model_;
    int n_seq_max_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<KVStore> kv_;
    Decoder decoder_;
    bool deterministic_ = false;
};

}  // namespace llmrt
