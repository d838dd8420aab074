#include "ops/attention.h"

#include <cmath>
#include <limits>

#include "ops/vec.h"
#include "runtime/errors.h"

namespace llmrt::ops {
namespace {

constexpr int kMaxHeadDim = 1024;

void attend_one(const AttentionArgs& a, const VecKernels& vk, int64_t t, int h) {
    const int kv_head = h / (a.n_head / a.n_head_kv);
    const float* q = a.q + (t * a.n_head + h) * a.head_dim_k;
    const int64_t k_stride = (int64_t)a.n_head_kv * a.head_dim_k;
    const int64_t v_stride = (int64_t)a.n_head_kv * a.head_dim_v;
    const uint16_t* k_base = a.k_cache + (int64_t)kv_head * a.head_dim_k;
    const uint16_t* v_base = a.v_cache + (int64_t)kv_head * a.head_dim_v;
    float acc[kMaxHeadDim];
    for (int i = 0; i < a.head_dim_v; ++i) acc[i] = 0.0f;
    float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
    for (int32_t cell : a.visible[t]) {
        float s = vk.dot_f32_f16(q, k_base + cell * k_stride, a.head_dim_k) * a.scale;
        if (a.softcap > 0.0f) s = a.softcap * std::tanh(s / a.softcap);
        if (s > m) {
            // new maximum: rescale what was accumulated so far
            const float r = std::exp(m - s);
            if (l > 0.0f) vk.scale_f32(acc, r, a.head_dim_v);
            l *= r;
            m = s;
        }
        const float p = std::exp(s - m);
        l += p;
        vk.axpy_f16(acc, p, v_base + cell * v_stride, a.head_dim_v);
    }
    float* out = a.out + (t * a.n_head + h) * a.head_dim_v;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int i = 0; i < a.head_dim_v; ++i) out[i] = acc[i] * inv;
}

}  // namespace

void attention(ThreadPool& pool, const AttentionArgs& a) {
    if (a.head_dim_v > kMaxHeadDim || a.head_dim_k > kMaxHeadDim)
        throw ModelError("attention head size above " + std::to_string(kMaxHeadDim));
    const VecKernels& vk = vec_kernels();
    const int64_t n_tasks = a.n_tokens * a.n_head;
    pool.parallel_for(n_tasks, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) attend_one(a, vk, i / a.n_head, (int)(i % a.n_head));
    });
}

}  // namespace llmrt::ops
