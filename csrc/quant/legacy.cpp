// The 32-element "legacy" formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: scalar dequantize, the
// quantizers (bit-exact with ggml's quantize_row_*_ref), and the scalar reference dot products
// against A8_32 activations. The AVX2 paths live in legacy_avx2.cpp.
//
// Dot products are integer inner products with one float multiply per block; the constant
// offsets are folded in through the activation block's s = d_a * sum(qa):
//   Q4_0: sum d_w*(q-8)*d_a*qa = d_w*(d_a*sum(q*qa) - 8*s)     Q5_0 likewise with 16
//   Q4_1: sum (d_w*q+m)*d_a*qa = d_w*d_a*sum(q*qa) + m*s        Q5_1 likewise
//   Q8_0: d_w*d_a*sum(q*qa)

// The quantizers must round exactly like ggml's (a multiply, then an add, each rounded): a
// compiler contracting x*id + 8.5f into an FMA would change which integer some values land on.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.h"
#include "quant/legacy_kernels.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt {
namespace {

inline uint32_t load_qh(const uint8_t* qh) { uint32_t u; std::memcpy(&u, qh, 4); return u; }  // little-endian

// The 32 quants of a 4-bit block: low nibbles are elements 0..15, high nibbles 16..31.
inline void unpack_nibbles(const uint8_t* qs, int* q) {
    for (int j = 0; j < 16; ++j) {
        q[j] = qs[j] & 0x0F;
        q[j + 16] = qs[j] >> 4;
    }
}

// The 32 quants of a 5-bit block: the nibbles plus bit j of qh as element j's fifth bit.
inline void unpack_5bit(const uint8_t* qs, const uint8_t* qhb, int* q) {
    const uint32_t qh = load_qh(qhb);
    for (int j = 0; j < 16; ++j) {
        q[j] = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
        q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
    }
}

inline void pack_nibbles(const int* q, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = (uint8_t)((q[j] & 0x0F) | (q[j + 16] & 0x0F) << 4);
}

inline void pack_5bit(const int* q, uint8_t* qs, uint8_t* qhb) {
    pack_nibbles(q, qs);
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) qh |= (uint32_t)((q[j] >> 4) & 1) << j;
    std::memcpy(qhb, &qh, 4);
}

// ---- dequantize ----

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
    const block_q4_0* b = (const block_q4_0*)src;
    int q[32];
    for (int64_t i = 0; i < n / QK4_0; ++i, dst += QK4_0) {
        const float d = fp16_to_fp32(b[i].d);
        unpack_nibbles(b[i].qs, q);
        for (int j = 0; j < 32; ++j) dst[j] = d * (float)(q[j] - 8);
    }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
    const block_q4_1* b = (const block_q4_1*)src;
    int q[32];
    for (int64_t i = 0; i < n / QK4_1; ++i, dst += QK4_1) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        unpack_nibbles(b[i].qs, q);
        for (int j = 0; j < 32; ++j) dst[j] = d * (float)q[j] + m;
    }
}

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
    const block_q5_0* b = (const block_q5_0*)src;
    int q[32];
    for (int64_t i = 0; i < n / QK5_0; ++i, dst += QK5_0) {
        const float d = fp16_to_fp32(b[i].d);
        unpack_5bit(b[i].qs, b[i].qh, q);
        for (int j = 0; j < 32; ++j) dst[j] = d * (float)(q[j] - 16);
    }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
    const block_q5_1* b = (const block_q5_1*)src;
    int q[32];
    for (int64_t i = 0; i < n / QK5_1; ++i, dst += QK5_1) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        unpack_5bit(b[i].qs, b[i].qh, q);
        for (int j = 0; j < 32; ++j) dst[j] = d * (float)q[j] + m;
    }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
    const block_q8_0* b = (const block_q8_0*)src;
    for (int64_t i = 0; i < n / QK8_0; ++i, dst += QK8_0) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; ++j) dst[j] = d * (float)b[i].qs[j];
    }
}

// ---- quantize (ggml's reference quantizers) ----

