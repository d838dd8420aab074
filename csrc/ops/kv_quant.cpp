// Scalar reference of ops/kv_quant.h and the choice of path.
#include "ops/kv_quant.h"

#include <cmath>

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

void quants(const block_q8_0& b, int* q) {
    for (int e = 0; e < QK8_0; ++e) q[e] = b.qs[e];
}

void quants(const block_q4_0& b, int* q) {
    for (int e = 0; e < QK4_0 / 2; ++e) {
        q[e] = (b.qs[e] & 0x0F) - 8;
        q[e + QK4_0 / 2] = (b.qs[e] >> 4) - 8;
    }
}

template <typename Block>
void dot_tile_ref(QueryI16 q, int group, const Block* const* k, int n_rows, int64_t n, float* out,
                  int64_t out_stride) {
    int x[32];
    for (int i = 0; i < n_rows; ++i)
        for (int j = 0; j < group; ++j) {
            const int16_t* qj = q.qi + j * n;
            float s = 0.0f;
            for (int64_t b = 0; b < n / 32; ++b) {
                quants(k[i][b], x);
                int32_t sum = 0;
                for (int e = 0; e < 32; ++e) sum += x[e] * qj[b * 32 + e];
                s += fp16_to_fp32(k[i][b].d) * (float)sum;
            }
            out[j * out_stride + i] = s * q.scale[j];
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

void prepare_query_i16(const float* q, int64_t stride, int group, int64_t n, int16_t* qi, float* scale) {
    for (int j = 0; j < group; ++j) {
        const float* x = q + j * stride;
        float amax = 0.0f;
        for (int64_t e = 0; e < n; ++e) amax = std::fmax(amax, std::fabs(x[e]));
        const float s = amax / 32767.0f;
        const float inv = s > 0.0f ? 1.0f / s : 0.0f;
        for (int64_t e = 0; e < n; ++e)  // round to nearest even, in range by construction
            qi[j * n + e] = (int16_t)std::lrint(std::fmin(std::fmax(x[e] * inv, -32767.0f), 32767.0f));
        scale[j] = s;
    }
}

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
