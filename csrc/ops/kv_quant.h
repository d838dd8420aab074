// Attention kernels that read quantized KV rows (q8_0, q4_0: GGUF blocks of 32 elements along
// the head) in place, the counterparts of VecKernels::dot_tile_f16 / axpy_tile_f16.
//   keys:   each query head is quantized once to int16 with one scale for the row
//           (prepare_query; relative error <= 2^-16 of the row's largest element), and meets
//           every block as an exact integer dot product (int8 x int16 pairs summed in int32)
//           scaled by the block's d and the head's scale.
//   values: each block is dequantized on the fly to float (d * q, exact in float32), the
//           block scale folded into the probability.
// Scalar reference (the same integers, then float in its own order), AVX2 and AVX-512 paths;
// the fastest the CPU and LLMRT_SIMD allow is chosen once.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::ops {

// Rows of query heads as prepare_query writes them: qi (group, n) int16, q_j ~= scale[j] * qi[j].
struct QueryI16 {
    const int16_t* qi;
    const float* scale;
};

// Quantizes the query rows q_j (j < group, `stride` floats apart, n elements) into qi and scale.
void prepare_query_i16(const float* q, int64_t stride, int group, int64_t n, int16_t* qi, float* scale);

template <typename Block>
struct KvTileKernels {
    // out[j * out_stride + i] = q_j . k[i] for heads j < group and cells i < n_rows; each k[i]
    // points at n / 32 blocks.
    void (*dot_tile)(QueryI16 q, int group, const Block* const* k, int n_rows, int64_t n, float* out,
                     int64_t out_stride);
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
