// Rotary position embedding. Two pairings (ggml's numbering):
//   Normal (0): rotate (x[2i], x[2i+1])            -- llama-family GGUFs (Q/K permuted at conversion)
//   Neox   (2): rotate (x[i], x[i + n_rot/2])      -- gemma, qwen, ...
// theta_i = pos * freq_scale * base^(-2i/n_rot) / freq_factor[i]; dims past n_rot pass through.
#pragma once
#include <cstdint>
#include <vector>

namespace llmrt::ops {

enum class RopeMode : int { Normal = 0, Neox = 2 };

struct RopeParams {
    int n_rot = 0;
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;
    const float* freq_factors = nullptr;  // (n_rot / 2) or nullptr
    RopeMode mode = RopeMode::Normal;
    // YaRN (ext_factor > 0): frequency i keeps its unscaled angle below corr_low, takes the
    // freq_scale-d one above corr_high, and a linear blend between; cos and sin are multiplied
    // by mscale (the attention temperature correction).
    float ext_factor = 0.0f;
    float corr_low = 0.0f, corr_high = 0.0f;
    float mscale = 1.0f;
};

// YaRN's angle of frequency i from its unscaled angle.
float yarn_theta(const RopeParams& p, int i, float extrap);

// The rotation angles of a batch: cos and sin of (token, frequency i), (n_tokens, n_rot / 2)
// each. They depend on the positions and the parameters only, so a forward pass computes them
// once per distinct RopeParams and every layer's Q and K reuse them.
struct RopeAngles {
    std::vector<float> cos, sin;  // (n_tokens, n_rot / 2)
    int half = 0;
};
void rope_angles(const int32_t* positions, int64_t n_tokens, const RopeParams& p, RopeAngles& out);
// x: (n_tokens, n_heads, head_dim), rotated in place by angles computed for the same tokens and p.
void rope_apply(float* x, int64_t n_tokens, int n_heads, int head_dim, const RopeParams& p, const RopeAngles& a);

// Both steps at once. x: (n_tokens, n_heads, head_dim), rotated in place; positions: (n_tokens)
void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim, const RopeParams& p);

// Rotate one head vector by `delta` positions (used to re-rotate cached K after a shift).
void rope_one(float* x, int32_t position, const RopeParams& p);

}  // namespace llmrt::ops
