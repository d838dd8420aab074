// Matrix x vector for unquantized weights (F32, F16, BF16) against float activations:
// y (n_tokens, n_out) = W (n_out, n_in) . x^T, float accumulation.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmrt::cuda {

bool matvec_float_supports(uint32_t type);

// w: device rows of n_in elements (row-contiguous); x: (n_tokens, n_in); y: (n_tokens, n_out).
void matvec_float(uint32_t type, const void* w, int64_t n_in, int64_t n_out, const float* x, int64_t n_tokens,
                  float* y, cudaStream_t stream);

}  // namespace llmrt::cuda
