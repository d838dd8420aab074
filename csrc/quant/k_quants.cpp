// K-quants (Q2_K .. Q6_K): registration, dequantization and the portable scalar reference dot
// products against A8_256 activations. Layouts are ggml's (quant/blocks.h).
//
// The dot products fold each type's minimums (Q2_K/Q4_K/Q5_K) and fixed offsets (Q3_K's -4,
// Q6_K's -32) in through the activation block's 16-element sums, so the per-element work is one
// integer multiply-add on the raw unsigned quant. Dequantization evaluates every element as
// (d * scale) * q - (dmin * min) in float, the order ggml and the gguf package use, so results
// agree bit for bit.
#include <cstring>

#include "quant/k_quants_internal.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt::kq {

// ---- dequantize ----

void dequantize_q2_k(const void* src, float* y, int64_t n) {
    const block_q2_K* x = (const block_q2_K*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        for (int e = 0; e < QK_K; ++e) {
            const int q = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
            const uint8_t sc = x[i].scales[e / 16];
            const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
            y[e] = dl * (float)q - ml;
        }
        y += QK_K;
    }
}

void dequantize_q3_k(const void* src, float* y, int64_t n) {
    const block_q3_K* x = (const block_q3_K*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        int8_t sc[16];
        unpack_scales_q3_k(x[i].scales, sc);
        for (int e = 0; e < QK_K; ++e) {
            const int lo = (x[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
            const int hi = (x[i].hmask[e % 32] >> (e / 32)) & 1;
            const float dl = d * (float)sc[e / 16];
            y[e] = dl * (float)(lo - (hi ? 0 : 4));
        }
        y += QK_K;
    }
}

void dequantize_q4_k(const void* src, float* y, int64_t n) {
    const block_q4_K* x = (const block_q4_K*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        unpack_scale_min_k4(x[i].scales, sc, mn);
        for (int e = 0; e < QK_K; ++e) {
            const int sub = e / 32;  // even sub-blocks take the low nibbles of a 32-byte run
            const uint8_t byte = x[i].qs[32 * (e / 64) + e % 32];
            const int q = (sub & 1) ? (byte >> 4) : (byte & 0xF);
            const float dl = d * (float)sc[sub], ml = dmin * (float)mn[sub];
            y[e] = dl * (float)q - ml;
        }
        y += QK_K;
    }
}

void dequantize_q5_k(const void* src, float* y, int64_t n) {
    const block_q5_K* x = (const block_q5_K*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d), dmin = fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], mn[8];
        unpack_scale_min_k4(x[i].scales, sc, mn);
        for (int e = 0; e < QK_K; ++e) {
            const int sub = e / 32;
            const uint8_t byte = x[i].qs[32 * (e / 64) + e % 32];
            const int lo = (sub & 1) ? (byte >> 4) : (byte & 0xF);
            const int hi = (x[i].qh[e % 32] >> sub) & 1;
            const float dl = d * (float)sc[sub], ml = dmin * (float)mn[sub];
            y[e] = dl * (float)(lo | hi << 4) - ml;
        }
        y += QK_K;
    }
}

// Q4_K / Q5_K rows unpacked for the prefill kernel (quant/unpacked.h): each 32-element
// sub-block is x = (d*sc) * q - dmin*mn, i.e. scale d*sc and offset -dmin*mn.
template <bool Five>
void unpack_q45_k(const void* src, int8_t* q, float* d_out, float* m_out, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const uint8_t* qs;
        const uint8_t* qh = nullptr;
        const uint8_t* scales;
        float d, dmin;
        if constexpr (Five) {
            const block_q5_K& b = ((const block_q5_K*)src)[i];
            qs = b.qs; qh = b.qh; scales = b.scales;
            d = fp16_to_fp32(b.d); dmin = fp16_to_fp32(b.dmin);
        } else {
            const block_q4_K& b = ((const block_q4_K*)src)[i];
            qs = b.qs; scales = b.scales;
            d = fp16_to_fp32(b.d); dmin = fp16_to_fp32(b.dmin);
        }
        uint8_t sc[8], mn[8];
        unpack_scale_min_k4(scales, sc, mn);
        for (int sub = 0; sub < 8; ++sub) {
            d_out[i * 8 + sub] = d * (float)sc[sub];
            m_out[i * 8 + sub] = -dmin * (float)mn[sub];
        }
        int8_t* out = q + i * QK_K;
        for (int e = 0; e < QK_K; ++e) {
            const int sub = e / 32;
            const uint8_t byte = qs[32 * (e / 64) + e % 32];
            int v = (sub & 1) ? (byte >> 4) : (byte & 0xF);
            if constexpr (Five) v |= ((qh[e % 32] >> sub) & 1) << 4;
            out[e] = (int8_t)v;
        }
    }
}

