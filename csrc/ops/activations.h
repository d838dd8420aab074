#pragma once
#include <cstdint>

namespace llmrt::ops {

enum class Activation : int { SiLU = 0, GeLUTanh = 1 };

// Gated FFN activation in place: gate[i] = act(gate[i]) * up[i].
void gated_activation(Activation act, float* gate, const float* up, int64_t n);
void gated_activation_ref(Activation act, float* gate, const float* up, int64_t n);  // scalar (libm)

// Logit soft-capping: x = cap * tanh(x / cap).
void softcap(float* x, int64_t n, float cap);

}  // namespace llmrt::ops
