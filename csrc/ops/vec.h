// Small vector primitives shared by the ops, each with a scalar reference and an AVX2 path
// chosen at run time. The KV cache is stored as fp16, hence the f16 variants.
#pragma once
#include <cstdint>

namespace llmrt::ops {

struct VecKernels {
    void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);
    void (*f16_to_f32)(const uint16_t* x, float* y, int64_t n);
    float (*dot_f32)(const float* a, const float* b, int64_t n);
    void (*scale_f32)(float* y, float s, int64_t n);                          // y *= s
    void (*axpy_f32)(float* y, float alpha, const float* x, int64_t n);       // y += alpha * x
    // Attention over grouped query heads: one fp16 K row serves `group` heads (rows of q
    // `stride` floats apart), so each row is loaded and converted once, not once per head.
    void (*dot_group_f16)(const float* q, int64_t stride, int group, const uint16_t* k, int64_t n,
                          float* out);                                         // out[j] = q_j . k
    // The key side of a tile of cells: out[j * out_stride + i] = q_j . k[i] for heads j < group
    // and cells i < n_rows, with each converted K chunk serving several heads and the
    // horizontal sums of several cells done together.
    void (*dot_tile_f16)(const float* q, int64_t stride, int group, const uint16_t* const* k, int n_rows, int64_t n,
                         float* out, int64_t out_stride);
    // x[i] = exp(x[i] - shift); returns the sum of the new x (the softmax's denominator).
    float (*exp_sum)(float* x, float shift, int64_t n);
    // The value side of a tile of cells: y_j += sum_i p[j * p_stride + i] * v[i] (i < n_rows),
    // each y_j loaded and stored once per tile instead of once per cell.
    void (*axpy_tile_f16)(float* y, int64_t stride, const float* p, int64_t p_stride, int group,
                          const uint16_t* const* v, int n_rows, int64_t n);
};

const VecKernels& vec_kernels();            // fastest for this CPU
const VecKernels& vec_kernels_reference();  // portable scalar
const VecKernels* vec_kernels_avx2();       // nullptr when not compiled in

}  // namespace llmrt::ops
