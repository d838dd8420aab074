#include "ops/norm.h"

#include <cmath>

namespace llmrt::ops {

void rms_norm(const float* x, const float* w, float* out, int64_t n_rows, int64_t n, float eps) {
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
