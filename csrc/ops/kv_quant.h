// Attention kernels that read quantized KV rows (q8_0, q4_0: GGUF blocks of 32 elements along
// the head) in place, the counterparts of VecKernels::dot_tile_f16 / axpy_tile_f16. Each block
// is dequantized on the fly to float (d * q, exact in float32) and meets the float query or
// probabilities, so a result differs from the same sum over the dequantized row only by the
// float summation order. Scalar reference, AVX2 and AVX-512 paths; the fastest the CPU and
// LLMRT_SIMD allow is chosen once.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::ops {

template <typename Block>
struct KvTileKernels {
    // out[j * out_stride + i] = q_j . k[i] for heads j < group (rows of q `stride` floats
    // apart) and cells i < n_rows; each k[i] points at n / 32 blocks.
    void (*dot_tile)(const float* q, int64_t stride, int group, const Block* const* k, int n_rows, int64_t n,
                     float* out, int64_t out_stride);
    // y_j += sum_i p[j * p_stride + i] * v[i] for heads j < group and cells i < n_rows.
    void (*axpy_tile)(float* y, int64_t stride, const float* p, int64_t p_stride, int group, const Block* const* v,
                      int n_rows, int64_t n);
};

struct KvQuantKernels {
    KvTileKernels<block_q8_0> q8_0;
    KvTileKernels<block_q4_0> q4_0;
};

const KvQuantKernels& kv_quant_kernels();            // fastest for this CPU
const KvQuantKernels& kv_quant_kernels_reference();  // portable scalar
const KvQuantKernels* kv_quant_kernels_avx2();       // nullptr when not compiled in
const KvQuantKernels* kv_quant_kernels_avx512();     // likewise

}  // namespace llmrt::ops
