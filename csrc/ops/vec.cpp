#include "ops/vec.h"

#include <cmath>

#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt::ops {
namespace {

float dot_f32_f16_ref(const float* a, const uint16_t* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * fp16_to_fp32(b[i]);
    return s;
}

void axpy_f16_ref(float* y, float alpha, const uint16_t* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * fp16_to_fp32(x[i]);
}

void f32_to_f16_ref(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void f16_to_f32_ref(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

float dot_f32_ref(const float* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

void scale_f32_ref(float* y, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] *= s;
}

void axpy_f32_ref(float* y, float alpha, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void dot_group_f16_ref(const float* q, int64_t stride, int group, const uint16_t* k, int64_t n, float* out) {
    for (int j = 0; j < group; ++j) out[j] = dot_f32_f16_ref(q + j * stride, k, n);
}

void dot_tile_f16_ref(const float* q, int64_t stride, int group, const uint16_t* const* k, int n_rows, int64_t n,
                      float* out, int64_t out_stride) {
    for (int i = 0; i < n_rows; ++i)
        for (int j = 0; j < group; ++j) out[j * out_stride + i] = dot_f32_f16_ref(q + j * stride, k[i], n);
}

float exp_sum_ref(float* x, float shift, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

void axpy_tile_f16_ref(float* y, int64_t stride, const float* p, int64_t p_stride, int group,
                       const uint16_t* const* v, int n_rows, int64_t n) {
    for (int i = 0; i < n_rows; ++i)
        for (int j = 0; j < group; ++j) axpy_f16_ref(y + j * stride, p[j * p_stride + i], v[i], n);
}

const VecKernels kReference{f32_to_f16_ref,    f16_to_f32_ref,   dot_f32_ref, scale_f32_ref, axpy_f32_ref,
                            dot_group_f16_ref, dot_tile_f16_ref, exp_sum_ref, axpy_tile_f16_ref};

}  // namespace

const VecKernels& vec_kernels_reference() { return kReference; }

const VecKernels& vec_kernels() {
    static const VecKernels* chosen = [] {
        const VecKernels* avx2 = vec_kernels_avx2();
        return (avx2 && simd_level() >= SimdLevel::AVX2) ? avx2 : &kReference;
    }();
    return *chosen;
}

}  // namespace llmrt::ops
