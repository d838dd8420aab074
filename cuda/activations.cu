#include <algorithm>

#include "cuda/activations.cuh"
#include "cuda/common.cuh"
#include "cuda/device.cuh"

namespace llmrt::cuda {
namespace {

constexpr int kThreads = 256;

template <ops::Activation kAct>
__global__ void gated_kernel(float* __restrict__ gate, const float* __restrict__ up, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * kThreads + threadIdx.x; i < n; i += (int64_t)gridDim.x * kThreads) {
        const float g = gate[i];
        float a;
        if (kAct == ops::Activation::SiLU) {
            a = g / (1.0f + expf(-g));
        } else {
            constexpr float kSqrt2OverPi = 0.7978845608028654f;
            a = 0.5f * g * (1.0f + tanhf(kSqrt2OverPi * g * (1.0f + 0.044715f * g * g)));
        }
        gate[i] = a * up[i];
    }
}

__global__ void softcap_kernel(float* __restrict__ x, int64_t n, float cap) {
    for (int64_t i = (int64_t)blockIdx.x * kThreads + threadIdx.x; i < n; i += (int64_t)gridDim.x * kThreads)
        x[i] = cap * tanhf(x[i] / cap);
}

unsigned grid_for(int64_t n) { return (unsigned)std::min<int64_t>(ceil_div(n, kThreads), 65535); }

}  // namespace

void gated_activation(ops::Activation act, float* gate, const float* up, int64_t n, cudaStream_t stream) {
    if (n == 0) return;
    if (act == ops::Activation::SiLU) gated_kernel<ops::Activation::SiLU><<<grid_for(n), kThreads, 0, stream>>>(gate, up, n);
    else if (act == ops::Activation::GeLUTanh)
        gated_kernel<ops::Activation::GeLUTanh><<<grid_for(n), kThreads, 0, stream>>>(gate, up, n);
    else throw InvalidArgument("gated_activation: unknown activation");
    LLMRT_CUDA_CHECK_LAUNCH("gated_activation");
}

void softcap(float* x, int64_t n, float cap, cudaStream_t stream) {
    if (n == 0) return;
    if (!(cap > 0.0f)) throw InvalidArgument("softcap: cap must be positive");
    softcap_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, n, cap);
    LLMRT_CUDA_CHECK_LAUNCH("softcap");
}

}  // namespace llmrt::cuda
