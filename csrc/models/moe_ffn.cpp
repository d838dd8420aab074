// The MoE FFN of the generic decoder block:
//   h = norm(x); ids, w = gating(router h)            (ops/moe_gating.h)
//   f = sum_j w_j * down_e(act(gate_e h) * up_e h), e = ids_j   (only the chosen experts' rows read)
//       [+ sigmoid(gate_inp_shexp . h) * shared_ffn(h)]  [post-ffn norm];  x += f
// Tokens are grouped by expert, so in prefill each expert's weights stream from memory once
// per batch: one matmul over the expert's 2-D slice with all the tokens routed to it.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "context.h"
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

void Context::route_tokens(int il, int64_t n) {
    const HParams& hp = model_->hparams();
    const LayerWeights& L = model_->layer(il);
    const int k = hp.n_expert_used, n_expert = hp.n_expert;
    grow(s_.router, n * n_expert);
    grow(s_.route_ids, n * k);
    grow(s_.route_w, n * k);
    ops::matmul(pool_, L.ffn_gate_inp, s_.h.data(), n, s_.router.data(), s_.act);
    const float* bias = L.exp_probs_b.empty() ? nullptr : L.exp_probs_b.data();
    ops::moe_gating(s_.router.data(), n, gating_params(hp, bias), s_.route_ids.data(), s_.route_w.data());
    // Counting sort of the (token, slot) pairs by expert; tokens stay in order within an expert.
    s_.expert_start.assign((size_t)n_expert + 1, 0);
    for (int64_t i = 0; i < n * k; ++i) ++s_.expert_start[s_.route_ids[i] + 1];
    for (int e = 0; e < n_expert; ++e) s_.expert_start[e + 1] += s_.expert_start[e];
    grow(s_.pair_tok, n * k);
    grow(s_.pair_w, n * k);
    std::vector<int32_t> fill(s_.expert_start.begin(), s_.expert_start.end() - 1);
    for (int64_t i = 0; i < n * k; ++i) {
        const int32_t e = s_.route_ids[i];
        s_.pair_tok[fill[e]] = (int32_t)(i / k);
        s_.pair_w[fill[e]++] = s_.route_w[i];
    }
}

void Context::moe_ffn_block(int il, int64_t n) {
    const HParams& hp = model_->hparams();
    const LayerWeights& L = model_->layer(il);
    const int64_t n_embd = hp.n_embd, n_ff = L.ffn_up_exps.first.n_out;
    ops::rms_norm(s_.x.data(), L.ffn_norm.data(), s_.h.data(), n, n_embd, hp.rms_eps);
    route_tokens(il, n);
    grow(s_.gate, n * n_ff);
    grow(s_.up, n * n_ff);
    grow(s_.moe_x, n * n_embd);
    grow(s_.moe_out, n * n_embd);
    grow(s_.moe_y, n * n_embd);
    std::fill(s_.moe_y.begin(), s_.moe_y.begin() + n * n_embd, 0.0f);
    // Batch-invariant decode takes the grouped path for one token too: a token's experts then
    // add into its output in expert order whatever else is in the batch.
    if (n == 1 && !deterministic_) {
        decode_experts(L, n_ff);
    } else {
        prefill_experts(L, n, n_ff);
    }
    if (L.ffn_up_shexp.data) shared_expert(L, n);
    float* y = s_.moe_y.data();
    if (!L.post_ffn_norm.empty()) ops::rms_norm(y, L.post_ffn_norm.data(), y, n, n_embd, hp.rms_eps);
    for (int64_t i = 0; i < n * n_embd; ++i) s_.x[i] += y[i];
}

