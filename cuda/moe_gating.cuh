// Mixture-of-experts routing on the device, the same computation as ops/moe_gating.h:
// softmax or sigmoid scores, + bias for the choice only, optional group-limited selection, top
// n_used (ties to the lower expert index), weights = scores of the chosen [renormalised] * scale.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/moe_gating.h"

namespace llmrt::cuda {

constexpr int kMoeMaxExperts = 1024;

// logits (n_tokens, n_expert) -> ids, weights (n_tokens, n_used). p.bias, when set, is a device
// pointer. Parameters are checked with ops::check_gating_params (InvalidArgument).
void moe_gating(const float* logits, int64_t n_tokens, const ops::GatingParams& p, int32_t* ids, float* weights,
                cudaStream_t stream);

}  // namespace llmrt::cuda
