// Mixture-of-experts routing: router logits -> per-token chosen experts and their weights.
//   scores  = softmax(logits) | sigmoid(logits)                    (n_expert per token)
//   choice  = scores + bias                                         (bias: DeepSeek-V3's correction; may be absent)
//   groups  : with n_group > 1, only the topk_group groups with the largest sum of their two
//             best choice values stay eligible (DeepSeek-V3's group-limited routing)
//   chosen  = top n_used of choice, ties to the lower expert index (a stable descending sort)
//   weights = scores[chosen] [/ their sum] * scale                  (the bias never weights)
#pragma once
#include <cstdint>

namespace llmrt::ops {

// The values of llama.cpp's `expert_gating_func` metadata key.
enum class GatingFunc : int { Softmax = 1, Sigmoid = 2 };

struct GatingParams {
    int n_expert = 0;
    int n_used = 0;
    GatingFunc func = GatingFunc::Softmax;
    bool norm_weights = false;     // renormalise the chosen weights to sum to 1
    float scale = 1.0f;            // multiplies the final weights
    const float* bias = nullptr;   // (n_expert) added for the choice only; nullptr: none
    int n_group = 0;               // 0 or 1: no group limit
    int topk_group = 0;            // groups kept when n_group > 1
};

// logits (n_tokens, n_expert) -> ids (n_tokens, n_used), weights (n_tokens, n_used), each
// token's experts in descending order of their choice value. Throws InvalidArgument on
// impossible parameters.
void moe_gating(const float* logits, int64_t n_tokens, const GatingParams& p, int32_t* ids, float* weights);

void check_gating_params(const GatingParams& p);

}  // namespace llmrt::ops
