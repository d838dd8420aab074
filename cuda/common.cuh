// Device-side helpers shared by the kernels (only included from .cu files): warp reductions,
// half/bfloat16 bit conversions and the unaligned 32-bit loads the packed GGUF blocks need
// (most block structs are 2-byte aligned only, e.g. block_q4_0 is 18 bytes).
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstring>

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

// The block decoders below are __host__ __device__ so the same code also runs on the CPU
// (mmvq_host, a check of the block layouts that needs no GPU).
__host__ __device__ __forceinline__ float half_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__host__ __device__ __forceinline__ float bf16_to_float(uint16_t h) {
#ifdef __CUDA_ARCH__
    return __uint_as_float((uint32_t)h << 16);
#else
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
#endif
}
// Round through fp16 (round to nearest even), as the CPU's block_a8_32 scale is stored.
__device__ __forceinline__ float round_through_half(float x) { return __half2float(__float2half_rn(x)); }

// 4 bytes at a 2-byte aligned address.
__host__ __device__ __forceinline__ int load_i32_a2(const uint8_t* p) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return (int)((uint32_t)h[0] | (uint32_t)h[1] << 16);
}
// 4 bytes at a 4-byte aligned address.
__host__ __device__ __forceinline__ int load_i32_a4(const uint8_t* p) { return *reinterpret_cast<const int*>(p); }

// c + sum of the four signed byte products of a and b.
__host__ __device__ __forceinline__ int dp4a(int a, int b, int c) {
#ifdef __CUDA_ARCH__
    return __dp4a(a, b, c);
#else
    for (int i = 0; i < 4; ++i) c += (int)(int8_t)(a >> (8 * i)) * (int)(int8_t)(b >> (8 * i));
    return c;
#endif
}

// Per-byte signed saturating a - b.
__host__ __device__ __forceinline__ int vsubss4(int a, int b) {
#ifdef __CUDA_ARCH__
    return (int)__vsubss4((unsigned)a, (unsigned)b);
#else
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
        int d = (int)(int8_t)(a >> (8 * i)) - (int)(int8_t)(b >> (8 * i));
        d = d < -128 ? -128 : (d > 127 ? 127 : d);
        r |= (uint32_t)(uint8_t)d << (8 * i);
    }
    return (int)r;
#endif
}

__host__ __device__ constexpr int ceil_div(int64_t a, int64_t b) { return (int)((a + b - 1) / b); }

}  // namespace llmrt::cuda
