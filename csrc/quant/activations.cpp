// Activation rows quantized to 8 bits once per matmul, so every weight row's dot product with
// them is integer arithmetic. Symmetric absmax scaling, round to nearest.
#include <cmath>
#include <cstring>

#include "quant/activations_kernels.h"
#include "quant/blocks.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt {
namespace {

void prepare_a8_32(const float* x, block_a8_32* out, int64_t n) {
    for (int64_t b = 0; b < n / 32; ++b) {
        const float* xb = x + b * 32;
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; ++i) {
            const int q = (int)std::nearbyint(xb[i] * id);
            out[b].qs[i] = (int8_t)q;
            sum += q;
        }
        // The scale is rounded through fp16 as llama.cpp's Q8_0/Q8_1 activations store it;
        // s is kept exact (= d * sum) so offsets cancel exactly in the dot products.
        out[b].d = fp16_to_fp32(fp32_to_fp16(d));
        out[b].s = out[b].d * (float)sum;
    }
}

void prepare_a8_256(const float* x, block_a8_256* out, int64_t n) {
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const float* xb = x + b * QK_K;
        float amax = 0.0f;
        for (int i = 0; i < QK_K; ++i) amax = std::fmax(amax, std::fabs(xb[i]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int i = 0; i < QK_K; ++i) out[b].qs[i] = (int8_t)std::nearbyint(xb[i] * id);
        for (int j = 0; j < QK_K / 16; ++j) {
            int s = 0;
            for (int i = 0; i < 16; ++i) s += out[b].qs[16 * j + i];
            out[b].bsums[j] = (int16_t)s;
        }
        out[b].d = d;
    }
}

}  // namespace

size_t act_row_size(ActFormat f, int64_t n) {
    switch (f) {
        case ActFormat::A8_32: return (size_t)(n / 32) * sizeof(block_a8_32);
        case ActFormat::A8_256: return (size_t)(n / QK_K) * sizeof(block_a8_256);
        default: return (size_t)n * sizeof(float);
    }
}

void prepare_activations(ActFormat f, const float* x, void* dst, int64_t n) {
#if defined(__x86_64__) || defined(_M_X64)
    const bool avx2 = (int)simd_level() >= (int)SimdLevel::AVX2;
    if (avx2 && f == ActFormat::A8_32) return avx2::prepare_a8_32(x, (block_a8_32*)dst, n);
    if (avx2 && f == ActFormat::A8_256) return avx2::prepare_a8_256(x, (block_a8_256*)dst, n);
#endif
    prepare_activations_ref(f, x, dst, n);
}

void prepare_activations_ref(ActFormat f, const float* x, void* dst, int64_t n) {
    switch (f) {
        case ActFormat::A8_32: prepare_a8_32(x, (block_a8_32*)dst, n); break;
        case ActFormat::A8_256: prepare_a8_256(x, (block_a8_256*)dst, n); break;
        default: std::memcpy(dst, x, (size_t)n * sizeof(float)); break;
    }
}

}  // namespace llmrt
