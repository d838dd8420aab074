#include "ops/activations.h"

#include <cmath>

#include "ops/activations_kernels.h"
#include "runtime/cpu_features.h"

namespace llmrt::ops {

void gated_activation(Activation act, float* gate, const float* up, int64_t n) {
#if defined(__x86_64__) || defined(_M_X64)
    if ((int)simd_level() >= (int)SimdLevel::AVX2) return avx2::gated_activation(act, gate, up, n);
#endif
    gated_activation_ref(act, gate, up, n);
}

void gated_activation_ref(Activation act, float* gate, const float* up, int64_t n) {
    if (act == Activation::SiLU) {
        for (int64_t i = 0; i < n; ++i) {
            const float g = gate[i];
            gate[i] = g / (1.0f + std::exp(-g)) * up[i];
        }
    } else {
        // tanh approximation of GELU, as the models using it were trained with
        constexpr float kSqrt2OverPi = 0.7978845608028654f;
        for (int64_t i = 0; i < n; ++i) {
            const float g = gate[i];
            gate[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * g * (1.0f + 0.044715f * g * g))) * up[i];
        }
    }
}

void softcap(float* x, int64_t n, float cap) {
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace llmrt::ops
