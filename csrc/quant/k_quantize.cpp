// K-quant quantizers without an importance matrix. They follow llama.cpp's reference
// quantizers (quantize_row_q*_K_ref) step for step, including the order of float operations,
// so a tensor quantized here matches `llama-quantize` on the same data: the search for each
// group's scale (and minimum) is the same iterative least-squares search, then the group scales
// are themselves quantized (6-bit for Q4_K/Q5_K/Q3_K, 4-bit for Q2_K, 8-bit for Q6_K) and every
// element re-rounded against the scale the file will actually hold.
#include <cmath>
#include <cstring>

#include "quant/k_quants_internal.h"
#include "runtime/fp16.h"

namespace llmrt::kq {
namespace {

constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest (ties to even) through the float mantissa, as ggml's nearest_int does:
// adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. |f| < 2^22.
inline int nearest_int(float f) {
    const float v = f + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &v, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The largest |x[i]|, with `max` set to that element itself (sign kept; first one on ties).
static float signed_absmax(int n, const float* x, float& max) {
    float amax = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    return amax;
}

// Symmetric scale for a group, signed levels -nmax..nmax-1, weighted by x^2; tries 18 scales
// around nmax/max and keeps the one with the best weighted least-squares fit.
// L receives level + nmax. Returns the scale (negative when the largest |x| is positive).
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0.0f;
    if (signed_absmax(n, x, max) < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    auto fit = [&](float iscale, float& sumlx, float& suml2) {
        sumlx = 0.0f; suml2 = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
    };
    auto assign = [&](float iscale) {
        for (int i = 0; i < n; ++i) L[i] = (int8_t)(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
    };
    float iscale = (float)(-nmax) / max;
    float sumlx, suml2;
    fit(iscale, sumlx, suml2);
    assign(iscale);
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        fit(iscale, sumlx, suml2);
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            assign(iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Q3_K's group search: start from nmax/max, then move single elements to the level that most
// improves the x^2-weighted fit, up to 5 sweeps. L receives level + nmax.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0.0f;
    if (signed_absmax(n, x, max) < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    const float iscale = (float)(-nmax) / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0.0f) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                const int new_l = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * (float)new_l;
                    sl2 += w * (float)new_l * (float)new_l;
                    if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l; sumlx = slx; suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric group fit x ~ scale * L + min (min <= 0), levels 0..nmax, weighted squared (or
// absolute, use_mad) error: starts from the min/max range, then tries nstep+1 stretched scales,
// each refined by a weighted least-squares solve for scale and min. Returns the scale and
// stores -min in *neg_min.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* neg_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0.0f) min = 0.0f;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *neg_min = -min;
        return 0.0f;
    }
    auto error_of = [&](float scale, float mn, const uint8_t* q) {
        float err = 0.0f;
        for (int i = 0; i < n; ++i) {
            float diff = scale * (float)q[i] + mn - x[i];
            diff = use_mad ? std::fabs(diff) : diff * diff;
            err += weights[i] * diff;
        }
        return err;
    };
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
    float best_error = error_of(scale, min, L);
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0.0f) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0.0f) {
                this_min = 0.0f;
                this_scale = sum_xl / sum_l2;
            }
            const float cur_error = error_of(this_scale, this_min, Laux);
            if (cur_error < best_error) {
                std::memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

// ---- Q4_K / Q5_K ----

// Group fits for 8 sub-blocks of 32 with weights rms(x) + |x|, then 6-bit scales and mins
// packed as unpack_scale_min_k4 reads them; L receives the final levels 0..NMAX.
template <int NMAX>
void fit_q45_k(const float* x, uint8_t* L, uint8_t* packed, half_bits* d, half_bits* dmin, float rmin,
               int nstep) {
    float scales[8], mins[8], weights[32];
    uint8_t Laux[32];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
        const float* xj = x + 32 * j;
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
        const float av_x = std::sqrt(sum_x2 / 32.0f);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xj[l]);
        scales[j] = make_qkx2_quants(32, NMAX, xj, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = (uint8_t)nearest_int(inv_scale * scales[j]);
        lm[j] = (uint8_t)nearest_int(inv_min * mins[j]);
        if (ls[j] > 63) ls[j] = 63;
        if (lm[j] > 63) lm[j] = 63;
    }
    pack_scale_min_k4(ls, lm, packed);
    *d = fp32_to_fp16(max_scale / 63.0f);
    *dmin = fp32_to_fp16(max_min / 63.0f);
    // Re-round every element against the scale and min the block will hold.
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(packed, sc, mn);
    for (int j = 0; j < 8; ++j) {
        const float dl = fp16_to_fp32(*d) * (float)sc[j];
        if (dl == 0.0f) continue;
        const float ml = fp16_to_fp32(*dmin) * (float)mn[j];
        for (int l = 0; l < 32; ++l) L[32 * j + l] = (uint8_t)clampi(nearest_int((x[32 * j + l] + ml) / dl), 0, NMAX);
    }
}

}  // namespace

// ---- packers (shared with the refining quantizers, k_quantize_refine.cpp) ----

void pack_2bit(const uint8_t* L, uint8_t* qs) {
    for (int h = 0; h < QK_K; h += 128)
        for (int l = 0; l < 32; ++l)
            qs[h / 4 + l] = (uint8_t)(L[h + l] | L[h + l + 32] << 2 | L[h + l + 64] << 4 | L[h + l + 96] << 6);
}

void pack_scale_min_k4(const uint8_t* sc, const uint8_t* mn, uint8_t* packed) {
    std::memset(packed, 0, K_SCALE_SIZE);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            packed[j] = sc[j];
            packed[j + 4] = mn[j];
        } else {
            packed[j + 4] = (uint8_t)((sc[j] & 0xF) | (mn[j] & 0xF) << 4);
            packed[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            packed[j] |= (uint8_t)((mn[j] >> 4) << 6);
        }
    }
}

void pack_q4_k_qs(const uint8_t* L, uint8_t* qs) {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
}

void pack_q5_k_qs(const uint8_t* L, uint8_t* qs, uint8_t* qh) {
    std::memset(qh, 0, QK_K / 8);
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
            qs[32 * c + l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
            qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        }
    }
}

void pack_q6_k_qs(const int8_t* L, uint8_t* ql_out, uint8_t* qh_out) {
    for (int h = 0; h < 2; ++h) {
        const int8_t* Lh = L + 128 * h;
        uint8_t* ql = ql_out + 64 * h;
        uint8_t* qh = qh_out + 32 * h;
        for (int l = 0; l < 32; ++l) {
            const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
            ql[l] = (uint8_t)((q1 & 0xF) | (q3 & 0xF) << 4);
            ql[l + 32] = (uint8_t)((q2 & 0xF) | (q4 & 0xF) << 4);
            qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
        }
    }
}

void pack_q3_k_scales(const int8_t* sc, uint8_t* scales) {
    std::memset(scales, 0, 12);
    for (int g = 0; g < 16; ++g) {
        const int l = sc[g] + 32;
        if (g < 8) scales[g] = (uint8_t)(l & 0xF);
        else scales[g - 8] |= (uint8_t)((l & 0xF) << 4);
        scales[8 + g % 4] |= (uint8_t)((l >> 4) << (2 * (g / 4)));
    }
}

void pack_q3_k_qs(const int8_t* L, uint8_t* hmask, uint8_t* qs) {
    std::memset(hmask, 0, QK_K / 8);
    uint8_t low[QK_K];
    for (int e = 0; e < QK_K; ++e) {
        if (L[e] > 3) hmask[e % 32] |= (uint8_t)(1u << (e / 32));
        low[e] = (uint8_t)(L[e] & 3);
    }
    pack_2bit(low, qs);
}

void quantize_q4_k(const float* x, void* dst, int64_t n) {
    block_q4_K* y = (block_q4_K*)dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        fit_q45_k<15>(x, L, y[i].scales, &y[i].d, &y[i].dmin, -1.0f, 20);
        pack_q4_k_qs(L, y[i].qs);
    }
}

