// Quantizers for IQ4_NL and IQ4_XS: llmrt's own scale search (not a reproduction of ggml's, so
// the bytes differ from llama-quantize's; both decode with any reader of the format).
//
// A group of 32 values x is stored as d * v[L] with v the 16 fixed, unevenly spaced levels
// (kvalues_iq4nl, -127..113). For given levels the best d is the least-squares one,
// d = sum(w x v) / sum(w v^2), and it removes (sum(w x v))^2 / sum(w v^2) of the error sum(w x^2);
// for a given d the best levels are the nearest ones. The search alternates the two from many
// starting scales: the largest |x| placed on or near either end of the grid (the grid is not
// symmetric, so which end matters; past the end means clipping it), each followed by a few
// re-assign / re-fit steps, keeping the best. IQ4_XS fits each 32-element sub-block so, then
// stores the sub-scales as d * ls with 6-bit signed ls: both ways of putting the largest
// sub-scale at an end of -32..31, and each ls rounded up or down, whichever errs least.
//
// The squared error is weighted (weights_of); every search step above uses those weights.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/iq_internal.h"
#include "runtime/fp16.h"

namespace llmrt::iq {
namespace {

constexpr int kGroup = 32;
constexpr float kMaxHalf = 65504.0f;

// Midpoints of consecutive levels: the nearest level to v is the number of midpoints below it.
struct Midpoints {
    float m[15];
    constexpr Midpoints() : m() {
        for (int k = 0; k < 15; ++k) m[k] = 0.5f * (float)(kvalues_iq4nl[k] + kvalues_iq4nl[k + 1]);
    }
};
constexpr Midpoints kMid;

inline int nearest_level(float v) {
    int i = v > kMid.m[7] ? 8 : 0;
    i += v > kMid.m[i + 3] ? 4 : 0;
    i += v > kMid.m[i + 1] ? 2 : 0;
    i += v > kMid.m[i] ? 1 : 0;
    return i;
}

struct Fit {
    float d = 0.0f;
    float gain = 0.0f;  // error removed by d: (sum w x v)^2 / sum w v^2
};

// Nearest levels at inverse scale id, and the least-squares scale for them.
inline Fit refit(const float* x, const float* w, float id) {
    float sxv = 0.0f, svv = 0.0f;
    for (int j = 0; j < kGroup; ++j) {
        const float v = (float)kvalues_iq4nl[nearest_level(x[j] * id)];
        sxv += w[j] * x[j] * v;
        svv += w[j] * v * v;
    }
    Fit f;
    if (!(svv > 0.0f)) return f;
    f.d = sxv / svv;
    f.gain = sxv * f.d;
    return f;
}

// The end of the grid the largest |x| is aimed at, times a factor from kLow in kSteps steps
// of kStep (below 1: inside the grid; above: clipped).
constexpr int kSteps = 7;
constexpr float kLow = 0.85f, kStep = 0.05f;
constexpr int kPolish = 2;

// The scale of one group of 32 minimizing sum (x - d * v[L])^2 over d and the levels L.
float fit_group(const float* x, const float* w) {
    float amax = 0.0f, extreme = 0.0f;
    for (int j = 0; j < kGroup; ++j)
        if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); extreme = x[j]; }
    if (amax == 0.0f) return 0.0f;
    Fit best;
    for (const float end : {(float)kvalues_iq4nl[0], (float)kvalues_iq4nl[15]}) {
        for (int t = 0; t < kSteps; ++t) {
            Fit f = refit(x, w, end * (kLow + kStep * (float)t) / extreme);
            for (int p = 0; p < kPolish && f.d != 0.0f; ++p) {
                const Fit g = refit(x, w, 1.0f / f.d);
                if (!(g.gain > f.gain)) break;
                f = g;
            }
            if (f.gain > best.gain) best = f;
        }
    }
    return best.d;
}

// The levels of one group at scale d (nearest in value), and their squared error.
inline float levels_at(const float* x, const float* w, float d, uint8_t* L) {
    float err = 0.0f;
    if (d == 0.0f) {
        for (int j = 0; j < kGroup; ++j) { L[j] = 8; err += w[j] * x[j] * x[j]; }
        return err;
    }
    const float id = 1.0f / d;
    for (int j = 0; j < kGroup; ++j) {
        L[j] = (uint8_t)nearest_level(x[j] * id);
        const float e = x[j] - d * (float)kvalues_iq4nl[L[j]];
        err += w[j] * e * e;
    }
    return err;
}

