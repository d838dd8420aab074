// Elementwise ops of ops/activations.h on the device: the gated FFN activation
// gate[i] = act(gate[i]) * up[i] (SiLU, or GELU with the tanh approximation) and logit
// soft-capping x = cap * tanh(x / cap).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/activations.h"

namespace llmrt::cuda {

void gated_activation(ops::Activation act, float* gate, const float* up, int64_t n, cudaStream_t stream);
void softcap(float* x, int64_t n, float cap, cudaStream_t stream);

}  // namespace llmrt::cuda
