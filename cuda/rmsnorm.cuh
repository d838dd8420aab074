// RMSNorm over rows, optionally fused with the residual add that precedes it in the decoder:
//   add != nullptr: x[r] += add[r] (written back: x is the residual stream), then
//   out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w          (as ops::rms_norm; out may be x)
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace llmrt::cuda {

// All device pointers: x (n_rows, n), add (n_rows, n) or nullptr, w (n), out (n_rows, n).
void rms_norm(float* x, const float* add, const float* w, float* out, int64_t n_rows, int64_t n, float eps,
              cudaStream_t stream);

}  // namespace llmrt::cuda
