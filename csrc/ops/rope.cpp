#include "ops/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace llmrt::ops {

float yarn_theta(const RopeParams& p, int i, float extrap) {
    const float interp = p.freq_scale * extrap;
    const float y = ((float)i - p.corr_low) / std::max(0.001f, p.corr_high - p.corr_low);
    const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
    return interp * (1.0f - ramp) + extrap * ramp;
}

namespace {

// Calls f(i, theta_i) for the n_rot / 2 frequencies at `position`.
template <typename F>
void for_each_angle(const RopeParams& p, float position, F&& f) {
    const int half = p.n_rot / 2;
    const float theta_scale = std::pow(p.freq_base, -2.0f / (float)p.n_rot);
    float theta = position * p.freq_scale;  // the scaled angle, accumulated as ggml does
    float extrap = position;                // the unscaled one (YaRN)
    for (int i = 0; i < half; ++i) {
        float th;
        if (p.ext_factor == 0.0f) th = p.freq_factors ? theta / p.freq_factors[i] : theta;
        else th = yarn_theta(p, i, p.freq_factors ? extrap / p.freq_factors[i] : extrap);
        f(i, th);
        theta *= theta_scale;
        extrap *= theta_scale;
    }
}

}  // namespace

void rope_one(float* x, int32_t position, const RopeParams& p) {
    // a pure rotation: the cached K already carries mscale
    const int half = p.n_rot / 2;
    for_each_angle(p, (float)position, [&](int i, float t) {
        const float c = std::cos(t), s = std::sin(t);
        const int a = p.mode == RopeMode::Neox ? i : 2 * i;
        const int b = p.mode == RopeMode::Neox ? i + half : 2 * i + 1;
        const float x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    });
}

void rope_angles(const int32_t* positions, int64_t n_tokens, const RopeParams& p, RopeAngles& out) {
    const int half = p.n_rot / 2;
    out.half = half;
    out.cos.resize((size_t)(n_tokens * half));
    out.sin.resize((size_t)(n_tokens * half));
    for (int64_t t = 0; t < n_tokens; ++t)
        for_each_angle(p, (float)positions[t], [&](int i, float th) {
            out.cos[t * half + i] = std::cos(th) * p.mscale;
            out.sin[t * half + i] = std::sin(th) * p.mscale;
        });
}

void rope_apply(float* x, int64_t n_tokens, int n_heads, int head_dim, const RopeParams& p, const RopeAngles& a) {
    const int half = a.half;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* cos_t = &a.cos[t * half];
        const float* sin_t = &a.sin[t * half];
        for (int h = 0; h < n_heads; ++h) {
            float* v = x + (t * n_heads + h) * head_dim;
            for (int i = 0; i < half; ++i) {
                const int ia = p.mode == RopeMode::Neox ? i : 2 * i;
                const int ib = p.mode == RopeMode::Neox ? i + half : 2 * i + 1;
                const float x0 = v[ia], x1 = v[ib];
                v[ia] = x0 * cos_t[i] - x1 * sin_t[i];
                v[ib] = x0 * sin_t[i] + x1 * cos_t[i];
            }
        }
    }
}

void rope(float* x, const int32_t* positions, int64_t n_tokens, int n_heads, int head_dim, const RopeParams& p) {
    RopeAngles a;
    rope_angles(positions, n_tokens, p, a);
    rope_apply(x, n_tokens, n_heads, head_dim, p, a);
}

}  // namespace llmrt::ops
