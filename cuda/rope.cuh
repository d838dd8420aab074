// Rotary position embedding on the device, both pairings of ops/rope.h (Normal: (2i, 2i+1),
// Neox: (i, i + n_rot/2)); dims past n_rot pass through. Same parameters as the CPU op, except
// that p.freq_factors, when set, must be a device pointer.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/rope.h"

namespace llmrt::cuda {

// x: (n_tokens, n_heads, head_dim) rotated in place; positions: (n_tokens). Device pointers.
void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim, const ops::RopeParams& p,
          cudaStream_t stream);

}  // namespace llmrt::cuda
