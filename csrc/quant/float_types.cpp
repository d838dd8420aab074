// F32, F16, BF16 weights: conversions (bit-exact, round to nearest even) and the scalar reference
// dot products against a plain float activation row. The AVX2 paths live in float_types_avx2.cpp.
#include <cstring>

#include "quant/legacy_kernels.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt {
namespace {

void copy_f32(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, (size_t)n * sizeof(float)); }
void store_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, (size_t)n * sizeof(float)); }

void dequantize_f16(const void* src, float* dst, int64_t n) {
    const uint16_t* h = (const uint16_t*)src;
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void quantize_f16(const float* src, void* dst, int64_t n) {
    uint16_t* h = (uint16_t*)dst;
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}
void dequantize_bf16(const void* src, float* dst, int64_t n) {
    const uint16_t* h = (const uint16_t*)src;
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void quantize_bf16(const float* src, void* dst, int64_t n) {
    uint16_t* h = (uint16_t*)dst;
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

// References accumulate in double: they are the yardstick the fast paths are measured against.
float vec_dot_f32_ref(int64_t n, const void* w, const void* a) {
    const float* x = (const float*)w;
    const float* y = (const float*)a;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += (double)x[i] * (double)y[i];
    return (float)s;
}
float vec_dot_f16_ref(int64_t n, const void* w, const void* a) {
    const uint16_t* x = (const uint16_t*)w;
    const float* y = (const float*)a;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += (double)fp16_to_fp32(x[i]) * (double)y[i];
    return (float)s;
}
float vec_dot_bf16_ref(int64_t n, const void* w, const void* a) {
    const uint16_t* x = (const uint16_t*)w;
    const float* y = (const float*)a;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += (double)bf16_to_fp32(x[i]) * (double)y[i];
    return (float)s;
}

void set(TypeTraits& t, DequantizeFn deq, QuantizeFn quant, VecDotFn ref) {
    t.dequantize = deq;
    t.quantize = quant;
    t.act = ActFormat::F32;
    t.vec_dot_ref = ref;
    t.vec_dot = ref;
}

}  // namespace

void register_float_types(TypeTraits* table) {
    TypeTraits& f32 = table[(uint32_t)GGMLType::F32];
    TypeTraits& f16 = table[(uint32_t)GGMLType::F16];
    TypeTraits& bf16 = table[(uint32_t)GGMLType::BF16];
    set(f32, copy_f32, store_f32, vec_dot_f32_ref);
    set(f16, dequantize_f16, quantize_f16, vec_dot_f16_ref);
    set(bf16, dequantize_bf16, quantize_bf16, vec_dot_bf16_ref);
#if LLMRT_HAVE_AVX2_KERNELS
    if ((int)simd_level() >= (int)SimdLevel::AVX2) {
        f32.vec_dot = avx2::vec_dot_f32;
        f16.vec_dot = avx2::vec_dot_f16;
        f16.dequantize = avx2::dequantize_f16;
        bf16.vec_dot = avx2::vec_dot_bf16;
        bf16.dequantize = avx2::dequantize_bf16;
    }
#endif
}

}  // namespace llmrt