// Q6_K element e of a super-block: half h = e/128, r = e%128, l = r%32, quarter k = r/32.
// Low 4 bits: ql[64h + l + 32*(k&1)], nibble k/2; high 2 bits: qh[32h + l] at bit 2k.
static inline int q6_k_value(const block_q6_K& b, int e) {
    const int h = e / 128, r = e % 128, l = r % 32, k = r / 32;
    const uint8_t lbyte = b.ql[64 * h + l + 32 * (k & 1)];
    const int lo = (k >> 1) ? (lbyte >> 4) : (lbyte & 0xF);
    const int hi = (b.qh[32 * h + l] >> (2 * k)) & 3;
    return lo | hi << 4;  // 0..63, value is q - 32
}

void dequantize_q6_k(const void* src, float* y, int64_t n) {
    const block_q6_K* x = (const block_q6_K*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        for (int e = 0; e < QK_K; ++e) {
            const float dl = d * (float)x[i].scales[e / 16];
            y[e] = dl * (float)(q6_k_value(x[i], e) - 32);
        }
        y += QK_K;
    }
}

// ---- scalar reference dot products ----

// Sum of q[e] * a.qs[e] over one 16-element group g, q given by a per-element functor.
template <class Q>
static inline int group_dot16(const block_a8_256& a, int g, Q q) {
    int s = 0;
    for (int e = 16 * g; e < 16 * g + 16; ++e) s += q(e) * a.qs[e];
    return s;
}

float vec_dot_q2_k_ref(int64_t n, const void* vw, const void* va) {
    const block_q2_K* w = (const block_q2_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q2_K& b = w[i];
        auto q = [&](int e) { return (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3; };
        int sumi = 0, summ = 0;
        for (int g = 0; g < 16; ++g) {
            sumi += (b.scales[g] & 0xF) * group_dot16(a[i], g, q);
            summ += (b.scales[g] >> 4) * a[i].bsums[g];
        }
        sum += a[i].d * (fp16_to_fp32(b.d) * (float)sumi - fp16_to_fp32(b.dmin) * (float)summ);
    }
    return sum;
}

float vec_dot_q3_k_ref(int64_t n, const void* vw, const void* va) {
    const block_q3_K* w = (const block_q3_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q3_K& b = w[i];
        int8_t sc[16];
        unpack_scales_q3_k(b.scales, sc);
        // value = (low 2 bits | high bit << 2) - 4; the -4 goes through bsums
        auto q = [&](int e) {
            const int lo = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
            return lo | ((b.hmask[e % 32] >> (e / 32)) & 1) << 2;
        };
        int sumi = 0;
        for (int g = 0; g < 16; ++g) sumi += sc[g] * (group_dot16(a[i], g, q) - 4 * a[i].bsums[g]);
        sum += a[i].d * fp16_to_fp32(b.d) * (float)sumi;
    }
    return sum;
}

// Q4_K and Q5_K share everything but the quant width.
template <class Block, class Q>
static float dot_q45_k(const Block& b, const block_a8_256& a, Q q) {
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b.scales, sc, mn);
    int sumi = 0, summ = 0;
    for (int sub = 0; sub < 8; ++sub) {
        sumi += sc[sub] * (group_dot16(a, 2 * sub, q) + group_dot16(a, 2 * sub + 1, q));
        summ += mn[sub] * (a.bsums[2 * sub] + a.bsums[2 * sub + 1]);
    }
    return a.d * (fp16_to_fp32(b.d) * (float)sumi - fp16_to_fp32(b.dmin) * (float)summ);
}

float vec_dot_q4_k_ref(int64_t n, const void* vw, const void* va) {
    const block_q4_K* w = (const block_q4_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q4_K& b = w[i];
        auto q = [&](int e) {
            const uint8_t byte = b.qs[32 * (e / 64) + e % 32];
            return ((e / 32) & 1) ? (byte >> 4) : (byte & 0xF);
        };
        sum += dot_q45_k(b, a[i], q);
    }
    return sum;
}

float vec_dot_q5_k_ref(int64_t n, const void* vw, const void* va) {
    const block_q5_K* w = (const block_q5_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q5_K& b = w[i];
        auto q = [&](int e) {
            const uint8_t byte = b.qs[32 * (e / 64) + e % 32];
            const int lo = ((e / 32) & 1) ? (byte >> 4) : (byte & 0xF);
            return lo | ((b.qh[e % 32] >> (e / 32)) & 1) << 4;
        };
        sum += dot_q45_k(b, a[i], q);
    }
    return sum;
}

float vec_dot_q6_k_ref(int64_t n, const void* vw, const void* va) {
    const block_q6_K* w = (const block_q6_K*)vw;
    const block_a8_256* a = (const block_a8_256*)va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q6_K& b = w[i];
        auto q = [&](int e) { return q6_k_value(b, e); };
        int sumi = 0;
        for (int g = 0; g < 16; ++g) sumi += b.scales[g] * (group_dot16(a[i], g, q) - 32 * a[i].bsums[g]);
        sum += a[i].d * fp16_to_fp32(b.d) * (float)sumi;
    }
    return sum;
}

}  // namespace llmrt::kq

