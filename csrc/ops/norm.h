#pragma once
#include <cstdint>

namespace llmrt::ops {

// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w, for n_rows rows of n elements; out may be x.
// Also serves per-head Q/K norms: rows are then the heads.
void rms_norm(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps);
// The portable scalar reference (sequential double sum of squares).
void rms_norm_ref(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps);

}  // namespace llmrt::ops
