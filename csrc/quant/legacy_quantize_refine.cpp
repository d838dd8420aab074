// Refining quantizers for the 32-element types (see quant/refine.h): the symmetric Q4_0, Q5_0,
// Q8_0 and the offset types Q4_1, Q5_1.
//
// ggml's reference takes d = max / -levels: the element of largest magnitude lands exactly on
// the end level and every other element rounds against that step, whatever the error. Here each
// block scans steps d = max / t for t from the level count + 0.5 down to 0.6 of it, on both
// ends of the asymmetric level range (-h..h-1), refits each one's least-squares step for its
// rounded levels, rounds that to fp16 and re-rounds the levels against it: the step with the
// smallest squared error is kept, and ggml's own block where that is no better.
//
// The offset types (x = d * q + m, q = 0..top) get the same scan over d = (max - min) / t with a
// joint least-squares refit of d and m. ggml's d = (max - min) / top puts the two ends on the end
// levels, which is rarely the best grid. It matters most when re-quantizing: a Q4_1 block's
// values sit on a 16-level grid that Q5_1 holds exactly with t = 30 (d halved, same minimum),
// while ggml's t = 31 rounds every inner level by up to a half step.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/refine.h"
#include "runtime/fp16.h"

namespace llmrt {
namespace {

using refine::round_clamped;

constexpr int kSteps = 12;      // candidate steps per end of the level range
constexpr float kSpan = 0.4f;   // ... from top + 0.5 down to (1 - kSpan) * top levels

// Levels of x against step d, clamped to lo..hi; returns the squared error.
float round_block(const float* x, float d, int lo, int hi, int* q) {
    float err = 0.0f;
    if (d == 0.0f) {
        for (int i = 0; i < 32; ++i) { q[i] = 0; err += x[i] * x[i]; }
        return err;
    }
    const float id = 1.0f / d;
    for (int i = 0; i < 32; ++i) {
        q[i] = round_clamped(x[i] * id, lo, hi);
        const float e = d * (float)q[i] - x[i];
        err += e * e;
    }
    return err;
}

// The best fp16 step found for x with levels lo..hi (signed); q receives its levels.
float search_step(const float* x, int lo, int hi, int* q) {
    float amax = 0.0f, mx = 0.0f;
    for (int i = 0; i < 32; ++i)
        if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); mx = x[i]; }
    if (amax == 0.0f) {
        for (int i = 0; i < 32; ++i) q[i] = 0;
        return 0.0f;
    }
    float best_d = 0.0f, best_err = INFINITY;
    int tq[32];
    for (int end = 0; end < 2; ++end) {
        const float top = end == 0 ? (float)-lo : (float)hi;   // the largest element at level -top or +top
        const float sign = end == 0 ? -1.0f : 1.0f;
        for (int k = 0; k <= kSteps; ++k) {
            const float t = top + 0.5f - (kSpan * top + 0.5f) * (float)k / (float)kSteps;
            round_block(x, mx / (sign * t), lo, hi, tq);
            float sxq = 0.0f, sqq = 0.0f;
            for (int i = 0; i < 32; ++i) { sxq += x[i] * (float)tq[i]; sqq += (float)(tq[i] * tq[i]); }
            if (sqq == 0.0f) continue;
            const float d = fp16_to_fp32(fp32_to_fp16(sxq / sqq));
            const float err = round_block(x, d, lo, hi, tq);
            if (err < best_err) { best_err = err; best_d = d; }
        }
    }
    round_block(x, best_d, lo, hi, q);
    return best_d;
}

float block_sse(const float* x, const float* y) {
    double e = 0.0;
    for (int i = 0; i < 32; ++i) { const double d = (double)x[i] - y[i]; e += d * d; }
    return (float)e;
}

// Each block: ggml's, unless `candidate(x, block)` writes one with a smaller squared error.
template <class Block, class Candidate>
void refine_blocks(GGMLType type, const float* x, void* dst, int64_t n, Candidate candidate) {
    const TypeTraits& t = type_traits(type);
    Block* out = (Block*)dst;
    float y[32];
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
        t.quantize(x, &out[i], 32);
        t.dequantize(&out[i], y, 32);
        const float ref_err = block_sse(x, y);
        if (ref_err == 0.0f) continue;
        Block mine;
        candidate(x, mine);
        t.dequantize(&mine, y, 32);
        if (block_sse(x, y) < ref_err) out[i] = mine;
    }
}

template <class Block>
void refine_rows(GGMLType type, int lo, int hi, void (*pack)(const int* q, Block& b), const float* x, void* dst,
                 int64_t n) {
    refine_blocks<Block>(type, x, dst, n, [&](const float* xb, Block& mine) {
        int q[32];
        mine.d = fp32_to_fp16(search_step(xb, lo, hi, q));
        pack(q, mine);
    });
}