// The element of largest magnitude, with its sign (the first one on ties).
inline float signed_absmax(const float* x) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j)
        if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
    return max;
}

inline void min_max(const float* x, float& mn, float& mx) {
    mn = x[0]; mx = x[0];
    for (int j = 1; j < 32; ++j) { mn = std::min(mn, x[j]); mx = std::max(mx, x[j]); }
}

// Symmetric formats: d = max / -(levels/2), q = trunc(x/d + levels/2 + 0.5) clamped.
inline float quantize_symmetric(const float* x, int half_levels, int* q) {
    const float d = signed_absmax(x) / (float)-half_levels;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const float bias = (float)half_levels + 0.5f;
    for (int j = 0; j < 32; ++j) q[j] = std::clamp((int)(x[j] * id + bias), 0, 2 * half_levels - 1);
    return d;
}

// Formats with a minimum: d = (max - min) / (levels - 1), q = trunc((x - min)/d + 0.5) clamped.
inline float quantize_affine(const float* x, int levels, int* q, float& mn) {
    float mx;
    min_max(x, mn, mx);
    const float d = (mx - mn) / (float)(levels - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) q[j] = std::clamp((int)((x[j] - mn) * id + 0.5f), 0, levels - 1);
    return d;
}

void quantize_q4_0(const float* x, void* dst, int64_t n) {
    block_q4_0* b = (block_q4_0*)dst;
    int q[32];
    for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
        b[i].d = fp32_to_fp16(quantize_symmetric(x, 8, q));
        pack_nibbles(q, b[i].qs);
    }
}

void quantize_q4_1(const float* x, void* dst, int64_t n) {
    block_q4_1* b = (block_q4_1*)dst;
    int q[32];
    for (int64_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
        float mn;
        b[i].d = fp32_to_fp16(quantize_affine(x, 16, q, mn));
        b[i].m = fp32_to_fp16(mn);
        pack_nibbles(q, b[i].qs);
    }
}

void quantize_q5_0(const float* x, void* dst, int64_t n) {
    block_q5_0* b = (block_q5_0*)dst;
    int q[32];
    for (int64_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
        b[i].d = fp32_to_fp16(quantize_symmetric(x, 16, q));
        pack_5bit(q, b[i].qs, b[i].qh);
    }
}

void quantize_q5_1(const float* x, void* dst, int64_t n) {
    block_q5_1* b = (block_q5_1*)dst;
    int q[32];
    for (int64_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
        float mn;
        b[i].d = fp32_to_fp16(quantize_affine(x, 32, q, mn));
        b[i].m = fp32_to_fp16(mn);
        pack_5bit(q, b[i].qs, b[i].qh);
    }
}

void quantize_q8_0(const float* x, void* dst, int64_t n) {
    block_q8_0* b = (block_q8_0*)dst;
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < 32; ++j) b[i].qs[j] = (int8_t)std::round(x[j] * id);  // half away from 0
    }
}

// ---- scalar reference dot products against A8_32 ----

inline int dot32(const int* q, const int8_t* qa) {
    int s = 0;
    for (int j = 0; j < 32; ++j) s += q[j] * qa[j];
    return s;
}