void quantize_q5_k(const float* x, void* dst, int64_t n) {
    block_q5_K* y = (block_q5_K*)dst;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        fit_q45_k<31>(x, L, y[i].scales, &y[i].d, &y[i].dmin, -0.5f, 15);
        pack_q5_k_qs(L, y[i].qs, y[i].qh);
    }
}

void quantize_q6_k(const float* x, void* dst, int64_t n) {
    block_q6_K* y = (block_q6_K*)dst;
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int g = 0; g < 16; ++g) {
            scales[g] = make_qx_quants(16, 32, x + 16 * g, L + 16 * g);
            if (std::fabs(scales[g]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[g]);
                max_scale = scales[g];
            }
        }
        if (max_abs_scale < kGroupMaxEps) {
            std::memset(&y[i], 0, sizeof(block_q6_K));
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = fp32_to_fp16(1.0f / iscale);
        for (int g = 0; g < 16; ++g) {
            const int s = nearest_int(iscale * scales[g]);
            y[i].scales[g] = (int8_t)(s < 127 ? s : 127);
        }
        for (int g = 0; g < 16; ++g) {
            const float dl = fp16_to_fp32(y[i].d) * (float)y[i].scales[g];
            if (dl == 0.0f) continue;
            for (int l = 0; l < 16; ++l)
                L[16 * g + l] = (int8_t)(clampi(nearest_int(x[16 * g + l] / dl), -32, 31) + 32);
        }
        pack_q6_k_qs(L, y[i].ql, y[i].qh);
    }
}

