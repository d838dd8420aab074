// Device-side helpers shared by the kernels (only included from .cu files): warp reductions,
// half/bfloat16 bit conversions and the unaligned 32-bit loads the packed GGUF blocks need
// (most block structs are 2-byte aligned only, e.g. block_q4_0 is 18 bytes).
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace llmrt::cuda {

constexpr int kWarp = 32;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ int warp_sum(int v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float half_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf16_to_float(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }
// Round through fp16 (round to nearest even), as the CPU's block_a8_32 scale is stored.
__device__ __forceinline__ float round_through_half(float x) { return __half2float(__float2half_rn(x)); }

// 4 bytes at a 2-byte aligned address.
__device__ __forceinline__ int load_i32_a2(const uint8_t* p) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return (int)((uint32_t)h[0] | (uint32_t)h[1] << 16);
}
// 4 bytes at a 4-byte aligned address.
__device__ __forceinline__ int load_i32_a4(const uint8_t* p) { return *reinterpret_cast<const int*>(p); }

__host__ __device__ constexpr int ceil_div(int64_t a, int64_t b) { return (int)((a + b - 1) / b); }

}  // namespace llmrt::cuda
