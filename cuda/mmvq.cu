// One warp per weight row (4 rows per thread block); lane i takes the row's 32-value sub-blocks
// i, i + 32, ...; each sub-block is 8 dp4a against one activation block, then a warp sum. Up to
// kMaxCols tokens share a launch so a weight sub-block is fetched once for all of them.
//
// Per type, dot32(w, sub, a) is the dot product of sub-block `sub` of weight block `w` with the
// activation block a, in floats, from the block formulas in quant/blocks.h:
//   sum_j x_j a_j = d_w * (a.d * sum_j q_j aq_j) + offset * a.s     (a.s = a.d * sum_j aq_j)
#include "cuda/common.cuh"
#include "cuda/device.cuh"
#include "cuda/mmvq.cuh"
#include "quant/types.h"

#include <algorithm>
#include <string>

namespace llmrt::cuda {
namespace {

constexpr int kRowsPerBlock = 4;
constexpr int kMaxCols = 8;

__host__ __device__ __forceinline__ int a_int(const block_a8_32& a, int k) { return load_i32_a4((const uint8_t*)a.qs + 4 * k); }

// Spreads 4 bits to bit 4 of each byte (the fifth bit of Q5_0 quants).
__host__ __device__ __forceinline__ int spread_bits4(uint32_t b) {
    return (int)(((b & 1u) << 4) | ((b & 2u) << 11) | ((b & 4u) << 18) | ((b & 8u) << 25));
}

struct Q4_0 {
    static constexpr int kSubs = 1, kSize = sizeof(block_q4_0);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int, const block_a8_32& a) {
        const block_q4_0* b = (const block_q4_0*)w;
        int isum = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int v = load_i32_a2(b->qs + 4 * k);
            isum = dp4a(v & 0x0F0F0F0F, a_int(a, k), isum);
            isum = dp4a((v >> 4) & 0x0F0F0F0F, a_int(a, k + 4), isum);
        }
        return half_to_float(b->d) * (a.d * (float)isum - 8.0f * a.s);
    }
};

struct Q4_1 {
    static constexpr int kSubs = 1, kSize = sizeof(block_q4_1);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int, const block_a8_32& a) {
        const block_q4_1* b = (const block_q4_1*)w;
        int isum = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int v = load_i32_a4(b->qs + 4 * k);
            isum = dp4a(v & 0x0F0F0F0F, a_int(a, k), isum);
            isum = dp4a((v >> 4) & 0x0F0F0F0F, a_int(a, k + 4), isum);
        }
        return half_to_float(b->d) * a.d * (float)isum + half_to_float(b->m) * a.s;
    }
};

struct Q5_0 {
    static constexpr int kSubs = 1, kSize = sizeof(block_q5_0);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int, const block_a8_32& a) {
        const block_q5_0* b = (const block_q5_0*)w;
        const uint32_t qh = (uint32_t)load_i32_a2(b->qh);
        int isum = 0;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int v = load_i32_a2(b->qs + 4 * k);
            const int lo = (v & 0x0F0F0F0F) | spread_bits4(qh >> (4 * k));
            const int hi = ((v >> 4) & 0x0F0F0F0F) | spread_bits4(qh >> (16 + 4 * k));
            isum = dp4a(lo, a_int(a, k), isum);
            isum = dp4a(hi, a_int(a, k + 4), isum);
        }
        return half_to_float(b->d) * (a.d * (float)isum - 16.0f * a.s);
    }
};

struct Q8_0 {
    static constexpr int kSubs = 1, kSize = sizeof(block_q8_0);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int, const block_a8_32& a) {
        const block_q8_0* b = (const block_q8_0*)w;
        int isum = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) isum = dp4a(load_i32_a2((const uint8_t*)b->qs + 4 * k), a_int(a, k), isum);
        return half_to_float(b->d) * a.d * (float)isum;
    }
};

// 8 groups of 32 = the 8 sub-blocks; group j's quants are nibble j&1 of bytes 32*(j/2)...
struct Q4_K {
    static constexpr int kSubs = 8, kSize = sizeof(block_q4_K);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int j, const block_a8_32& a) {
        const block_q4_K* b = (const block_q4_K*)w;
        const uint8_t* s = b->scales;
        int sc, mn;
        if (j < 4) {
            sc = s[j] & 63;
            mn = s[j + 4] & 63;
        } else {
            sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
        const uint8_t* q = b->qs + 32 * (j / 2);
        const int shift = 4 * (j & 1);
        int isum = 0;
#pragma unroll
        for (int k = 0; k < 8; ++k) isum = dp4a((load_i32_a4(q + 4 * k) >> shift) & 0x0F0F0F0F, a_int(a, k), isum);
        return half_to_float(b->d) * (float)sc * a.d * (float)isum - half_to_float(b->dmin) * (float)mn * a.s;
    }
};

// Sub-block j = 4h + k of a Q6_K block: element l (0..31) has its low 4 bits in nibble k>>1 of
// ql[64h + 32(k&1) + l] and its high 2 bits at bit 2k of qh[32h + l]; scales[8h + 2k + l/16].
struct Q6_K {
    static constexpr int kSubs = 8, kSize = sizeof(block_q6_K);
    static __host__ __device__ __forceinline__ float dot32(const uint8_t* w, int j, const block_a8_32& a) {
        const block_q6_K* b = (const block_q6_K*)w;
        const int h = j / 4, k = j % 4;
        const uint8_t* ql = b->ql + 64 * h + 32 * (k & 1);
        const uint8_t* qh = b->qh + 32 * h;
        const int lshift = 4 * (k >> 1), hshift = 2 * k;
        int isum[2] = {0, 0};
#pragma unroll
        for (int m = 0; m < 8; ++m) {
            const int lo = (load_i32_a2(ql + 4 * m) >> lshift) & 0x0F0F0F0F;
            const int hi = ((load_i32_a2(qh + 4 * m) >> hshift) & 0x03030303) << 4;
            const int q = vsubss4(lo | hi, 0x20202020);  // q - 32, signed bytes
            isum[m / 4] = dp4a(q, a_int(a, m), isum[m / 4]);
        }
        const int8_t* sc = b->scales + 8 * h + 2 * k;
        return half_to_float(b->d) * a.d * (float)(sc[0] * isum[0] + sc[1] * isum[1]);
    }
};

