// CpuBackend: the element-wise, norm, RoPE and matmul ops (the KV ops are in cpu_kv.cpp, the
// mixture of experts in cpu_moe.cpp).
#include "backend/cpu_backend.h"

#include <cstring>

#include "ops/norm.h"
#include "runtime/errors.h"

namespace llmrt {

void KVStore::clear_cells() {
    std::fill(cell_pos_.begin(), cell_pos_.end(), -1);
    std::fill(cell_seqs_.begin(), cell_seqs_.end(), 0);
}

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

std::unique_ptr<Backend> make_backend(const std::string& name, int n_threads) {
    if (name == "cpu") return make_cpu_backend(n_threads);
    if (name == "cuda") return make_cuda_backend(n_threads);
    throw ContextError("unknown backend '" + name + "' (cpu or cuda)");
}

float* CpuBackend::buffer(int slot, size_t n) {
    if ((size_t)slot >= buffers_.size()) buffers_.resize((size_t)slot + 1);
    if (buffers_[slot].size() < n) buffers_[slot].resize(n);
    return buffers_[slot].data();
}

void CpuBackend::matmul(const ops::WeightView& w, const float* x, int64_t n, float* y) {
    ops::matmul(pool_, w, x, n, y, act_);
}

void CpuBackend::matmul_multi(const ops::WeightView* const* w, float* const* y, int count, const float* x, int64_t n) {
    ops::matmul_multi(pool_, w, y, count, x, n, act_);
}

void CpuBackend::get_rows(const ops::WeightView& table, const int32_t* ids, int64_t n, float* y) {
    ops::get_rows(table, ids, n, y);
}

void CpuBackend::rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps) {
    ops::rms_norm(x, w, y, rows, dim, eps);
}

void CpuBackend::rope(float* x, int64_t n, int n_head, int head_dim, const ops::RopeParams& p) {
    const ops::RopeAngles* angles = nullptr;
    for (const auto& [q, a] : rope_)
        if (q.n_rot == p.n_rot && q.freq_base == p.freq_base && q.freq_scale == p.freq_scale &&
            q.freq_factors == p.freq_factors && q.mode == p.mode && q.ext_factor == p.ext_factor &&
            q.corr_low == p.corr_low && q.corr_high == p.corr_high && q.mscale == p.mscale)
        {
            angles = &a;
            break;
        }
    if (!angles) {
        rope_.emplace_back(p, ops::RopeAngles{});
        ops::rope_angles(batch_->positions, batch_->n, p, rope_.back().second);
        angles = &rope_.back().second;
    }
    ops::rope_apply(x, n, n_head, head_dim, p, *angles);
}

void CpuBackend::gated_activation(ops::Activation act, float* gate, const float* up, int64_t n) {
    ops::gated_activation(act, gate, up, n);
}

void CpuBackend::softcap(float* x, int64_t n, float cap) { ops::softcap(x, n, cap); }

void CpuBackend::scale(float* x, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void CpuBackend::add(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void CpuBackend::add_rows(float* x, const float* row, int64_t rows, int64_t dim) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < dim; ++i) x[r * dim + i] += row[i];
}

void CpuBackend::gather_rows(const float* src, const uint8_t* flags, int64_t rows, int64_t dim, float* dst) {
    for (int64_t t = 0, j = 0; t < rows; ++t)
        if (flags[t]) std::memcpy(dst + j++ * dim, src + t * dim, dim * sizeof(float));
}

}  // namespace llmrt
