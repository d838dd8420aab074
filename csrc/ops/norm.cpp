#include "ops/norm.h"

#include <cmath>

#include "ops/norm_kernels.h"
#include "runtime/cpu_features.h"

namespace llmrt::ops {

void rms_norm(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps) {
#if defined(__x86_64__) || defined(_M_X64)
    if ((int)simd_level() >= (int)SimdLevel::AVX2) return avx2::rms_norm(x, w, out, n_rows, n, eps);
#endif
    rms_norm_ref(x, w, out, n_rows, n, eps);
}

void rms_norm_ref(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * n;
        float* yr = out + r * n;
        double sum = 0.0;  // double: the mean of squares over thousands of elements
        for (int64_t i = 0; i < n; ++i) sum += (double)xr[i] * xr[i];
        const float scale = 1.0f / std::sqrt((float)(sum / (double)n) + eps);
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * w[i];
    }
}

}  // namespace llmrt::ops
