#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/rmsnorm.cuh"

namespace llmrt::cuda {
namespace {

constexpr int kThreads = 256;

// One thread block per row. Each thread owns elements tid, tid + kThreads, ... in both passes,
// so the fused add's write-back and an in-place `out` need no barrier between them.
template <bool kAdd>
__global__ void rms_norm_kernel(float* x, const float* add, const float* __restrict__ w, float* out, int64_t n,
                                float eps) {  // out may be x or add: no __restrict__ on those
    float* xr = x + (int64_t)blockIdx.x * n;
    float* yr = out + (int64_t)blockIdx.x * n;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) {
        float v = xr[i];
        if (kAdd) {
            v += add[(int64_t)blockIdx.x * n + i];
            xr[i] = v;
        }
        sum += v * v;
    }
    __shared__ float partial[kThreads / kWarp];
    sum = warp_sum(sum);
    if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = sum;
    __syncthreads();
    if (threadIdx.x < kWarp) {
        sum = threadIdx.x < kThreads / kWarp ? partial[threadIdx.x] : 0.0f;
        sum = warp_sum(sum);
        if (threadIdx.x == 0) partial[0] = sum;
    }
    __syncthreads();
    const float scale = 1.0f / sqrtf(partial[0] / (float)n + eps);
    for (int64_t i = threadIdx.x; i < n; i += kThreads) yr[i] = xr[i] * scale * w[i];
}

}  // namespace

void rms_norm(float* x, const float* add, const float* w, float* out, int64_t n_rows, int64_t n, float eps,
              cudaStream_t stream) {
    if (n_rows == 0) return;
    if (n_rows > 0x7fffffff) throw InvalidArgument("rms_norm: too many rows");
    if (add) rms_norm_kernel<true><<<(unsigned)n_rows, kThreads, 0, stream>>>(x, add, w, out, n, eps);
    else rms_norm_kernel<false><<<(unsigned)n_rows, kThreads, 0, stream>>>(x, add, w, out, n, eps);
    LLMRT_CUDA_CHECK_LAUNCH("rms_norm");
}

}  // namespace llmrt::cuda
