#include "context.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "kv_rows.h"
#include "ops/batch_invariant.h"
#include "ops/hadamard.h"
#include "ops/rope.h"
#include "runtime/errors.h"

namespace llmrt {

Context::Context(std::shared_ptr<const Model> model, int64_t n_cells, int n_seq_max, int n_threads, GGMLType type_k,
                 GGMLType type_v)
    : model_(std::move(model)), n_cells_(n_cells), n_seq_max_(n_seq_max), pool_(n_threads), type_k_(type_k),
      type_v_(type_v) {
    if (n_cells <= 0 || n_cells > (1 << 24)) throw ContextError("n_cells must be in 1..16777216");
    if (n_seq_max <= 0 || n_seq_max > 64) throw ContextError("n_seq_max must be in 1..64 (cell_seqs is a 64-bit mask)");
    const HParams& hp = model_->hparams();
    kv_check_head_dim(type_k_, hp.head_dim_k, "K");
    kv_check_head_dim(type_v_, hp.head_dim_v, "V");
    if (kv_type_is_quantized(type_k_)) rot_k_ = ops::hadamard_block_k(hp.head_dim_k);
    if (kv_type_is_quantized(type_v_)) rot_v_ = ops::hadamard_block_v(hp.head_dim_v);
    cell_pos_.assign((size_t)n_cells, -1);
    cell_seqs_.assign((size_t)n_cells, 0);
    k_cache_.resize(hp.n_layer);
    v_cache_.resize(hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        k_cache_[il].assign((size_t)n_cells * k_row_bytes(), 0);
        v_cache_[il].assign((size_t)n_cells * v_row_bytes(), 0);
    }
}

size_t Context::k_row_bytes() const {
    const HParams& hp = model_->hparams();
    return kv_row_bytes(type_k_, (int64_t)hp.n_head_kv * hp.head_dim_k);
}

size_t Context::v_row_bytes() const {
    const HParams& hp = model_->hparams();
    return kv_row_bytes(type_v_, (int64_t)hp.n_head_kv * hp.head_dim_v);
}

void Context::clear() {
    std::fill(cell_pos_.begin(), cell_pos_.end(), -1);
    std::fill(cell_seqs_.begin(), cell_seqs_.end(), 0);
}

int64_t Context::count_wanted(const Batch& b) {
    int64_t n = 0;
    for (int64_t i = 0; i < b.n; ++i) n += b.want_logits[i] ? 1 : 0;
    return n;
}

void Context::validate(const Batch& b) const {
    if (b.n <= 0) throw ContextError("decode: empty batch");
    const int n_vocab = model_->hparams().n_vocab;
    std::vector<uint8_t> used((size_t)n_cells_, 0);
    for (int64_t i = 0; i < b.n; ++i) {
        const std::string at = "decode: token " + std::to_string(i) + ": ";
        if (b.tokens[i] < 0 || b.tokens[i] >= n_vocab)
            throw ContextError(at + "id " + std::to_string(b.tokens[i]) + " outside the vocabulary");
        if (b.seq_ids[i] < 0 || b.seq_ids[i] >= n_seq_max_)
            throw ContextError(at + "sequence id " + std::to_string(b.seq_ids[i]) + " outside 0.." +
                               std::to_string(n_seq_max_ - 1));
        if (b.positions[i] < 0) throw ContextError(at + "negative position");
        const int32_t c = b.cells[i];
        if (c < 0 || c >= n_cells_) throw ContextError(at + "cell " + std::to_string(c) + " outside the cache");
        if (used[c]) throw ContextError(at + "cell " + std::to_string(c) + " used twice in one batch");
        used[c] = 1;
        // The slot manager must have claimed the cell for this token before decoding.
        if (cell_pos_[c] != b.positions[i] || !(cell_seqs_[c] >> b.seq_ids[i] & 1))
            throw ContextError(at + "cell " + std::to_string(c) + " is not assigned to this position/sequence");
    }
}

void Context::build_visibility(const Batch& b) {
    const HParams& hp = model_->hparams();
    const bool has_swa = hp.sliding_window > 0 && !hp.layer_is_swa.empty();
    s_.visible_full.resize((size_t)b.n);
    s_.visible_swa.resize(has_swa ? (size_t)b.n : 0);
    pool_.parallel_for(b.n, 16, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const uint64_t bit = 1ull << b.seq_ids[t];
            const int32_t pos = b.positions[t];
            auto& full = s_.visible_full[t];
            full.clear();
            if (has_swa) s_.visible_swa[t].clear();
            for (int64_t c = 0; c < n_cells_; ++c) {
                const int32_t p = cell_pos_[c];
                if (p < 0 || p > pos || !(cell_seqs_[c] & bit)) continue;
                full.push_back((int32_t)c);
                if (has_swa && pos - p < hp.sliding_window) s_.visible_swa[t].push_back((int32_t)c);
            }
        }
    });
}

void Context::decode(const Batch& b, float* logits) {
    validate(b);
    build_visibility(b);
    const ops::BatchInvariantScope invariant(deterministic_);
    forward(b, logits);
}

void Context::kv_shift(const int32_t* cells, int64_t n, int32_t delta) {
    const HParams& hp = model_->hparams();
    for (int64_t i = 0; i < n; ++i)
        if (cells[i] < 0 || cells[i] >= n_cells_) throw ContextError("kv_shift: cell outside the cache");
    const size_t row = k_row_bytes(), head = kv_row_bytes(type_k_, hp.head_dim_k);
    pool_.parallel_for(hp.n_layer, 1, [&](int64_t l0, int64_t l1) {
        std::vector<float> buf((size_t)hp.head_dim_k);
        for (int64_t il = l0; il < l1; ++il) {
            const ops::RopeParams p = model_->rope_params((int)il);
            for (int64_t i = 0; i < n; ++i) {
                uint8_t* k = k_cache_[il].data() + (size_t)cells[i] * row;
                for (int h = 0; h < hp.n_head_kv; ++h) {
                    // rotations compose: R(p+d) = R(d) R(p); quantized heads are requantized,
                    // un-rotated from and back to their Hadamard basis around RoPE
                    kv_load_row(type_k_, k + h * head, buf.data(), hp.head_dim_k);
                    if (rot_k_) ops::hadamard_blocks(buf.data(), 1, hp.head_dim_k, rot_k_);
                    ops::rope_one(buf.data(), delta, p);
                    if (rot_k_) ops::hadamard_blocks(buf.data(), 1, hp.head_dim_k, rot_k_);
                    kv_store_row(type_k_, buf.data(), k + h * head, hp.head_dim_k);
                }
            }
        }
    });
}

void Context::kv_copy(const int32_t* src, const int32_t* dst, int64_t n) {
    const HParams& hp = model_->hparams();
    for (int64_t i = 0; i < n; ++i)
        if (src[i] < 0 || src[i] >= n_cells_ || dst[i] < 0 || dst[i] >= n_cells_)
            throw ContextError("kv_copy: cell outside the cache");
    const size_t krow = k_row_bytes(), vrow = v_row_bytes();
    for (int il = 0; il < hp.n_layer; ++il)
        for (int64_t i = 0; i < n; ++i) {
            std::memmove(&k_cache_[il][dst[i] * krow], &k_cache_[il][src[i] * krow], krow);
            std::memmove(&v_cache_[il][dst[i] * vrow], &v_cache_[il][src[i] * vrow], vrow);
        }
}

}  // namespace llmrt
