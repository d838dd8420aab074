#include "context.h"

#include <string>
#include <vector>

#include "ops/batch_invariant.h"
#include "runtime/errors.h"

namespace llmrt {

Context::Context(std::shared_ptr<const Model> model, int64_t n_cells, int n_seq_max, int n_threads, GGMLType type_k,
                 GGMLType type_v, const std::string& backend)
    : model_(std::move(model)), n_seq_max_(n_seq_max) {
    if (n_cells <= 0 || n_cells > (1 << 24)) throw ContextError("n_cells must be in 1..16777216");
    if (n_seq_max <= 0 || n_seq_max > 64) throw ContextError("n_seq_max must be in 1..64 (cell_seqs is a 64-bit mask)");
    backend_ = make_backend(backend, n_threads);
    kv_ = backend_->make_kv_store(model_->hparams(), n_cells, type_k, type_v);
}

void Context::validate(const Batch& b) const {
    if (b.n <= 0) throw ContextError("decode: empty batch");
    const int n_vocab = model_->hparams().n_vocab;
    const int64_t n_cells = kv_->n_cells();
    const int32_t* cell_pos = kv_->cell_pos();
    const uint64_t* cell_seqs = kv_->cell_seqs();
    std::vector<uint8_t> used((size_t)n_cells, 0);
    for (int64_t i = 0; i < b.n; ++i) {
        const std::string at = "decode: token " + std::to_string(i) + ": ";
        if (b.tokens[i] < 0 || b.tokens[i] >= n_vocab)
            throw ContextError(at + "id " + std::to_string(b.tokens[i]) + " outside the vocabulary");
        if (b.seq_ids[i] < 0 || b.seq_ids[i] >= n_seq_max_)
            throw ContextError(at + "sequence id " + std::to_string(b.seq_ids[i]) + " outside 0.." +
                               std::to_string(n_seq_max_ - 1));
        if (b.positions[i] < 0) throw ContextError(at + "negative position");
        const int32_t c = b.cells[i];
        if (c < 0 || c >= n_cells) throw ContextError(at + "cell " + std::to_string(c) + " outside the cache");
        if (used[c]) throw ContextError(at + "cell " + std::to_string(c) + " used twice in one batch");
        used[c] = 1;
        // The slot manager must have claimed the cell for this token before decoding.
        if (cell_pos[c] != b.positions[i] || !(cell_seqs[c] >> b.seq_ids[i] & 1))
            throw ContextError(at + "cell " + std::to_string(c) + " is not assigned to this position/sequence");
    }
}

void Context::decode(const Batch& b, float* logits) {
    validate(b);
    const ops::BatchInvariantScope invariant(deterministic_);
    decoder_.forward(*backend_, *model_, *kv_, b, logits);
}

void Context::check_cells(const int32_t* cells, int64_t n, const char* who) const {
    for (int64_t i = 0; i < n; ++i)
        if (cells[i] < 0 || cells[i] >= kv_->n_cells()) throw ContextError(std::string(who) + ": cell outside the cache");
}

void Context::kv_shift(const int32_t* cells, int64_t n, int32_t delta) {
    check_cells(cells, n, "kv_shift");
    backend_->kv_shift(*kv_, *model_, cells, n, delta);
}

void Context::kv_copy(const int32_t* src, const int32_t* dst, int64_t n) {
    check_cells(src, n, "kv_copy");
    check_cells(dst, n, "kv_copy");
    backend_->kv_copy(*kv_, src, dst, n);
}

}  // namespace llmrt