// One token: gate and up of two experts at a time share one parallel region (same input).
void Context::decode_experts(const LayerWeights& L, int64_t n_ff) {
    const HParams& hp = model_->hparams();
    const int64_t n_embd = hp.n_embd;
    const int k = hp.n_expert_used;
    grow(s_.gate, 2 * n_ff);
    grow(s_.up, 2 * n_ff);
    for (int j0 = 0; j0 < k; j0 += 2) {
        const int c = std::min(2, k - j0);
        ops::WeightView w[4];
        const ops::WeightView* ws[4];
        float* outs[4];
        for (int i = 0; i < c; ++i) {
            const int32_t e = s_.route_ids[j0 + i];
            w[2 * i] = L.ffn_gate_exps.expert(e);
            w[2 * i + 1] = L.ffn_up_exps.expert(e);
            ws[2 * i] = &w[2 * i];
            ws[2 * i + 1] = &w[2 * i + 1];
            outs[2 * i] = s_.gate.data() + i * n_ff;
            outs[2 * i + 1] = s_.up.data() + i * n_ff;
        }
        ops::matmul_multi(pool_, ws, outs, 2 * c, s_.h.data(), 1, s_.act);
        ops::gated_activation(hp.activation, s_.gate.data(), s_.up.data(), c * n_ff);
        for (int i = 0; i < c; ++i) {
            const ops::WeightView down = L.ffn_down_exps.expert(s_.route_ids[j0 + i]);
            ops::matmul(pool_, down, s_.gate.data() + i * n_ff, 1, s_.moe_out.data(), s_.act);
            const float wt = s_.route_w[j0 + i];
            for (int64_t d = 0; d < n_embd; ++d) s_.moe_y[d] += wt * s_.moe_out[d];
        }
    }
}

// Tokens grouped by expert: each expert's weights stream once over the tokens routed to it.
void Context::prefill_experts(const LayerWeights& L, int64_t n, int64_t n_ff) {
    const HParams& hp = model_->hparams();
    const int64_t n_embd = hp.n_embd;
    for (int e = 0; e < hp.n_expert; ++e) {
        const int32_t p0 = s_.expert_start[e], m = s_.expert_start[e + 1] - p0;
        if (m == 0) continue;
        const int32_t* tok = s_.pair_tok.data() + p0;
        const float* w = s_.pair_w.data() + p0;
        // Every token routed here, in order (always so in decode): no gather needed.
        const float* in = s_.h.data();
        if (m != n) {
            for (int32_t j = 0; j < m; ++j)
                std::memcpy(&s_.moe_x[(size_t)j * n_embd], &s_.h[(size_t)tok[j] * n_embd], n_embd * sizeof(float));
            in = s_.moe_x.data();
        }
        const ops::WeightView gate = L.ffn_gate_exps.expert(e), up = L.ffn_up_exps.expert(e);
        const ops::WeightView down = L.ffn_down_exps.expert(e);
        const ops::WeightView* gate_up[2] = {&gate, &up};
        float* gate_up_out[2] = {s_.gate.data(), s_.up.data()};
        ops::matmul_multi(pool_, gate_up, gate_up_out, 2, in, m, s_.act);
        ops::gated_activation(hp.activation, s_.gate.data(), s_.up.data(), (int64_t)m * n_ff);
        ops::matmul(pool_, down, s_.gate.data(), m, s_.moe_out.data(), s_.act);
        for (int32_t j = 0; j < m; ++j) {
            float* y = &s_.moe_y[(size_t)tok[j] * n_embd];
            const float* o = &s_.moe_out[(size_t)j * n_embd];
            for (int64_t i = 0; i < n_embd; ++i) y[i] += w[j] * o[i];
        }
    }
}

void Context::shared_expert(const LayerWeights& L, int64_t n) {
    const HParams& hp = model_->hparams();
    const int64_t n_embd = hp.n_embd, n_ff = L.ffn_up_shexp.n_out;
    grow(s_.gate, n * n_ff);
    grow(s_.up, n * n_ff);
    const ops::WeightView* gate_up[2] = {&L.ffn_gate_shexp, &L.ffn_up_shexp};
    float* gate_up_out[2] = {s_.gate.data(), s_.up.data()};
    ops::matmul_multi(pool_, gate_up, gate_up_out, 2, s_.h.data(), n, s_.act);
    ops::gated_activation(hp.activation, s_.gate.data(), s_.up.data(), n * n_ff);
    ops::matmul(pool_, L.ffn_down_shexp, s_.gate.data(), n, s_.moe_out.data(), s_.act);
    for (int64_t t = 0; t < n; ++t) {
        float g = 1.0f;
        if (!L.ffn_gate_inp_shexp.empty()) {
            const float* h = &s_.h[(size_t)t * n_embd];
            float dot = 0.0f;
            for (int64_t i = 0; i < n_embd; ++i) dot += L.ffn_gate_inp_shexp[i] * h[i];
            g = 1.0f / (1.0f + std::exp(-dot));
        }
        float* y = &s_.moe_y[(size_t)t * n_embd];
        const float* o = &s_.moe_out[(size_t)t * n_embd];
        for (int64_t i = 0; i < n_embd; ++i) y[i] += g * o[i];
    }
}

}  // namespace llmrt
