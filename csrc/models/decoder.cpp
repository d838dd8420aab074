// The generic decoder block: one forward pass for every architecture, switched by HParams and by
// which optional tensors the model has (biases, Q/K norms, sandwich norms).
//   x = embed(tokens) * embd_scale
//   per layer:  h = norm(x); q,k,v = proj(h) [+bias] [qk-norm]; rope(q,k); store k,v
//               a = attention(q, cache) ; o = wo a [+bias] [post-attn norm]; x += o
//               h = norm(x); f = down(act(gate h) * up h) [post-ffn norm]; x += f
//               (MoE layers: f = sum over the routed experts of weight * expert(h) [+ shared
//               expert], models/moe_ffn.cpp)
//   logits = output(norm(x)) [soft-cap], for the tokens that want them
#include <algorithm>
#include <cmath>
#include <cstring>

#include "context.h"
#include "kv_rows.h"
#include "ops/activations.h"
#include "ops/attention.h"
#include "ops/hadamard.h"
#include "ops/norm.h"
#include "ops/vec.h"

namespace llmrt {
namespace {

void add_bias(float* y, const Vector& bias, int64_t n_rows) {
    if (bias.empty()) return;
    const int64_t n = (int64_t)bias.size();
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < n; ++i) y[r * n + i] += bias[i];
}

void add_into(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

void Context::store_kv(int il, const Batch& b) {
    const HParams& hp = model_->hparams();
    const int64_t k_dim = (int64_t)hp.n_head_kv * hp.head_dim_k, v_dim = (int64_t)hp.n_head_kv * hp.head_dim_v;
    const size_t krow = k_row_bytes(), vrow = v_row_bytes();
    for (int64_t t = 0; t < b.n; ++t) {
        kv_store_row(type_k_, s_.k.data() + t * k_dim, k_cache_[il].data() + (size_t)b.cells[t] * krow, k_dim);
        kv_store_row(type_v_, s_.v.data() + t * v_dim, v_cache_[il].data() + (size_t)b.cells[t] * vrow, v_dim);
    }
}

const ops::RopeAngles& Context::rope_angles(const ops::RopeParams& p, const Batch& b) {
    for (const auto& [q, angles] : s_.rope)
        if (q.n_rot == p.n_rot && q.freq_base == p.freq_base && q.freq_scale == p.freq_scale &&
            q.freq_factors == p.freq_factors && q.mode == p.mode && q.ext_factor == p.ext_factor &&
            q.corr_low == p.corr_low && q.corr_high == p.corr_high && q.mscale == p.mscale)
            return angles;
    s_.rope.emplace_back(p, ops::RopeAngles{});
    ops::rope_angles(b.positions, b.n, p, s_.rope.back().second);
    return s_.rope.back().second;
}

void Context::attention_block(int il, const Batch& b) {
    const HParams& hp = model_->hparams();
    const LayerWeights& L = model_->layer(il);
    const int64_t n = b.n;

    ops::rms_norm(s_.x.data(), L.attn_norm.data(), s_.h.data(), n, hp.n_embd, hp.rms_eps);
    const ops::WeightView* qkv[3] = {&L.wq, &L.wk, &L.wv};
    float* qkv_out[3] = {s_.q.data(), s_.k.data(), s_.v.data()};
    ops::matmul_multi(pool_, qkv, qkv_out, 3, s_.h.data(), n, s_.act);
    add_bias(s_.q.data(), L.bq, n);
    add_bias(s_.k.data(), L.bk, n);
    add_bias(s_.v.data(), L.bv, n);
    if (!L.q_norm.empty()) ops::rms_norm(s_.q.data(), L.q_norm.data(), s_.q.data(), n * hp.n_head, hp.head_dim_k, hp.rms_eps);
    if (!L.k_norm.empty()) ops::rms_norm(s_.k.data(), L.k_norm.data(), s_.k.data(), n * hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    const ops::RopeParams rp = model_->rope_params(il);
    const ops::RopeAngles& angles = rope_angles(rp, b);
    ops::rope_apply(s_.q.data(), n, hp.n_head, hp.head_dim_k, rp, angles);
    ops::rope_apply(s_.k.data(), n, hp.n_head_kv, hp.head_dim_k, rp, angles);
    // Quantized caches hold K and V in a Hadamard basis; q turns with K so q.k is unchanged.
    if (rot_k_) {
        ops::hadamard_blocks(s_.q.data(), n * hp.n_head, hp.head_dim_k, rot_k_);
        ops::hadamard_blocks(s_.k.data(), n * hp.n_head_kv, hp.head_dim_k, rot_k_);
    }
    if (rot_v_) ops::hadamard_blocks(s_.v.data(), n * hp.n_head_kv, hp.head_dim_v, rot_v_);

    store_kv(il, b);

    ops::AttentionArgs a;
    a.q = s_.q.data();
    a.k_cache = k_cache_[il].data();
    a.v_cache = v_cache_[il].data();
    a.type_k = type_k_;
    a.type_v = type_v_;
    a.visible = hp.is_swa(il) ? s_.visible_swa.data() : s_.visible_full.data();
    a.n_tokens = n;
    a.n_head = hp.n_head;
    a.n_head_kv = hp.n_head_kv;
    a.head_dim_k = hp.head_dim_k;
    a.head_dim_v = hp.head_dim_v;
    a.scale = hp.attn_scale > 0.0f ? hp.attn_scale : 1.0f / std::sqrt((float)hp.head_dim_k);
    a.softcap = hp.attn_softcap;
    a.out = s_.attn.data();
    ops::attention(pool_, a);
    if (rot_v_) ops::hadamard_blocks(s_.attn.data(), n * hp.n_head, hp.head_dim_v, rot_v_);  // back from V's basis

    ops::matmul(pool_, L.wo, s_.attn.data(), n, s_.h.data(), s_.act);
    add_bias(s_.h.data(), L.bo, n);
    if (!L.post_attn_norm.empty())
        ops::rms_norm(s_.h.data(), L.post_attn_norm.data(), s_.h.data(), n, hp.n_embd, hp.rms_eps);
    add_into(s_.x.data(), s_.h.data(), n * hp.n_embd);
}

void Context::ffn_block(int il, int64_t n) {
    const HParams& hp = model_->hparams();
    const LayerWeights& L = model_->layer(il);
    if (L.is_moe()) return moe_ffn_block(il, n);
    const int64_t n_ff = L.ffn_up.n_out;
    ops::rms_norm(s_.x.data(), L.ffn_norm.data(), s_.h.data(), n, hp.n_embd, hp.rms_eps);
    const ops::WeightView* gate_up[2] = {&L.ffn_gate, &L.ffn_up};
    float* gate_up_out[2] = {s_.gate.data(), s_.up.data()};
    ops::matmul_multi(pool_, gate_up, gate_up_out, 2, s_.h.data(), n, s_.act);
    ops::gated_activation(hp.activation, s_.gate.data(), s_.up.data(), n * n_ff);
    ops::matmul(pool_, L.ffn_down, s_.gate.data(), n, s_.h.data(), s_.act);
    if (!L.post_ffn_norm.empty())
        ops::rms_norm(s_.h.data(), L.post_ffn_norm.data(), s_.h.data(), n, hp.n_embd, hp.rms_eps);
    add_into(s_.x.data(), s_.h.data(), n * hp.n_embd);
}

void Context::forward(const Batch& b, float* logits) {
    const HParams& hp = model_->hparams();
    const int64_t n = b.n;
    int64_t n_ff = 0;
    for (int il = 0; il < hp.n_layer; ++il) n_ff = std::max(n_ff, model_->layer(il).ffn_up.n_out);
    s_.x.resize((size_t)(n * hp.n_embd));
    s_.h.resize((size_t)(n * std::max<int64_t>(hp.n_embd, (int64_t)hp.n_head * hp.head_dim_v)));
    s_.q.resize((size_t)(n * hp.n_head * hp.head_dim_k));
    s_.k.resize((size_t)(n * hp.n_head_kv * hp.head_dim_k));
    s_.v.resize((size_t)(n * hp.n_head_kv * hp.head_dim_v));
    s_.attn.resize((size_t)(n * hp.n_head * hp.head_dim_v));
    s_.gate.resize((size_t)(n * n_ff));
    s_.up.resize((size_t)(n * n_ff));

    s_.rope.clear();
    ops::get_rows(model_->token_embd(), b.tokens, n, s_.x.data());
    if (hp.embd_scale != 1.0f)
        for (auto& v : s_.x) v *= hp.embd_scale;

    for (int il = 0; il < hp.n_layer; ++il) {
        attention_block(il, b);
        ffn_block(il, n);
    }

    // Only the rows whose logits are wanted go through the (large) output head.
    const int64_t n_out = count_wanted(b);
    if (n_out == 0) return;
    s_.out_rows.resize((size_t)(n_out * hp.n_embd));
    for (int64_t t = 0, j = 0; t < n; ++t)
        if (b.want_logits[t]) std::memcpy(&s_.out_rows[j++ * hp.n_embd], &s_.x[t * hp.n_embd], hp.n_embd * sizeof(float));
    ops::rms_norm(s_.out_rows.data(), model_->output_norm().data(), s_.out_rows.data(), n_out, hp.n_embd, hp.rms_eps);
    ops::matmul(pool_, model_->output(), s_.out_rows.data(), n_out, logits, s_.act);
    if (hp.final_softcap > 0.0f) ops::softcap(logits, n_out * hp.n_vocab, hp.final_softcap);
}

}  // namespace llmrt