template <class W>
__global__ void mmvq_kernel(const uint8_t* __restrict__ w, size_t row_bytes, int n_sub, int64_t n_out,
                            const block_a8_32* __restrict__ a, int n_cols, float* __restrict__ y) {
    const int64_t row = (int64_t)blockIdx.x * kRowsPerBlock + threadIdx.y;
    if (row >= n_out) return;
    const int col0 = blockIdx.y * kMaxCols;
    const int lane = threadIdx.x;
    const uint8_t* wrow = w + row * row_bytes;
    const block_a8_32* a0 = a + (int64_t)col0 * n_sub;
    float acc[kMaxCols];
#pragma unroll
    for (int c = 0; c < kMaxCols; ++c) acc[c] = 0.0f;
    for (int i = lane; i < n_sub; i += kWarp) {
        const uint8_t* wb = wrow + (size_t)(i / W::kSubs) * W::kSize;
        const int sub = i % W::kSubs;
#pragma unroll
        for (int c = 0; c < kMaxCols; ++c)
            if (c < n_cols) acc[c] += W::dot32(wb, sub, a0[(int64_t)c * n_sub + i]);
    }
#pragma unroll
    for (int c = 0; c < kMaxCols; ++c) {
        if (c >= n_cols) break;
        const float s = warp_sum(acc[c]);
        if (lane == 0) y[(int64_t)(col0 + c) * n_out + row] = s;
    }
}

template <class W>
void launch(const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a, int64_t n_tokens,
            float* y, cudaStream_t stream) {
    const int n_sub = (int)(n_in / 32);
    const dim3 block(kWarp, kRowsPerBlock);
    for (int64_t c0 = 0; c0 < n_tokens; c0 += (int64_t)kMaxCols * 65535) {
        // grid.y is limited to 65535: very long batches go in slices
        const int64_t cols = std::min<int64_t>(n_tokens - c0, (int64_t)kMaxCols * 65535);
        const dim3 grid(ceil_div(n_out, kRowsPerBlock), ceil_div(cols, kMaxCols));
        mmvq_kernel<W><<<grid, block, 0, stream>>>((const uint8_t*)w, row_bytes, n_sub, n_out, a + c0 * n_sub,
                                                  (int)std::min<int64_t>(cols, kMaxCols), y + c0 * n_out);
        LLMRT_CUDA_CHECK_LAUNCH("mmvq");
    }
}

template <class W>
void run_host(const uint8_t* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a, int64_t n_tokens,
              float* y) {
    const int n_sub = (int)(n_in / 32);
    for (int64_t c = 0; c < n_tokens; ++c)
        for (int64_t r = 0; r < n_out; ++r) {
            float lanes[kWarp] = {};  // summed in the kernel's lane order
            for (int i = 0; i < n_sub; ++i)
                lanes[i % kWarp] += W::dot32(w + r * row_bytes + (size_t)(i / W::kSubs) * W::kSize, i % W::kSubs,
                                             a[c * n_sub + i]);
            float s = 0.0f;
            for (float v : lanes) s += v;
            y[c * n_out + r] = s;
        }
}

}  // namespace

void mmvq_host(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a,
               int64_t n_tokens, float* y) {
    const uint8_t* wb = (const uint8_t*)w;
    switch ((GGMLType)type) {
        case GGMLType::Q4_0: return run_host<Q4_0>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        case GGMLType::Q4_1: return run_host<Q4_1>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        case GGMLType::Q5_0: return run_host<Q5_0>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        case GGMLType::Q8_0: return run_host<Q8_0>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        case GGMLType::Q4_K: return run_host<Q4_K>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        case GGMLType::Q6_K: return run_host<Q6_K>(wb, row_bytes, n_in, n_out, a, n_tokens, y);
        default: throw DeviceError("mmvq_host: no kernel for tensor type " + std::to_string(type));
    }
}

bool mmvq_supports(uint32_t type) {
    switch ((GGMLType)type) {
        case GGMLType::Q4_0: case GGMLType::Q4_1: case GGMLType::Q5_0: case GGMLType::Q8_0:
        case GGMLType::Q4_K: case GGMLType::Q6_K: return true;
        default: return false;
    }
}

void mmvq(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a,
          int64_t n_tokens, float* y, cudaStream_t stream) {
    if (n_out == 0 || n_tokens == 0) return;
    switch ((GGMLType)type) {
        case GGMLType::Q4_0: return launch<Q4_0>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        case GGMLType::Q4_1: return launch<Q4_1>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        case GGMLType::Q5_0: return launch<Q5_0>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        case GGMLType::Q8_0: return launch<Q8_0>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        case GGMLType::Q4_K: return launch<Q4_K>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        case GGMLType::Q6_K: return launch<Q6_K>(w, row_bytes, n_in, n_out, a, n_tokens, y, stream);
        default: throw DeviceError("mmvq: no CUDA kernel for tensor type " + std::to_string(type));
    }
}

}  // namespace llmrt::cuda
