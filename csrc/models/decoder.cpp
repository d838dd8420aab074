// The generic decoder block: one forward pass for every architecture, switched by HParams and by
// which optional tensors the model has (biases, Q/K norms, sandwich norms), every op through the
// Backend (K/V storage, its basis and attention's cell lists are the backend's business).
//   x = embed(tokens) * embd_scale
//   per layer:  h = norm(x); q,k,v = proj(h) [+bias] [qk-norm]; rope(q,k); store k,v
//               a = attention(q, cache) ; o = wo a [+bias] [post-attn norm]; x += o
//               h = norm(x); f = down(act(gate h) * up h) [post-ffn norm]; x += f
//               (MoE layers: f = sum over the routed experts of weight * expert(h) [+ shared
//               expert], Backend::moe_ffn)
//   logits = output(norm(x)) [soft-cap], for the tokens that want them
#include <algorithm>
#include <cmath>

#include "models/decoder.h"

namespace llmrt {
namespace {

// The decoder's slots in Backend::buffer.
enum Buffer : int { kX, kH, kQ, kK, kV, kAttn, kGate, kUp, kOutRows };

}  // namespace

void Decoder::attention_block(Backend& be, const Model& model, KVStore& kv, const Batch& b, int il) {
    const HParams& hp = model.hparams();
    const LayerWeights& L = model.layer(il);
    const int64_t n = b.n;

    be.rms_norm(x_, L.attn_norm.data(), h_, n, hp.n_embd, hp.rms_eps);
    const ops::WeightView* qkv[3] = {&L.wq, &L.wk, &L.wv};
    float* qkv_out[3] = {q_, k_, v_};
    be.matmul_multi(qkv, qkv_out, 3, h_, n);
    if (!L.bq.empty()) be.add_rows(q_, L.bq.data(), n, (int64_t)L.bq.size());
    if (!L.bk.empty()) be.add_rows(k_, L.bk.data(), n, (int64_t)L.bk.size());
    if (!L.bv.empty()) be.add_rows(v_, L.bv.data(), n, (int64_t)L.bv.size());
    if (!L.q_norm.empty()) be.rms_norm(q_, L.q_norm.data(), q_, n * hp.n_head, hp.head_dim_k, hp.rms_eps);
    if (!L.k_norm.empty()) be.rms_norm(k_, L.k_norm.data(), k_, n * hp.n_head_kv, hp.head_dim_k, hp.rms_eps);
    const ops::RopeParams rp = model.rope_params(il);
    be.rope(q_, n, hp.n_head, hp.head_dim_k, rp);
    be.rope(k_, n, hp.n_head_kv, hp.head_dim_k, rp);

    be.kv_write(kv, il, b, k_, v_);

    AttnArgs a;
    a.layer = il;
    a.q = q_;
    a.n_tokens = n;
    a.positions = b.positions;
    a.seq_ids = b.seq_ids;
    a.window = hp.is_swa(il) ? hp.sliding_window : 0;
    a.n_head = hp.n_head;
    a.n_head_kv = hp.n_head_kv;
    a.head_dim_k = hp.head_dim_k;
    a.head_dim_v = hp.head_dim_v;
    a.scale = hp.attn_scale > 0.0f ? hp.attn_scale : 1.0f / std::sqrt((float)hp.head_dim_k);
    a.softcap = hp.attn_softcap;
    a.out = attn_;
    be.attention(kv, a);

    be.matmul(L.wo, attn_, n, h_);
    if (!L.bo.empty()) be.add_rows(h_, L.bo.data(), n, (int64_t)L.bo.size());
    if (!L.post_attn_norm.empty()) be.rms_norm(h_, L.post_attn_norm.data(), h_, n, hp.n_embd, hp.rms_eps);
    be.add(x_, h_, n * hp.n_embd);
}

void Decoder::ffn_block(Backend& be, const Model& model, int il, int64_t n) {
    const HParams& hp = model.hparams();
    const LayerWeights& L = model.layer(il);
    be.rms_norm(x_, L.ffn_norm.data(), h_, n, hp.n_embd, hp.rms_eps);
    float* y = h_;
    if (L.is_moe()) {
        y = be.buffer(kOutRows, (size_t)(n * hp.n_embd));
        be.moe_ffn(hp, L, h_, n, y);
    } else {
        const int64_t n_ff = L.ffn_up.n_out;
        const ops::WeightView* gate_up[2] = {&L.ffn_gate, &L.ffn_up};
        float* gate_up_out[2] = {gate_, up_};
        be.matmul_multi(gate_up, gate_up_out, 2, h_, n);
        be.gated_activation(hp.activation, gate_, up_, n * n_ff);
        be.matmul(L.ffn_down, gate_, n, y);
    }
    if (!L.post_ffn_norm.empty()) be.rms_norm(y, L.post_ffn_norm.data(), y, n, hp.n_embd, hp.rms_eps);
    be.add(x_, y, n * hp.n_embd);
}

void Decoder::forward(Backend& be, const Model& model, KVStore& kv, const Batch& b, float* logits) {
    const HParams& hp = model.hparams();
    const int64_t n = b.n;
    int64_t n_ff = 0;
    for (int il = 0; il < hp.n_layer; ++il) n_ff = std::max(n_ff, model.layer(il).ffn_up.n_out);
    x_ = be.buffer(kX, (size_t)(n * hp.n_embd));
    h_ = be.buffer(kH, (size_t)(n * std::max<int64_t>(hp.n_embd, (int64_t)hp.n_head * hp.head_dim_v)));
    q_ = be.buffer(kQ, (size_t)(n * hp.n_head * hp.head_dim_k));
    k_ = be.buffer(kK, (size_t)(n * hp.n_head_kv * hp.head_dim_k));
    v_ = be.buffer(kV, (size_t)(n * hp.n_head_kv * hp.head_dim_v));
    attn_ = be.buffer(kAttn, (size_t)(n * hp.n_head * hp.head_dim_v));
    gate_ = be.buffer(kGate, (size_t)(n * n_ff));
    up_ = be.buffer(kUp, (size_t)(n * n_ff));

    be.begin_batch(kv, b, hp.sliding_window > 0 && !hp.layer_is_swa.empty() ? hp.sliding_window : 0);
    be.get_rows(model.token_embd(), b.tokens, n, x_);
    if (hp.embd_scale != 1.0f) be.scale(x_, n * hp.n_embd, hp.embd_scale);

    for (int il = 0; il < hp.n_layer; ++il) {
        attention_block(be, model, kv, b, il);
        ffn_block(be, model, il, n);
    }

    // Only the rows whose logits are wanted go through the (large) output head.
    const int64_t n_out = b.count_wanted();
    if (n_out == 0) return;
    float* rows = be.buffer(kOutRows, (size_t)(n_out * hp.n_embd));
    be.gather_rows(x_, b.want_logits, n, hp.n_embd, rows);
    be.rms_norm(rows, model.output_norm().data(), rows, n_out, hp.n_embd, hp.rms_eps);
    be.matmul(model.output(), rows, n_out, logits);
    if (hp.final_softcap > 0.0f) be.softcap(logits, n_out * hp.n_vocab, hp.final_softcap);
}

}  // namespace llmrt
