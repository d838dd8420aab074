// The switches of the generic decoder block, filled from an architecture spec
// (python/llmrt/arch/*.py) and the GGUF metadata. Python decides them; C++ only obeys.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/activations.h"
#include "ops/moe_gating.h"
#include "ops/rope.h"

namespace llmrt {

struct HParams {
    int n_vocab = 0;
    int n_embd = 0;
    int n_layer = 0;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim_k = 0;     // key_length
    int head_dim_v = 0;     // value_length
    int n_ff = 0;
    float rms_eps = 1e-5f;

    // RoPE: global layers use rope_base/rope_scale, sliding-window layers the *_swa pair.
    int n_rot = 0;
    ops::RopeMode rope_mode = ops::RopeMode::Normal;
    float rope_base = 10000.0f, rope_scale = 1.0f;
    float rope_base_swa = 10000.0f, rope_scale_swa = 1.0f;
    // YaRN on the global layers (ops/rope.h; 0: off); Python computes the correction range.
    float rope_ext_factor = 0.0f, rope_corr_low = 0.0f, rope_corr_high = 0.0f, rope_mscale = 1.0f;

    int sliding_window = 0;                 // 0: no layer has a window
    std::vector<uint8_t> layer_is_swa;      // (n_layer); empty: none

    ops::Activation activation = ops::Activation::SiLU;
    float embd_scale = 1.0f;                // token embeddings are multiplied by this
    float attn_scale = 0.0f;                // 0: 1/sqrt(head_dim_k)
    float attn_softcap = 0.0f;              // 0: off
    float final_softcap = 0.0f;             // 0: off

    // Mixture of experts (n_expert == 0: dense FFN). Each MoE layer routes every token to
    // n_expert_used of n_expert expert FFNs (ops/moe_gating.h) and may add a shared expert.
    int n_expert = 0;
    int n_expert_used = 0;
    ops::GatingFunc expert_gating = ops::GatingFunc::Softmax;
    bool expert_weights_norm = false;       // renormalise the chosen experts' weights
    float expert_weights_scale = 1.0f;
    int expert_group_count = 0;             // group-limited routing (0: off)
    int expert_group_used_count = 0;

    bool is_swa(int il) const { return !layer_is_swa.empty() && layer_is_swa[il]; }
};

inline ops::GatingParams gating_params(const HParams& hp, const float* bias) {
    ops::GatingParams g;
    g.n_expert = hp.n_expert;
    g.n_used = hp.n_expert_used;
    g.func = hp.expert_gating;
    g.norm_weights = hp.expert_weights_norm;
    g.scale = hp.expert_weights_scale;
    g.bias = bias;
    g.n_group = hp.expert_group_count;
    g.topk_group = hp.expert_group_used_count;
    return g;
}

inline ops::RopeParams rope_params_for_layer(const HParams& hp, int il) {
    ops::RopeParams p;
    p.n_rot = hp.n_rot;
    p.mode = hp.rope_mode;
    p.freq_base = hp.is_swa(il) ? hp.rope_base_swa : hp.rope_base;
    p.freq_scale = hp.is_swa(il) ? hp.rope_scale_swa : hp.rope_scale;
    // A layer with the global layers' RoPE gets their scaling too (Phi-3's sliding layers); one
    // with its own base or scale (Gemma's local layers) gets plain RoPE.
    if (!hp.is_swa(il) || (hp.rope_base_swa == hp.rope_base && hp.rope_scale_swa == hp.rope_scale)) {
        p.ext_factor = hp.rope_ext_factor;
        p.corr_low = hp.rope_corr_low;
        p.corr_high = hp.rope_corr_high;
        p.mscale = hp.rope_mscale;
    }
    return p;
}

}  // namespace llmrt
