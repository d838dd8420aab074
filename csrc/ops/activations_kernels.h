// Private to ops/activations*.cpp: the scalar reference and the AVX2 path (activations_avx2.cpp,
// entered only after simd_level() >= AVX2).
#pragma once
#include <cstdint>

#include "ops/activations.h"

namespace llmrt::ops {
namespace avx2 {
void gated_activation(Activation act, float* gate, const float* up, int64_t n);
}  // namespace avx2
}  // namespace llmrt::ops
