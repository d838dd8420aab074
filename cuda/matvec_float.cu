// One warp per row, 4 rows per thread block, up to kMaxCols tokens per launch; lanes stride the
// row so a warp reads 32 consecutive elements at a time.
#include <algorithm>
#include <string>

#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/matvec_float.cuh"
#include "quant/types.h"

namespace llmrt::cuda {
namespace {

constexpr int kRowsPerBlock = 4;
constexpr int kMaxCols = 8;

struct F32 {
    using T = float;
    static __device__ __forceinline__ float load(const float* p) { return *p; }
};
struct F16 {
    using T = uint16_t;
    static __device__ __forceinline__ float load(const uint16_t* p) { return half_to_float(*p); }
};
struct BF16 {
    using T = uint16_t;
    static __device__ __forceinline__ float load(const uint16_t* p) { return bf16_to_float(*p); }
};

template <class E>
__global__ void matvec_kernel(const typename E::T* __restrict__ w, int64_t n_in, int64_t n_out,
                              const float* __restrict__ x, int n_cols, float* __restrict__ y) {
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + threadIdx.y;
    if (row >= n_out) return;
    const int col0 = blockIdx.y * kMaxCols;
    const typename E::T* wr = w + row * n_in;
    const float* x0 = x + (int64_t)col0 * n_in;
    float acc[kMaxCols];
#pragma unroll
    for (int c = 0; c < kMaxCols; ++c) acc[c] = 0.0f;
    for (int64_t i = threadIdx.x; i < n_in; i += kWarp) {
        const float wv = E::load(wr + i);
#pragma unroll
        for (int c = 0; c < kMaxCols; ++c)
            if (c < n_cols) acc[c] += wv * x0[(int64_t)c * n_in + i];
    }
#pragma unroll
    for (int c = 0; c < kMaxCols; ++c) {
        if (c >= n_cols) break;
        const float s = warp_sum(acc[c]);
        if (threadIdx.x == 0) y[(int64_t)(col0 + c) * n_out + row] = s;
    }
}

template <class E>
void launch(const void* w, int64_t n_in, int64_t n_out, const float* x, int64_t n_tokens, float* y, cudaStream_t stream) {
    const dim3 block(kWarp, kRowsPerBlock);
    for (int64_t c0 = 0; c0 < n_tokens; c0 += (int64_t)kMaxCols * 65535) {
        const int64_t cols = std::min<int64_t>(n_tokens - c0, (int64_t)kMaxCols * 65535);
        const dim3 grid(ceil_div(n_out, kRowsPerBlock), ceil_div(cols, kMaxCols));
        matvec_kernel<E><<<grid, block, 0, stream>>>((const typename E::T*)w, n_in, n_out, x + c0 * n_in,
                                                    (int)std::min<int64_t>(cols, kMaxCols), y + c0 * n_out);
        LLMRT_CUDA_CHECK_LAUNCH("matvec_float");
    }
}

}  // namespace

bool matvec_float_supports(uint32_t type) {
    const GGMLType t = (GGMLType)type;
    return t == GGMLType::F32 || t == GGMLType::F16 || t == GGMLType::BF16;
}

void matvec_float(uint32_t type, const void* w, int64_t n_in, int64_t n_out, const float* x, int64_t n_tokens,
                  float* y, cudaStream_t stream) {
    if (n_out == 0 || n_tokens == 0) return;
    switch ((GGMLType)type) {
        case GGMLType::F32: return launch<F32>(w, n_in, n_out, x, n_tokens, y, stream);
        case GGMLType::F16: return launch<F16>(w, n_in, n_out, x, n_tokens, y, stream);
        case GGMLType::BF16: return launch<BF16>(w, n_in, n_out, x, n_tokens, y, stream);
        default: throw DeviceError("matvec_float: not a float tensor type: " + std::to_string(type));
    }
}

}  // namespace llmrt::cuda