// Levels of x against step d above m, clamped to 0..top; returns the squared error.
float round_block_offset(const float* x, float d, float m, int top, int* q) {
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    float err = 0.0f;
    for (int i = 0; i < 32; ++i) {
        q[i] = round_clamped((x[i] - m) * id, 0, top);
        const float e = d * (float)q[i] + m - x[i];
        err += e * e;
    }
    return err;
}

struct OffsetGrid {
    float d, m;
};

// The best fp16 (d, m) found for x with levels 0..top; q receives its levels.
OffsetGrid search_offset_grid(const float* x, int top, int* q) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < 32; ++i) { mn = std::min(mn, x[i]); mx = std::max(mx, x[i]); }
    OffsetGrid best{0.0f, fp16_to_fp32(fp32_to_fp16(mn))};
    float best_err = round_block_offset(x, best.d, best.m, top, q);
    if (mx == mn) return best;
    int tq[32];
    // t = top, top - 0.5, ... down to 0.6 * top: the integer steps hold coarser source grids
    for (float t = (float)top; t >= 0.6f * (float)top; t -= 0.5f) {
        round_block_offset(x, (mx - mn) / t, mn, top, tq);
        double sq = 0, sqq = 0, sx = 0, sxq = 0;
        for (int i = 0; i < 32; ++i) { sq += tq[i]; sqq += (double)tq[i] * tq[i]; sx += x[i]; sxq += (double)x[i] * tq[i]; }
        const double det = 32.0 * sqq - sq * sq;
        if (det <= 0.0) continue;
        const float d = fp16_to_fp32(fp32_to_fp16((float)((32.0 * sxq - sq * sx) / det)));
        const float m = fp16_to_fp32(fp32_to_fp16((float)((sqq * sx - sq * sxq) / det)));
        if (!(d > 0.0f)) continue;
        const float err = round_block_offset(x, d, m, top, tq);
        if (err < best_err) { best_err = err; best = {d, m}; }
    }
    round_block_offset(x, best.d, best.m, top, q);
    return best;
}

template <class Block>
void refine_offset_rows(GGMLType type, int top, void (*pack)(const int* q, Block& b), const float* x, void* dst,
                        int64_t n) {
    refine_blocks<Block>(type, x, dst, n, [&](const float* xb, Block& mine) {
        int q[32];
        const OffsetGrid g = search_offset_grid(xb, top, q);
        mine.d = fp32_to_fp16(g.d);
        mine.m = fp32_to_fp16(g.m);
        pack(q, mine);
    });
}

// The level fields of each type, from signed levels (offset types: levels 0..top).
void pack_q4_0(const int* q, block_q4_0& b) {
    for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)((q[j] + 8) | (q[j + 16] + 8) << 4);
}

void pack_q5_0(const int* q, block_q5_0& b) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)(((q[j] + 16) & 0xF) | ((q[j + 16] + 16) & 0xF) << 4);
    for (int j = 0; j < 32; ++j) qh |= (uint32_t)(((q[j] + 16) >> 4) & 1) << j;
    std::memcpy(b.qh, &qh, 4);
}

void pack_q4_1(const int* q, block_q4_1& b) {
    for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
}

void pack_q5_1(const int* q, block_q5_1& b) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) b.qs[j] = (uint8_t)((q[j] & 0xF) | (q[j + 16] & 0xF) << 4);
    for (int j = 0; j < 32; ++j) qh |= (uint32_t)((q[j] >> 4) & 1) << j;
    std::memcpy(b.qh, &qh, 4);
}

void pack_q8_0(const int* q, block_q8_0& b) {
    for (int j = 0; j < 32; ++j) b.qs[j] = (int8_t)q[j];
}

}  // namespace

namespace refine {
void quantize_q4_0(const float* x, void* dst, int64_t n) { refine_rows<block_q4_0>(GGMLType::Q4_0, -8, 7, pack_q4_0, x, dst, n); }
void quantize_q5_0(const float* x, void* dst, int64_t n) { refine_rows<block_q5_0>(GGMLType::Q5_0, -16, 15, pack_q5_0, x, dst, n); }
void quantize_q4_1(const float* x, void* dst, int64_t n) { refine_offset_rows<block_q4_1>(GGMLType::Q4_1, 15, pack_q4_1, x, dst, n); }
void quantize_q5_1(const float* x, void* dst, int64_t n) { refine_offset_rows<block_q5_1>(GGMLType::Q5_1, 31, pack_q5_1, x, dst, n); }
// -128 stays out: the int8 dot kernels take |q| through a sign trick that overflows there.
void quantize_q8_0(const float* x, void* dst, int64_t n) { refine_rows<block_q8_0>(GGMLType::Q8_0, -127, 127, pack_q8_0, x, dst, n); }
}  // namespace refine

}  // namespace llmrt
