// Scalar reference of ops/kv_quant.h and the choice of path.
#include "ops/kv_quant.h"

#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt::ops {
namespace {

void dequant_block(const block_q8_0& b, float* x) {
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < QK8_0; ++e) x[e] = d * (float)b.qs[e];
}

void dequant_block(const block_q4_0& b, float* x) {
    const float d = fp16_to_fp32(b.d);
    for (int e = 0; e < QK4_0 / 2; ++e) {
        x[e] = d * (float)((b.qs[e] & 0x0F) - 8);
        x[e + QK4_0 / 2] = d * (float)((b.qs[e] >> 4) - 8);
    }
}

template <typename Block>
void dot_tile_ref(const float* q, int64_t stride, int group, const Block* const* k, int n_rows, int64_t n, float* out,
                  int64_t out_stride) {
    float x[32];
    for (int i = 0; i < n_rows; ++i)
        for (int j = 0; j < group; ++j) {
            float s = 0.0f;
            for (int64_t b = 0; b < n / 32; ++b) {
                dequant_block(k[i][b], x);
                for (int e = 0; e < 32; ++e) s += q[j * stride + b * 32 + e] * x[e];
            }
            out[j * out_stride + i] = s;
        }
}

template <typename Block>
void axpy_tile_ref(float* y, int64_t stride, const float* p, int64_t p_stride, int group, const Block* const* v,
                   int n_rows, int64_t n) {
    float x[32];
    for (int i = 0; i < n_rows; ++i)
        for (int64_t b = 0; b < n / 32; ++b) {
            dequant_block(v[i][b], x);
            for (int j = 0; j < group; ++j)
                for (int e = 0; e < 32; ++e) y[j * stride + b * 32 + e] += p[j * p_stride + i] * x[e];
        }
}

const KvQuantKernels kReference{{dot_tile_ref<block_q8_0>, axpy_tile_ref<block_q8_0>},
                                {dot_tile_ref<block_q4_0>, axpy_tile_ref<block_q4_0>}};

}  // namespace

const KvQuantKernels& kv_quant_kernels_reference() { return kReference; }

const KvQuantKernels& kv_quant_kernels() {
    static const KvQuantKernels* chosen = [] {
        const KvQuantKernels* avx512 = kv_quant_kernels_avx512();
        const KvQuantKernels* avx2 = kv_quant_kernels_avx2();
        if (avx512 && simd_level() >= SimdLevel::AVX512) return avx512;
        if (avx2 && simd_level() >= SimdLevel::AVX2) return avx2;
        return &kReference;
    }();
    return *chosen;
}

}  // namespace llmrt::ops