void quantize_q2_k(const float* x, void* dst, int64_t n) {
    block_q2_K* y = (block_q2_K*)dst;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[16], scales[16];
    const float q4scale = 15.0f;
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max_scale = 0.0f, max_min = 0.0f;
        for (int g = 0; g < 16; ++g) {
            for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * g + l]);
            scales[g] = make_qkx2_quants(16, 3, x + 16 * g, weights, L + 16 * g, &mins[g], Laux, -0.5f, 0.1f, 15, true);
            if (scales[g] > max_scale) max_scale = scales[g];
            if (mins[g] > max_min) max_min = mins[g];
        }
        if (max_scale > 0.0f) {
            const float iscale = q4scale / max_scale;
            for (int g = 0; g < 16; ++g) y[i].scales[g] = (uint8_t)nearest_int(iscale * scales[g]);
            y[i].d = fp32_to_fp16(max_scale / q4scale);
        } else {
            for (int g = 0; g < 16; ++g) y[i].scales[g] = 0;
            y[i].d = fp32_to_fp16(0.0f);
        }
        if (max_min > 0.0f) {
            const float iscale = q4scale / max_min;
            for (int g = 0; g < 16; ++g) y[i].scales[g] |= (uint8_t)(nearest_int(iscale * mins[g]) << 4);
            y[i].dmin = fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = fp32_to_fp16(0.0f);
        }
        for (int g = 0; g < 16; ++g) {
            const float dl = fp16_to_fp32(y[i].d) * (float)(y[i].scales[g] & 0xF);
            if (dl == 0.0f) continue;
            const float ml = fp16_to_fp32(y[i].dmin) * (float)(y[i].scales[g] >> 4);
            for (int l = 0; l < 16; ++l) L[16 * g + l] = (uint8_t)clampi(nearest_int((x[16 * g + l] + ml) / dl), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

void quantize_q3_k(const float* x, void* dst, int64_t n) {
    block_q3_K* y = (block_q3_K*)dst;
    int8_t L[QK_K];
    float scales[16];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max_scale = 0.0f, amax = 0.0f;
        for (int g = 0; g < 16; ++g) {
            scales[g] = make_q3_quants(16, 4, x + 16 * g, L + 16 * g);
            if (std::fabs(scales[g]) > amax) { amax = std::fabs(scales[g]); max_scale = scales[g]; }
        }
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            int8_t ls[16];
            for (int g = 0; g < 16; ++g) ls[g] = (int8_t)clampi((int8_t)nearest_int(iscale * scales[g]), -32, 31);
            pack_q3_k_scales(ls, y[i].scales);
            y[i].d = fp32_to_fp16(1.0f / iscale);
        } else {
            std::memset(y[i].scales, 0, sizeof y[i].scales);   // as ggml: all bytes 0 (scales -32, d 0)
            y[i].d = fp32_to_fp16(0.0f);
        }
        int8_t sc[16];
        unpack_scales_q3_k(y[i].scales, sc);
        for (int g = 0; g < 16; ++g) {
            const float dl = fp16_to_fp32(y[i].d) * (float)sc[g];
            if (dl == 0.0f) continue;
            for (int l = 0; l < 16; ++l) L[16 * g + l] = (int8_t)(clampi(nearest_int(x[16 * g + l] / dl), -4, 3) + 4);
        }
        pack_q3_k_qs(L, y[i].hmask, y[i].qs);
    }
}

}  // namespace llmrt::kq
