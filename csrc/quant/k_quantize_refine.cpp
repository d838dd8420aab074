// Refining K-quant quantizers (see quant/refine.h for why they exist beside ggml's).
//
// A K-quant super-block of 256 holds fp16 d (and dmin), one small integer scale sc[g] (and
// min mn[g]) per group, and integer levels q: element i of group g is d*sc[g]*q[i] - dmin*mn[g].
// ggml's quantizer fits each group's (scale, min) on its own and then rounds the scales to
// integer multiples of max/63, so every group's effective step is off by up to half a unit of
// the sub-scale, and the fp16 rounding of d and dmin is never compensated. Starting from that
// block, this is a coordinate descent on plain squared error, each step exact for its variables:
//   groups: with d and dmin fixed, each group's continuous least-squares (step, offset) for its
//           current levels gives a real-valued (sc, mn); the integer neighbours are tried, each
//           with its levels re-rounded, and the best kept;
//   super:  with the integers fixed, d and dmin are the joint least-squares solution, rounded to
//           fp16 (dmin re-solved after d's rounding), and the levels re-rounded.
// A step is kept only when it lowers the error, so the result is never worse than the start.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/k_quants_internal.h"
#include "quant/refine.h"
#include "runtime/fp16.h"

namespace llmrt {
namespace {

using refine::round_clamped;

constexpr int kMaxPasses = 6;

inline float to_half(float f) { return fp16_to_fp32(fp32_to_fp16(f)); }

// The integer ranges of one K-quant type.
struct Layout {
    int groups, gsize;   // groups * gsize == QK_K
    int qmin, qmax;      // levels
    int smin, smax;      // sub-scales
    int mmax;            // sub-mins 0..mmax; 0: the type has no minimum
};

struct Fit {
    float d = 0.0f, dmin = 0.0f;  // fp16-representable
    int sc[16] = {}, mn[16] = {};
    int8_t q[QK_K] = {};
};

// Nearest levels of one group for element value a*q - b; returns the group's squared error.
float round_group(const float* x, int n, float a, float b, const Layout& L, int8_t* q) {
    float err = 0.0f;
    if (a == 0.0f) {
        const int8_t q0 = (int8_t)std::clamp(0, L.qmin, L.qmax);
        for (int i = 0; i < n; ++i) {
            q[i] = q0;
            const float e = x[i] + b;
            err += e * e;
        }
        return err;
    }
    const float ia = 1.0f / a;
    for (int i = 0; i < n; ++i) {
        const int l = round_clamped((x[i] + b) * ia, L.qmin, L.qmax);
        q[i] = (int8_t)l;
        const float e = a * (float)l - b - x[i];
        err += e * e;
    }
    return err;
}

float round_all(const float* x, const Layout& L, Fit& f) {
    float err = 0.0f;
    for (int g = 0; g < L.groups; ++g)
        err += round_group(x + g * L.gsize, L.gsize, f.d * (float)f.sc[g], f.dmin * (float)f.mn[g], L,
                           f.q + g * L.gsize);
    return err;
}

// Candidate integers around a real value r: floor and ceil, clamped; returns how many (1 or 2).
int neighbours(float r, int lo, int hi, int* out) {
    if (!std::isfinite(r)) return 0;
    const int f = std::clamp((int)std::floor(std::clamp(r, (float)lo - 1.0f, (float)hi + 1.0f)), lo, hi);
    out[0] = f;
    const int c = std::min(f + 1, hi);
    if (c == f) return 1;
    out[1] = c;
    return 2;
}

// Re-pick group g's (sc, mn) with d and dmin fixed. Returns the group's error.
float refine_group(const float* x, const Layout& L, Fit& f, int g, float err) {
    const int n = L.gsize;
    int8_t* q = f.q + g * n;
    int8_t tq[QK_K];
    for (int pass = 0; pass < 2; ++pass) {
        double sx = 0, sq = 0, sqq = 0, sxq = 0;
        for (int i = 0; i < n; ++i) {
            sx += x[i]; sq += q[i]; sqq += (double)q[i] * q[i]; sxq += (double)x[i] * q[i];
        }
        double a, b;   // element ~ a*q - b
        if (L.mmax > 0) {
            const double det = n * sqq - sq * sq;
            if (det <= 0) break;
            a = (n * sxq - sx * sq) / det;
            b = -(sx - a * sq) / n;
        } else {
            if (sqq <= 0) break;
            a = sxq / sqq;
            b = 0;
        }
        int s_cand[3], m_cand[3];
        int ns = f.d != 0.0f ? neighbours((float)(a / f.d), L.smin, L.smax, s_cand) : 0;
        int nm = L.mmax > 0 && f.dmin != 0.0f ? neighbours((float)(b / f.dmin), 0, L.mmax, m_cand) : 0;
        s_cand[ns++] = f.sc[g];
        m_cand[nm++] = f.mn[g];
        bool changed = false;
        for (int is = 0; is < ns; ++is) {
            for (int im = 0; im < nm; ++im) {
                if (s_cand[is] == f.sc[g] && m_cand[im] == f.mn[g]) continue;
                const float e = round_group(x, n, f.d * (float)s_cand[is], f.dmin * (float)m_cand[im], L, tq);
                if (e < err) {
                    err = e;
                    f.sc[g] = s_cand[is];
                    f.mn[g] = m_cand[im];
                    std::memcpy(q, tq, (size_t)n);
                    changed = true;
                }
            }
        }
        if (!changed) break;
    }
    return err;
}

// Joint least-squares d (and dmin) for the current integers, rounded to fp16; levels re-rounded.
// Updates f and returns the new error only when it is lower than err.
float refine_super(const float* x, const Layout& L, Fit& f, float err) {
    double suu = 0, suv = 0, svv = 0, sxu = 0, sxv = 0;
    for (int g = 0; g < L.groups; ++g) {
        const double v = f.mn[g];
        for (int i = 0; i < L.gsize; ++i) {
            const double xi = x[g * L.gsize + i], u = (double)f.sc[g] * f.q[g * L.gsize + i];
            suu += u * u; suv += u * v; svv += v * v; sxu += xi * u; sxv += xi * v;
        }
    }
    Fit t = f;
    if (L.mmax > 0 && svv > 0) {
        // x ~ d*u - dmin*v
        const double det = suv * suv - suu * svv;
        if (det == 0) return err;
        t.d = to_half((float)((suv * sxv - svv * sxu) / det));
        t.dmin = to_half((float)((t.d * suv - sxv) / svv));
    } else {
        if (suu <= 0) return err;
        t.d = to_half((float)(sxu / suu));
    }
    if (!std::isfinite(t.d) || !std::isfinite(t.dmin)) return err;
    const float e = round_all(x, L, t);
    if (e < err) {
        f = t;
        return e;
    }
    return err;
}

void refine_fit(const float* x, const Layout& L, Fit& f) {
    float err = round_all(x, L, f);
    for (int pass = 0; pass < kMaxPasses; ++pass) {
        const float before = err;
        err = 0.0f;
        // group errors are summed afresh: refine_group needs each group's current error
        for (int g = 0; g < L.groups; ++g) {
            int8_t tq[32];
            const float eg = round_group(x + g * L.gsize, L.gsize, f.d * (float)f.sc[g], f.dmin * (float)f.mn[g], L, tq);
            err += refine_group(x + g * L.gsize, L, f, g, eg);
        }
        err = refine_super(x, L, f, err);
        if (!(err < before * (1.0f - 1e-5f))) break;
    }
}

double block_sse(const float* x, const float* y) {
    double e = 0;
    for (int i = 0; i < QK_K; ++i) {
        const double d = (double)x[i] - y[i];
        e += d * d;
    }
    return e;
}

// One type: how to run ggml's quantizer, read its block into a Fit, and pack a Fit.
template <class Block, class Type>
void refine_rows(const float* x, void* dst, int64_t n) {
    Block* out = (Block*)dst;
    float y[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        Block ref;
        Type::ggml(x, &ref, QK_K);
        Type::dequantize(&ref, y, QK_K);
        const double ref_err = block_sse(x, y);
        out[i] = ref;
        if (ref_err == 0.0) continue;
        Fit f;
        Type::read(ref, f);
        refine_fit(x, Type::layout, f);
        Block mine;
        Type::pack(f, mine);
        Type::dequantize(&mine, y, QK_K);
        if (block_sse(x, y) < ref_err) out[i] = mine;
    }
}

template <int QMAX>
struct Q45K {
    static constexpr Layout layout{8, 32, 0, QMAX, 0, 63, 63};
    template <class B>
    static void read(const B& b, Fit& f) {
        f.d = fp16_to_fp32(b.d);
        f.dmin = fp16_to_fp32(b.dmin);
        uint8_t sc[8], mn[8];
        kq::unpack_scale_min_k4(b.scales, sc, mn);
        for (int g = 0; g < 8; ++g) { f.sc[g] = sc[g]; f.mn[g] = mn[g]; }
    }
    template <class B>
    static void pack_common(const Fit& f, B& b, uint8_t* L) {
        b.d = fp32_to_fp16(f.d);
        b.dmin = fp32_to_fp16(f.dmin);
        uint8_t sc[8], mn[8];
        for (int g = 0; g < 8; ++g) { sc[g] = (uint8_t)f.sc[g]; mn[g] = (uint8_t)f.mn[g]; }
        kq::pack_scale_min_k4(sc, mn, b.scales);
        for (int e = 0; e < QK_K; ++e) L[e] = (uint8_t)f.q[e];
    }
};

struct Q4K : Q45K<15> {
    static constexpr auto ggml = kq::quantize_q4_k;
    static constexpr auto dequantize = kq::dequantize_q4_k;
    static void pack(const Fit& f, block_q4_K& b) {
        uint8_t L[QK_K];
        pack_common(f, b, L);
        kq::pack_q4_k_qs(L, b.qs);
    }
};

struct Q5K : Q45K<31> {
    static constexpr auto ggml = kq::quantize_q5_k;
    static constexpr auto dequantize = kq::dequantize_q5_k;
    static void pack(const Fit& f, block_q5_K& b) {
        uint8_t L[QK_K];
        pack_common(f, b, L);
        kq::pack_q5_k_qs(L, b.qs, b.qh);
    }
};

struct Q6K {
    static constexpr Layout layout{16, 16, -32, 31, -128, 127, 0};
    static constexpr auto ggml = kq::quantize_q6_k;
    static constexpr auto dequantize = kq::dequantize_q6_k;
    static void read(const block_q6_K& b, Fit& f) {
        f.d = fp16_to_fp32(b.d);
        for (int g = 0; g < 16; ++g) f.sc[g] = b.scales[g];
    }
    static void pack(const Fit& f, block_q6_K& b) {
        b.d = fp32_to_fp16(f.d);
        for (int g = 0; g < 16; ++g) b.scales[g] = (int8_t)f.sc[g];
        int8_t L[QK_K];
        for (int e = 0; e < QK_K; ++e) L[e] = (int8_t)(f.q[e] + 32);
        kq::pack_q6_k_qs(L, b.ql, b.qh);
    }
};

struct Q3K {
    static constexpr Layout layout{16, 16, -4, 3, -32, 31, 0};
    static constexpr auto ggml = kq::quantize_q3_k;
    static constexpr auto dequantize = kq::dequantize_q3_k;
    static void read(const block_q3_K& b, Fit& f) {
        f.d = fp16_to_fp32(b.d);
        int8_t sc[16];
        kq::unpack_scales_q3_k(b.scales, sc);
        for (int g = 0; g < 16; ++g) f.sc[g] = sc[g];
    }
    static void pack(const Fit& f, block_q3_K& b) {
        b.d = fp32_to_fp16(f.d);
        int8_t sc[16], L[QK_K];
        for (int g = 0; g < 16; ++g) sc[g] = (int8_t)f.sc[g];
        kq::pack_q3_k_scales(sc, b.scales);
        for (int e = 0; e < QK_K; ++e) L[e] = (int8_t)(f.q[e] + 4);
        kq::pack_q3_k_qs(L, b.hmask, b.qs);
    }
};

struct Q2K {
    static constexpr Layout layout{16, 16, 0, 3, 0, 15, 15};
    static constexpr auto ggml = kq::quantize_q2_k;
    static constexpr auto dequantize = kq::dequantize_q2_k;
    static void read(const block_q2_K& b, Fit& f) {
        f.d = fp16_to_fp32(b.d);
        f.dmin = fp16_to_fp32(b.dmin);
        for (int g = 0; g < 16; ++g) { f.sc[g] = b.scales[g] & 0xF; f.mn[g] = b.scales[g] >> 4; }
    }
    static void pack(const Fit& f, block_q2_K& b) {
        b.d = fp32_to_fp16(f.d);
        b.dmin = fp32_to_fp16(f.dmin);
        for (int g = 0; g < 16; ++g) b.scales[g] = (uint8_t)(f.sc[g] | f.mn[g] << 4);
        uint8_t L[QK_K];
        for (int e = 0; e < QK_K; ++e) L[e] = (uint8_t)f.q[e];
        kq::pack_2bit(L, b.qs);
    }
};

}  // namespace

namespace refine {
void quantize_q2_k(const float* x, void* dst, int64_t n) { refine_rows<block_q2_K, Q2K>(x, dst, n); }
void quantize_q3_k(const float* x, void* dst, int64_t n) { refine_rows<block_q3_K, Q3K>(x, dst, n); }
void quantize_q4_k(const float* x, void* dst, int64_t n) { refine_rows<block_q4_K, Q4K>(x, dst, n); }
void quantize_q5_k(const float* x, void* dst, int64_t n) { refine_rows<block_q5_K, Q5K>(x, dst, n); }
void quantize_q6_k(const float* x, void* dst, int64_t n) { refine_rows<block_q6_K, Q6K>(x, dst, n); }
}  // namespace refine

QuantizeFn refined_quantizer(uint32_t type) {
    switch ((GGMLType)type) {
        case GGMLType::Q2_K: return refine::quantize_q2_k;
        case GGMLType::Q3_K: return refine::quantize_q3_k;
        case GGMLType::Q4_K: return refine::quantize_q4_k;
        case GGMLType::Q5_K: return refine::quantize_q5_k;
        case GGMLType::Q6_K: return refine::quantize_q6_k;
        case GGMLType::Q4_0: return refine::quantize_q4_0;
        case GGMLType::Q5_0: return refine::quantize_q5_0;
        case GGMLType::Q4_1: return refine::quantize_q4_1;
        case GGMLType::Q5_1: return refine::quantize_q5_1;
        case GGMLType::Q8_0: return refine::quantize_q8_0;
        default: return nullptr;
    }
}

}  // namespace llmrt