namespace llmrt {

void register_k_types(TypeTraits* table) {
    using namespace kq;
    struct Entry { GGMLType type; DequantizeFn deq; QuantizeFn quant; VecDotFn ref; VecDotFn avx2; };
#if defined(LLMRT_KQ_HAVE_AVX2)
#define LLMRT_KQ_AVX2(fn) fn
#else
#define LLMRT_KQ_AVX2(fn) nullptr
#endif
    const Entry entries[] = {
        {GGMLType::Q2_K, dequantize_q2_k, quantize_q2_k, vec_dot_q2_k_ref, LLMRT_KQ_AVX2(vec_dot_q2_k_avx2)},
        {GGMLType::Q3_K, dequantize_q3_k, quantize_q3_k, vec_dot_q3_k_ref, LLMRT_KQ_AVX2(vec_dot_q3_k_avx2)},
        {GGMLType::Q4_K, dequantize_q4_k, quantize_q4_k, vec_dot_q4_k_ref, LLMRT_KQ_AVX2(vec_dot_q4_k_avx2)},
        {GGMLType::Q5_K, dequantize_q5_k, quantize_q5_k, vec_dot_q5_k_ref, LLMRT_KQ_AVX2(vec_dot_q5_k_avx2)},
        {GGMLType::Q6_K, dequantize_q6_k, quantize_q6_k, vec_dot_q6_k_ref, LLMRT_KQ_AVX2(vec_dot_q6_k_avx2)},
    };
#undef LLMRT_KQ_AVX2
    const bool avx2 = simd_level() >= SimdLevel::AVX2;
    for (const Entry& e : entries) {
        TypeTraits& t = table[(uint32_t)e.type];
        t.dequantize = e.deq;
        t.quantize = e.quant;
        t.act = ActFormat::A8_256;
        t.vec_dot_ref = e.ref;
        t.vec_dot = (avx2 && e.avx2) ? e.avx2 : e.ref;
    }
#if defined(LLMRT_KQ_HAVE_AVX2)
    if (avx2) {
        table[(uint32_t)GGMLType::Q4_K].vec_dot_multi = vec_dot_multi_q4_k_avx2;
        table[(uint32_t)GGMLType::Q6_K].vec_dot_multi = vec_dot_multi_q6_k_avx2;
        table[(uint32_t)GGMLType::Q4_K].vec_dot_tile = vec_dot_tile_q4_k_avx2;
        set_packed(table[(uint32_t)GGMLType::Q4_K], repack_q4_k<8>, vec_dot_packed_q4_k_avx2, 8, sizeof(block_q4_Kx8));
        set_packed(table[(uint32_t)GGMLType::Q2_K], repack_q2_k<8>, vec_dot_packed_q2_k_avx2, 8, sizeof(block_q2_Kx8));
        set_packed(table[(uint32_t)GGMLType::Q3_K], repack_q3_k<8>, vec_dot_packed_q3_k_avx2, 8, sizeof(block_q3_Kx8));
        set_packed(table[(uint32_t)GGMLType::Q5_K], repack_q5_k<8>, vec_dot_packed_q5_k_avx2, 8, sizeof(block_q5_Kx8));
        set_packed(table[(uint32_t)GGMLType::Q6_K], repack_q6_k<8>, vec_dot_packed_q6_k_avx2, 8, sizeof(block_q6_Kx8));
    }
    if (simd_level() >= SimdLevel::AVX512) {
        set_packed(table[(uint32_t)GGMLType::Q4_K], repack_q4_k<16>, vec_dot_packed_q4_k_avx512, 16,
                   sizeof(block_q4_Kx16));
        set_packed(table[(uint32_t)GGMLType::Q2_K], repack_q2_k<16>, vec_dot_packed_q2_k_avx512, 16,
                   sizeof(block_q2_Kx16));
        set_packed(table[(uint32_t)GGMLType::Q3_K], repack_q3_k<16>, vec_dot_packed_q3_k_avx512, 16,
                   sizeof(block_q3_Kx16));
        set_packed(table[(uint32_t)GGMLType::Q5_K], repack_q5_k<16>, vec_dot_packed_q5_k_avx512, 16,
                   sizeof(block_q5_Kx16));
        set_packed(table[(uint32_t)GGMLType::Q6_K], repack_q6_k<16>, vec_dot_packed_q6_k_avx512, 16,
                   sizeof(block_q6_Kx16));
    }
#endif
    table[(uint32_t)GGMLType::Q4_K].unpack = unpack_q45_k<false>;
    table[(uint32_t)GGMLType::Q5_K].unpack = unpack_q45_k<true>;
}

}  // namespace llmrt
