#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/rope.cuh"

namespace llmrt::cuda {
namespace {

// Thread block = one token; threads cover (head, pair): theta_i = pos * freq_scale *
// theta_scale^i [/ freq_factor_i], the power taken as ops/rope.cpp takes it (i multiplications).
template <bool kNeox>
__global__ void rope_kernel(float* __restrict__ x, const int32_t* __restrict__ positions, int n_heads, int head_dim,
                            int n_rot, float theta_scale, float freq_scale, const float* __restrict__ freq_factors) {
    const int half = n_rot / 2;
    const int t = blockIdx.x;
    const float pos = (float)positions[t] * freq_scale;
    for (int j = threadIdx.x; j < n_heads * half; j += blockDim.x) {
        const int h = j / half, i = j % half;
        // the CPU's running product, multiplication for multiplication: bit-equal angles
        float theta = pos;
        for (int r = 0; r < i; ++r) theta *= theta_scale;
        if (freq_factors) theta /= freq_factors[i];
        float s, c;
        sincosf(theta, &s, &c);
        float* v = x + ((int64_t)t * n_heads + h) * head_dim;
        const int a = kNeox ? i : 2 * i;
        const int b = kNeox ? i + half : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
    }
}

}  // namespace

void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim, const ops::RopeParams& p,
          cudaStream_t stream) {
    if (p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > head_dim)
        throw InvalidArgument("rope: n_rot must be even and in 2..head_dim");
    if (n_tokens == 0 || n_heads == 0) return;
    if (n_tokens > 0x7fffffff) throw InvalidArgument("rope: too many tokens");
    const float theta_scale = powf(p.freq_base, -2.0f / (float)p.n_rot);
    const int threads = 256;
    if (p.mode == ops::RopeMode::Neox)
        rope_kernel<true><<<(unsigned)n_tokens, threads, 0, stream>>>(x, positions, n_heads, head_dim, p.n_rot,
                                                                       theta_scale, p.freq_scale, p.freq_factors);
    else
        rope_kernel<false><<<(unsigned)n_tokens, threads, 0, stream>>>(x, positions, n_heads, head_dim, p.n_rot,
                                                                        theta_scale, p.freq_scale, p.freq_factors);
    LLMRT_CUDA_CHECK_LAUNCH("rope");
}

}  // namespace llmrt::cuda
