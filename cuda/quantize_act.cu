#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/quantize_act.cuh"

namespace llmrt::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

// One warp per 32-value block, one value per lane. Divisions are IEEE (no fast math), so the
// quants equal the CPU's bit for bit.
__global__ void quantize_a8_32_kernel(const float* __restrict__ x, block_a8_32* __restrict__ out, int64_t n_blocks) {
    const int64_t b = (int64_t)blockIdx.x * kWarpsPerBlock + threadIdx.y;
    if (b >= n_blocks) return;
    const int lane = threadIdx.x;
    const float v = x[b * 32 + lane];
    const float amax = warp_max(fabsf(v));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const int q = (int)rintf(v * id);
    out[b].qs[lane] = (int8_t)q;
    const int sum = warp_sum(q);
    if (lane == 0) {
        const float dr = round_through_half(d);
        out[b].d = dr;
        out[b].s = dr * (float)sum;
    }
}

}  // namespace

void quantize_a8_32(const float* x, block_a8_32* out, int64_t n_rows, int64_t n, cudaStream_t stream) {
    if (n % 32 != 0) throw InvalidArgument("quantize_a8_32: row length is not a multiple of 32");
    const int64_t n_blocks = n_rows * (n / 32);
    if (n_blocks == 0) return;
    const dim3 block(kWarp, kWarpsPerBlock);
    quantize_a8_32_kernel<<<ceil_div(n_blocks, kWarpsPerBlock), block, 0, stream>>>(x, out, n_blocks);
    LLMRT_CUDA_CHECK_LAUNCH("quantize_a8_32");
}

}  // namespace llmrt::cuda
