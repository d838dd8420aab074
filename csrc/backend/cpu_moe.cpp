// CpuBackend::moe_ffn, the MoE FFN of the generic decoder block on normed input h:
//   ids, w = gating(router h)                                  (ops/moe_gating.h)
//   y = sum_j w_j * down_e(act(gate_e h) * up_e h), e = ids_j   (only the chosen experts' rows read)
//       [+ sigmoid(gate_inp_shexp . h) * shared_ffn(h)]
// Tokens are grouped by expert, so in prefill each expert's weights stream from memory once
// per batch: one matmul over the expert's 2-D slice with all the tokens routed to it.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu_backend.h"
#include "ops/batch_invariant.h"
#include "ops/matmul.h"
#include "ops/activations.h"
#include "ops/moe_gating.h"
#include "ops/norm.h"

namespace llmrt {
namespace {

template <typename T>
void grow(std::vector<T>& v, int64_t n) {
    if ((int64_t)v.size() < n) v.resize((size_t)n);
}

}  // namespace

void CpuBackend::route_tokens(const HParams& hp, const LayerWeights& L, const float* h, int64_t n) {
    const int k = hp.n_expert_used, n_expert = hp.n_expert;
    grow(router_, n * n_expert);
    grow(route_ids_, n * k);
    grow(route_w_, n * k);
    ops::matmul(pool_, L.ffn_gate_inp, h, n, router_.data(), act_);
    const float* bias = L.exp_probs_b.empty() ? nullptr : L.exp_probs_b.data();
    ops::moe_gating(router_.data(), n, gating_params(hp, bias), route_ids_.data(), route_w_.data());
    // Counting sort of the (token, slot) pairs by expert; tokens stay in order within an expert.
    expert_start_.assign((size_t)n_expert + 1, 0);
    for (int64_t i = 0; i < n * k; ++i) ++expert_start_[route_ids_[i] + 1];
    for (int e = 0; e < n_expert; ++e) expert_start_[e + 1] += expert_start_[e];
    grow(pair_tok_, n * k);
    grow(pair_w_, n * k);
    std::vector<int32_t> fill(expert_start_.begin(), expert_start_.end() - 1);
    for (int64_t i = 0; i < n * k; ++i) {
        const int32_t e = route_ids_[i];
        pair_tok_[fill[e]] = (int32_t)(i / k);
        pair_w_[fill[e]++] = route_w_[i];
    }
}

void CpuBackend::moe_ffn(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, float* y) {
    const int64_t n_embd = hp.n_embd, n_ff = L.ffn_up_exps.first.n_out;
    route_tokens(hp, L, h, n);
    grow(gate_, n * n_ff);
    grow(up_, n * n_ff);
    grow(moe_x_, n * n_embd);
    grow(moe_out_, n * n_embd);
    std::fill(y, y + n * n_embd, 0.0f);
    // Batch-invariant decode takes the grouped path for one token too: a token's experts then
    // add into its output in expert order whatever else is in the batch.
    if (n == 1 && !ops::batch_invariant()) {
        decode_experts(hp, L, h, n_ff, y);
    } else {
        prefill_experts(hp, L, h, n, n_ff, y);
    }
    if (L.ffn_up_shexp.data) shared_expert(hp, L, h, n, y);
}

// One token: gate and up of two experts at a time share one parallel region (same input).
void CpuBackend::decode_experts(const HParams& hp, const LayerWeights& L, const float* h, int64_t n_ff, float* y) {
    const int64_t n_embd = hp.n_embd;
    const int k = hp.n_expert_used;
    grow(gate_, 2 * n_ff);
    grow(up_, 2 * n_ff);
    for (int j0 = 0; j0 < k; j0 += 2) {
        const int c = std::min(2, k - j0);
        ops::WeightView w[4];
        const ops::WeightView* ws[4];
        float* outs[4];
        for (int i = 0; i < c; ++i) {
            const int32_t e = route_ids_[j0 + i];
            w[2 * i] = L.ffn_gate_exps.expert(e);
            w[2 * i + 1] = L.ffn_up_exps.expert(e);
            ws[2 * i] = &w[2 * i];
            ws[2 * i + 1] = &w[2 * i + 1];
            outs[2 * i] = gate_.data() + i * n_ff;
            outs[2 * i + 1] = up_.data() + i * n_ff;
        }
        ops::matmul_multi(pool_, ws, outs, 2 * c, h, 1, act_);
        ops::gated_activation(hp.activation, gate_.data(), up_.data(), c * n_ff);
        for (int i = 0; i < c; ++i) {
            const ops::WeightView down = L.ffn_down_exps.expert(route_ids_[j0 + i]);
            ops::matmul(pool_, down, gate_.data() + i * n_ff, 1, moe_out_.data(), act_);
            const float wt = route_w_[j0 + i];
            for (int64_t d = 0; d < n_embd; ++d) y[d] += wt * moe_out_[d];
        }
    }
}

// Tokens grouped by expert: each expert's weights stream once over the tokens routed to it.
void CpuBackend::prefill_experts(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, int64_t n_ff,
                                 float* y) {
    const int64_t n_embd = hp.n_embd;
    for (int e = 0; e < hp.n_expert; ++e) {
        const int32_t p0 = expert_start_[e], m = expert_start_[e + 1] - p0;
        if (m == 0) continue;
        const int32_t* tok = pair_tok_.data() + p0;
        const float* w = pair_w_.data() + p0;
        // Every token routed here, in order (always so in decode): no gather needed.
        const float* in = h;
        if (m != n) {
            for (int32_t j = 0; j < m; ++j)
                std::memcpy(&moe_x_[(size_t)j * n_embd], &h[(size_t)tok[j] * n_embd], n_embd * sizeof(float));
            in = moe_x_.data();
        }
        const ops::WeightView gate = L.ffn_gate_exps.expert(e), up = L.ffn_up_exps.expert(e);
        const ops::WeightView down = L.ffn_down_exps.expert(e);
        const ops::WeightView* gate_up[2] = {&gate, &up};
        float* gate_up_out[2] = {gate_.data(), up_.data()};
        ops::matmul_multi(pool_, gate_up, gate_up_out, 2, in, m, act_);
        ops::gated_activation(hp.activation, gate_.data(), up_.data(), (int64_t)m * n_ff);
        ops::matmul(pool_, down, gate_.data(), m, moe_out_.data(), act_);
        for (int32_t j = 0; j < m; ++j) {
            float* yt = &y[(size_t)tok[j] * n_embd];
            const float* o = &moe_out_[(size_t)j * n_embd];
            for (int64_t i = 0; i < n_embd; ++i) yt[i] += w[j] * o[i];
        }
    }
}

void CpuBackend::shared_expert(const HParams& hp, const LayerWeights& L, const float* h, int64_t n, float* y) {
    const int64_t n_embd = hp.n_embd, n_ff = L.ffn_up_shexp.n_out;
    grow(gate_, n * n_ff);
    grow(up_, n * n_ff);
    const ops::WeightView* gate_up[2] = {&L.ffn_gate_shexp, &L.ffn_up_shexp};
    float* gate_up_out[2] = {gate_.data(), up_.data()};
    ops::matmul_multi(pool_, gate_up, gate_up_out, 2, h, n, act_);
    ops::gated_activation(hp.activation, gate_.data(), up_.data(), n * n_ff);
    ops::matmul(pool_, L.ffn_down_shexp, gate_.data(), n, moe_out_.data(), act_);
    for (int64_t t = 0; t < n; ++t) {
        float g = 1.0f;
        if (!L.ffn_gate_inp_shexp.empty()) {
            const float* ht = &h[(size_t)t * n_embd];
            float dot = 0.0f;
            for (int64_t i = 0; i < n_embd; ++i) dot += L.ffn_gate_inp_shexp[i] * ht[i];
            g = 1.0f / (1.0f + std::exp(-dot));
        }
        float* yt = &y[(size_t)t * n_embd];
        const float* o = &moe_out_[(size_t)t * n_embd];
        for (int64_t i = 0; i < n_embd; ++i) yt[i] += g * o[i];
    }
}

}  // namespace llmrt
