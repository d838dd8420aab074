// CpuBackend's KV cache: storage (CpuKVStore), writing rows, attention over the cells each token
// may see, and the cell moves (kv_shift, kv_copy).
#include <cmath>
#include <cstring>

#include "backend/cpu_backend.h"
#include "kv_rows.h"
#include "ops/attention.h"
#include "ops/hadamard.h"
#include "runtime/errors.h"

namespace llmrt {

CpuKVStore::CpuKVStore(const HParams& hp, int64_t n_cells, GGMLType type_k, GGMLType type_v)
    : KVStore(n_cells, type_k, type_v), n_head_kv_(hp.n_head_kv), head_dim_k_(hp.head_dim_k),
      head_dim_v_(hp.head_dim_v) {
    kv_check_head_dim(type_k, hp.head_dim_k, "K");
    kv_check_head_dim(type_v, hp.head_dim_v, "V");
    if (kv_type_is_quantized(type_k)) rot_k_ = ops::hadamard_block_k(hp.head_dim_k);
    if (kv_type_is_quantized(type_v)) rot_v_ = ops::hadamard_block_v(hp.head_dim_v);
    k_row_bytes_ = kv_row_bytes(type_k, (int64_t)hp.n_head_kv * hp.head_dim_k);
    v_row_bytes_ = kv_row_bytes(type_v, (int64_t)hp.n_head_kv * hp.head_dim_v);
    k_.resize(hp.n_layer);
    v_.resize(hp.n_layer);
    for (int il = 0; il < hp.n_layer; ++il) {
        k_[il].assign((size_t)n_cells * k_row_bytes_, 0);
        v_[il].assign((size_t)n_cells * v_row_bytes_, 0);
    }
}

void CpuKVStore::read_cell(int layer, int32_t cell, uint8_t* k, uint8_t* v) const {
    std::memcpy(k, this->k(layer) + (size_t)cell * k_row_bytes_, k_row_bytes_);
    std::memcpy(v, this->v(layer) + (size_t)cell * v_row_bytes_, v_row_bytes_);
}

std::unique_ptr<KVStore> CpuBackend::make_kv_store(const HParams& hp, int64_t n_cells, GGMLType type_k,
                                                   GGMLType type_v) {
    return std::make_unique<CpuKVStore>(hp, n_cells, type_k, type_v);
}

// The attention contract (backend.h, AttnArgs) as per-token lists of cells, built once per batch
// for all layers: the CPU kernel walks lists rather than testing every cell in every layer.
void CpuBackend::begin_batch(const KVStore& kv, const Batch& b, int window) {
    batch_ = &b;
    window_ = window;
    rope_.clear();
    const int64_t n_cells = kv.n_cells();
    const int32_t* cell_pos = kv.cell_pos();
    const uint64_t* cell_seqs = kv.cell_seqs();
    visible_full_.resize((size_t)b.n);
    visible_swa_.resize(window > 0 ? (size_t)b.n : 0);
    pool_.parallel_for(b.n, 16, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const uint64_t bit = 1ull << b.seq_ids[t];
            const int32_t pos = b.positions[t];
            auto& full = visible_full_[t];
            full.clear();
            if (window > 0) visible_swa_[t].clear();
            for (int64_t c = 0; c < n_cells; ++c) {
                const int32_t p = cell_pos[c];
                if (p < 0 || p > pos || !(cell_seqs[c] & bit)) continue;
                full.push_back((int32_t)c);
                if (window > 0 && pos - p < window) visible_swa_[t].push_back((int32_t)c);
            }
        }
    });
}

