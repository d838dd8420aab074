// Private to ops/norm*.cpp: the AVX2 path (norm_avx2.cpp, entered only after
// simd_level() >= AVX2) beside the scalar reference.
#pragma once
#include <cstdint>

namespace llmrt::ops {
namespace avx2 {
void rms_norm(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps);
}  // namespace avx2
}  // namespace llmrt::ops