inline void pack_levels(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = (uint8_t)(L[j] | L[j + 16] << 4);
}

// Importance of each element in the squared error: its square, so that large weights, which
// move a layer's output most, are placed most accurately. On SmolLM2 re-quantized from Q4_1 to
// IQ4_XS this gave perplexity 19.20 / 22.36 (two texts) against 19.70 / 23.78 with plain
// squared error, at 5% more plain RMS error on Gaussian data.
inline void weights_of(const float* x, int n, float* w) {
    for (int j = 0; j < n; ++j) w[j] = x[j] * x[j];
}

inline float to_half_range(float d) { return std::clamp(d, -kMaxHalf, kMaxHalf); }

// IQ4_XS sub-scales for super-scale dh: each ls in -32..31 (rounded either way, the better
// kept), its levels in L; returns the block's squared error.
float choose_sub_scales(const float* x, const float* w, const float* ds, float dh, int* ls, uint8_t* L) {
    float total = 0.0f;
    uint8_t trial[kGroup];
    for (int s = 0; s < 8; ++s) {
        const float r = dh != 0.0f ? ds[s] / dh : 0.0f;
        const int lo = std::clamp((int)std::floor(r), -32, 31), hi = std::clamp(lo + 1, -32, 31);
        float best = INFINITY;
        for (const int l : {lo, hi}) {
            const float err = levels_at(x + kGroup * s, w + kGroup * s, dh * (float)l, trial);
            if (err < best) {
                best = err;
                ls[s] = l;
                std::memcpy(L + kGroup * s, trial, kGroup);
            }
        }
        total += best;
    }
    return total;
}

}  // namespace

void quantize_iq4_nl(const float* x, void* dst, int64_t n) {
    block_iq4_nl* b = (block_iq4_nl*)dst;
    uint8_t L[kGroup];
    float w[kGroup];
    for (int64_t i = 0; i < n / kGroup; ++i, x += kGroup) {
        weights_of(x, kGroup, w);
        b[i].d = fp32_to_fp16(to_half_range(fit_group(x, w)));
        levels_at(x, w, fp16_to_fp32(b[i].d), L);
        pack_levels(L, b[i].qs);
    }
}

void quantize_iq4_xs(const float* x, void* dst, int64_t n) {
    block_iq4_xs* b = (block_iq4_xs*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float w[QK_K], ds[8], dmax = 0.0f;
        weights_of(x, QK_K, w);
        for (int s = 0; s < 8; ++s) {
            ds[s] = fit_group(x + kGroup * s, w + kGroup * s);
            if (std::fabs(ds[s]) > std::fabs(dmax)) dmax = ds[s];
        }
        int ls[8], trial_ls[8];
        uint8_t L[QK_K], trial_L[QK_K];
        float best = INFINITY;
        half_bits best_d = 0;
        // The largest sub-scale at ls = -32 or at ls = 31.
        for (const float end : {-32.0f, 31.0f}) {
            const half_bits h = fp32_to_fp16(to_half_range(dmax / end));
            const float err = choose_sub_scales(x, w, ds, fp16_to_fp32(h), trial_ls, trial_L);
            if (err < best) {
                best = err;
                best_d = h;
                std::memcpy(ls, trial_ls, sizeof ls);
                std::memcpy(L, trial_L, sizeof L);
            }
        }
        b[i].d = best_d;
        b[i].scales_h = 0;
        std::memset(b[i].scales_l, 0, sizeof b[i].scales_l);
        for (int s = 0; s < 8; ++s) {
            const int u = ls[s] + 32;
            b[i].scales_l[s / 2] |= (uint8_t)((u & 0xF) << (4 * (s % 2)));
            b[i].scales_h |= (uint16_t)((u >> 4) << (2 * s));
            pack_levels(L + kGroup * s, b[i].qs + 16 * s);
        }
    }
}

}  // namespace llmrt::iq