void CpuBackend::kv_write(KVStore& store, int layer, const Batch& b, float* k, float* v) {
    auto& kv = static_cast<CpuKVStore&>(store);
    const int64_t n = b.n, k_dim = (int64_t)kv.n_head_kv() * kv.head_dim_k(),
                  v_dim = (int64_t)kv.n_head_kv() * kv.head_dim_v();
    // Quantized caches hold K and V in a Hadamard basis; attention turns q alike so q.k is unchanged.
    if (kv.rot_k()) ops::hadamard_blocks(k, n * kv.n_head_kv(), kv.head_dim_k(), kv.rot_k());
    if (kv.rot_v()) ops::hadamard_blocks(v, n * kv.n_head_kv(), kv.head_dim_v(), kv.rot_v());
    const size_t krow = kv.k_row_bytes(), vrow = kv.v_row_bytes();
    for (int64_t t = 0; t < n; ++t) {
        kv_store_row(kv.type_k(), k + t * k_dim, kv.k(layer) + (size_t)b.cells[t] * krow, k_dim);
        kv_store_row(kv.type_v(), v + t * v_dim, kv.v(layer) + (size_t)b.cells[t] * vrow, v_dim);
    }
}

void CpuBackend::attention(const KVStore& store, const AttnArgs& a) {
    const auto& kv = static_cast<const CpuKVStore&>(store);
    if (a.window != 0 && a.window != window_)
        throw ModelError("attention: window " + std::to_string(a.window) + " differs from the batch's " +
                         std::to_string(window_));
    if (kv.rot_k()) ops::hadamard_blocks(a.q, a.n_tokens * a.n_head, a.head_dim_k, kv.rot_k());
    ops::AttentionArgs o;
    o.q = a.q;
    o.k_cache = kv.k(a.layer);
    o.v_cache = kv.v(a.layer);
    o.type_k = kv.type_k();
    o.type_v = kv.type_v();
    o.visible = a.window > 0 ? visible_swa_.data() : visible_full_.data();
    o.n_tokens = a.n_tokens;
    o.n_head = a.n_head;
    o.n_head_kv = a.n_head_kv;
    o.head_dim_k = a.head_dim_k;
    o.head_dim_v = a.head_dim_v;
    o.scale = a.scale;
    o.softcap = a.softcap;
    o.out = a.out;
    ops::attention(pool_, o);
    if (kv.rot_v()) ops::hadamard_blocks(a.out, a.n_tokens * a.n_head, a.head_dim_v, kv.rot_v());  // back from V's basis
}

void CpuBackend::kv_shift(KVStore& store, const Model& model, const int32_t* cells, int64_t n, int32_t delta) {
    auto& kv = static_cast<CpuKVStore&>(store);
    const HParams& hp = model.hparams();
    const size_t row = kv.k_row_bytes(), head = kv_row_bytes(kv.type_k(), hp.head_dim_k);
    const int rot = kv.rot_k();
    pool_.parallel_for(hp.n_layer, 1, [&](int64_t l0, int64_t l1) {
        std::vector<float> buf((size_t)hp.head_dim_k);
        for (int64_t il = l0; il < l1; ++il) {
            const ops::RopeParams p = model.rope_params((int)il);
            for (int64_t i = 0; i < n; ++i) {
                uint8_t* k = kv.k(il) + (size_t)cells[i] * row;
                for (int h = 0; h < hp.n_head_kv; ++h) {
                    // rotations compose: R(p+d) = R(d) R(p); quantized heads are requantized,
                    // un-rotated from and back to their Hadamard basis around RoPE
                    kv_load_row(kv.type_k(), k + h * head, buf.data(), hp.head_dim_k);
                    if (rot) ops::hadamard_blocks(buf.data(), 1, hp.head_dim_k, rot);
                    ops::rope_one(buf.data(), delta, p);
                    if (rot) ops::hadamard_blocks(buf.data(), 1, hp.head_dim_k, rot);
                    kv_store_row(kv.type_k(), buf.data(), k + h * head, hp.head_dim_k);
                }
            }
        }
    });
}

void CpuBackend::kv_copy(KVStore& store, const int32_t* src, const int32_t* dst, int64_t n) {
    auto& kv = static_cast<CpuKVStore&>(store);
    const size_t krow = kv.k_row_bytes(), vrow = kv.v_row_bytes();
    for (int il = 0; il < kv.n_layer(); ++il)
        for (int64_t i = 0; i < n; ++i) {
            std::memmove(kv.k(il) + dst[i] * krow, kv.k(il) + src[i] * krow, krow);
            std::memmove(kv.v(il) + dst[i] * vrow, kv.v(il) + src[i] * vrow, vrow);
        }
}

}  // namespace llmrt