float vec_dot_q4_0_ref(int64_t n, const void* w, const void* a) {
    const block_q4_0* b = (const block_q4_0*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    int q[32];
    for (int64_t i = 0; i < n / QK4_0; ++i) {
        unpack_nibbles(b[i].qs, q);
        sum += fp16_to_fp32(b[i].d) * (y[i].d * (float)dot32(q, y[i].qs) - 8.0f * y[i].s);
    }
    return sum;
}

float vec_dot_q4_1_ref(int64_t n, const void* w, const void* a) {
    const block_q4_1* b = (const block_q4_1*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    int q[32];
    for (int64_t i = 0; i < n / QK4_1; ++i) {
        unpack_nibbles(b[i].qs, q);
        sum += fp16_to_fp32(b[i].d) * y[i].d * (float)dot32(q, y[i].qs) + fp16_to_fp32(b[i].m) * y[i].s;
    }
    return sum;
}

float vec_dot_q5_0_ref(int64_t n, const void* w, const void* a) {
    const block_q5_0* b = (const block_q5_0*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    int q[32];
    for (int64_t i = 0; i < n / QK5_0; ++i) {
        unpack_5bit(b[i].qs, b[i].qh, q);
        sum += fp16_to_fp32(b[i].d) * (y[i].d * (float)dot32(q, y[i].qs) - 16.0f * y[i].s);
    }
    return sum;
}

float vec_dot_q5_1_ref(int64_t n, const void* w, const void* a) {
    const block_q5_1* b = (const block_q5_1*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    int q[32];
    for (int64_t i = 0; i < n / QK5_1; ++i) {
        unpack_5bit(b[i].qs, b[i].qh, q);
        sum += fp16_to_fp32(b[i].d) * y[i].d * (float)dot32(q, y[i].qs) + fp16_to_fp32(b[i].m) * y[i].s;
    }
    return sum;
}

float vec_dot_q8_0_ref(int64_t n, const void* w, const void* a) {
    const block_q8_0* b = (const block_q8_0*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int s = 0;
        for (int j = 0; j < 32; ++j) s += (int)b[i].qs[j] * (int)y[i].qs[j];
        sum += fp16_to_fp32(b[i].d) * y[i].d * (float)s;
    }
    return sum;
}

void set(TypeTraits& t, DequantizeFn deq, QuantizeFn quant, VecDotFn ref, VecDotFn fast) {
    t.dequantize = deq;
    t.quantize = quant;
    t.act = ActFormat::A8_32;
    t.vec_dot_ref = ref;
    t.vec_dot = fast ? fast : ref;
}

}  // namespace

// ---- unpacking for the prefill kernel: x = d * q + m with int8 q -------------------------

template <typename Block, int Bits, int Offset, bool HasMin>
void unpack_row(const void* src, int8_t* q, float* d, float* m, int64_t n) {
    const Block* blocks = static_cast<const Block*>(src);
    int v[32];
    for (int64_t b = 0; b < n / 32; ++b) {
        const Block& blk = blocks[b];
        if constexpr (Bits == 8) {
            for (int j = 0; j < 32; ++j) v[j] = ((const int8_t*)blk.qs)[j];
        } else if constexpr (Bits == 5) {
            unpack_5bit(blk.qs, blk.qh, v);
        } else {
            unpack_nibbles(blk.qs, v);
        }
        for (int j = 0; j < 32; ++j) q[b * 32 + j] = (int8_t)(v[j] - Offset);
        d[b] = fp16_to_fp32(blk.d);
        if constexpr (HasMin) m[b] = fp16_to_fp32(blk.m);
        else m[b] = 0.0f;
    }
}

void register_legacy_types(TypeTraits* table) {
    auto at = [&](GGMLType t) -> TypeTraits& { return table[(uint32_t)t]; };
    set(at(GGMLType::Q4_0), dequantize_q4_0, quantize_q4_0, vec_dot_q4_0_ref, nullptr);
    set(at(GGMLType::Q4_1), dequantize_q4_1, quantize_q4_1, vec_dot_q4_1_ref, nullptr);
    set(at(GGMLType::Q5_0), dequantize_q5_0, quantize_q5_0, vec_dot_q5_0_ref, nullptr);
    set(at(GGMLType::Q5_1), dequantize_q5_1, quantize_q5_1, vec_dot_q5_1_ref, nullptr);
    set(at(GGMLType::Q8_0), dequantize_q8_0, quantize_q8_0, vec_dot_q8_0_ref, nullptr);
    at(GGMLType::Q4_0).unpack = unpack_row<block_q4_0, 4, 8, false>;
    at(GGMLType::Q4_1).unpack = unpack_row<block_q4_1, 4, 0, true>;
    at(GGMLType::Q5_0).unpack = unpack_row<block_q5_0, 5, 16, false>;
    at(GGMLType::Q5_1).unpack = unpack_row<block_q5_1, 5, 0, true>;
    at(GGMLType::Q8_0).unpack = unpack_row<block_q8_0, 8, 0, false>;
#if LLMRT_HAVE_AVX2_KERNELS
    if ((int)simd_level() >= (int)SimdLevel::AVX2) {
        at(GGMLType::Q4_0).vec_dot = avx2::vec_dot_q4_0;
        at(GGMLType::Q4_1).vec_dot = avx2::vec_dot_q4_1;
        at(GGMLType::Q5_0).vec_dot = avx2::vec_dot_q5_0;
        at(GGMLType::Q5_1).vec_dot = avx2::vec_dot_q5_1;
        at(GGMLType::Q8_0).vec_dot = avx2::vec_dot_q8_0;
        at(GGMLType::Q4_0).vec_dot_multi = avx2::vec_dot_multi_q4_0;
        at(GGMLType::Q4_1).vec_dot_multi = avx2::vec_dot_multi_q4_1;
        at(GGMLType::Q5_0).vec_dot_multi = avx2::vec_dot_multi_q5_0;
        at(GGMLType::Q5_1).vec_dot_multi = avx2::vec_dot_multi_q5_1;
        at(GGMLType::Q8_0).vec_dot_multi = avx2::vec_dot_multi_q8_0;
        at(GGMLType::Q4_0).vec_dot_tile = avx2::vec_dot_tile_q4_0;
        at(GGMLType::Q4_1).vec_dot_tile = avx2::vec_dot_tile_q4_1;
        at(GGMLType::Q5_0).vec_dot_tile = avx2::vec_dot_tile_q5_0;
        at(GGMLType::Q5_1).vec_dot_tile = avx2::vec_dot_tile_q5_1;
        at(GGMLType::Q8_0).vec_dot_tile = avx2::vec_dot_tile_q8_0;
        set_packed(at(GGMLType::Q4_0), repack_q4_0<8>, avx2::vec_dot_packed_q4_0, 8, sizeof(block_q4_0x8));
        set_packed(at(GGMLType::Q4_1), repack_q4_1<8>, avx2::vec_dot_packed_q4_1, 8, sizeof(block_q4_1x8));
        set_packed(at(GGMLType::Q5_0), repack_q5_0<8>, avx2::vec_dot_packed_q5_0, 8, sizeof(block_q5_0x8));
        set_packed(at(GGMLType::Q5_1), repack_q5_1<8>, avx2::vec_dot_packed_q5_1, 8, sizeof(block_q5_1x8));
        set_packed(at(GGMLType::Q8_0), repack_q8_0<8>, avx2::vec_dot_packed_q8_0, 8, sizeof(block_q8_0x8));
        at(GGMLType::Q4_0).dequantize = avx2::dequantize_q4_0;
        at(GGMLType::Q4_1).dequantize = avx2::dequantize_q4_1;
        at(GGMLType::Q5_0).dequantize = avx2::dequantize_q5_0;
        at(GGMLType::Q5_1).dequantize = avx2::dequantize_q5_1;
        at(GGMLType::Q8_0).dequantize = avx2::dequantize_q8_0;
    }
    if ((int)simd_level() >= (int)SimdLevel::AVX512) {
        set_packed(at(GGMLType::Q4_0), repack_q4_0<16>, avx512::vec_dot_packed_q4_0, 16, sizeof(block_q4_0x16));
        set_packed(at(GGMLType::Q4_1), repack_q4_1<16>, avx512::vec_dot_packed_q4_1, 16, sizeof(block_q4_1x16));
        set_packed(at(GGMLType::Q5_0), repack_q5_0<16>, avx512::vec_dot_packed_q5_0, 16, sizeof(block_q5_0x16));
        set_packed(at(GGMLType::Q5_1), repack_q5_1<16>, avx512::vec_dot_packed_q5_1, 16, sizeof(block_q5_1x16));
        set_packed(at(GGMLType::Q8_0), repack_q8_0<16>, avx512::vec_dot_packed_q8_0, 16, sizeof(block_q8_0x16));
    }
#endif
}

}  // namespace llmrt
