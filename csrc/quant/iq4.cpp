// The 16-level table formats IQ4_NL (32-element blocks), IQ4_XS (256-element super-blocks with
// 6-bit sub-block scales) and MXFP4 (32-element blocks, power-of-two scale): dequantization,
// the scalar reference dot products, the unpacker for the prefill kernel, and registration.
//
// Every element is scale * table[nibble] with an int8 table, so a dot product with 8-bit
// activations is an integer sum of table value times activation per block (per sub-block for
// IQ4_XS, weighted by the integer sub-scale), and one float multiply per block. Dequantization
// multiplies in the order the gguf package does ((d * ls) * value for IQ4_XS), so the floats
// agree bit for bit.
#include <cstddef>

#include "quant/iq_internal.h"
#include "quant/legacy_kernels.h"
#include "quant/types.h"
#include "runtime/cpu_features.h"
#include "runtime/fp16.h"

namespace llmrt::iq {
namespace {

// sum over the 32 elements of one nibble block of table[q] * a.
inline int dot_nibbles(const uint8_t* qs, const int8_t* table, const int8_t* a) {
    int s = 0;
    for (int j = 0; j < 16; ++j) s += table[qs[j] & 0xF] * a[j] + table[qs[j] >> 4] * a[j + 16];
    return s;
}

inline void decode_nibbles(const uint8_t* qs, const int8_t* table, float scale, float* y) {
    for (int j = 0; j < 16; ++j) {
        y[j] = scale * (float)table[qs[j] & 0xF];
        y[j + 16] = scale * (float)table[qs[j] >> 4];
    }
}

// The two 32-element formats differ in their table and in how the block's scale is stored.
struct NlFormat {
    using Block = block_iq4_nl;
    static constexpr const int8_t* values = kvalues_iq4nl;
    static float scale(const Block& b) { return fp16_to_fp32(b.d); }
};
struct Mxfp4Format {
    using Block = block_mxfp4;
    static constexpr const int8_t* values = kvalues_mxfp4;
    static float scale(const Block& b) { return e8m0_half(b.e); }
};

template <class F>
void dequantize_blocks32(const void* src, float* y, int64_t n) {
    const typename F::Block* b = (const typename F::Block*)src;
    for (int64_t i = 0; i < n / 32; ++i) decode_nibbles(b[i].qs, F::values, F::scale(b[i]), y + 32 * i);
}

template <class F>
float dot_blocks32(int64_t n, const void* w, const void* a) {
    const typename F::Block* b = (const typename F::Block*)w;
    const block_a8_32* y = (const block_a8_32*)a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; ++i) sum += F::scale(b[i]) * y[i].d * (float)dot_nibbles(b[i].qs, F::values, y[i].qs);
    return sum;
}

// Rows unpacked for the prefill kernel (quant/unpacked.h): the table values themselves are the
// int8 quants, the block's (sub-block's) scale is d, and there is no offset.
inline void unpack_nibbles(const uint8_t* qs, const int8_t* table, int8_t* q) {
    for (int j = 0; j < 16; ++j) {
        q[j] = table[qs[j] & 0xF];
        q[j + 16] = table[qs[j] >> 4];
    }
}

template <class F>
void unpack_blocks32(const void* src, int8_t* q, float* d, float* m, int64_t n) {
    const typename F::Block* b = (const typename F::Block*)src;
    for (int64_t i = 0; i < n / 32; ++i) {
        unpack_nibbles(b[i].qs, F::values, q + 32 * i);
        d[i] = F::scale(b[i]);
        m[i] = 0.0f;
    }
}

void unpack_iq4_xs(const void* src, int8_t* q, float* d, float* m, int64_t n) {
    const block_iq4_xs* b = (const block_iq4_xs*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float dh = fp16_to_fp32(b[i].d);
        for (int s = 0; s < 8; ++s) {
            unpack_nibbles(b[i].qs + 16 * s, kvalues_iq4nl, q + QK_K * i + 32 * s);
            d[8 * i + s] = dh * (float)iq4_xs_scale(b[i], s);
            m[8 * i + s] = 0.0f;
        }
    }
}

}  // namespace

void dequantize_iq4_nl(const void* src, float* y, int64_t n) { dequantize_blocks32<NlFormat>(src, y, n); }
void dequantize_mxfp4(const void* src, float* y, int64_t n) { dequantize_blocks32<Mxfp4Format>(src, y, n); }
float vec_dot_iq4_nl_ref(int64_t n, const void* w, const void* a) { return dot_blocks32<NlFormat>(n, w, a); }
float vec_dot_mxfp4_ref(int64_t n, const void* w, const void* a) { return dot_blocks32<Mxfp4Format>(n, w, a); }

void dequantize_iq4_xs(const void* src, float* y, int64_t n) {
    const block_iq4_xs* b = (const block_iq4_xs*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int s = 0; s < 8; ++s)
            decode_nibbles(b[i].qs + 16 * s, kvalues_iq4nl, d * (float)iq4_xs_scale(b[i], s), y + QK_K * i + 32 * s);
    }
}

float vec_dot_iq4_xs_ref(int64_t n, const void* w, const void* a) {
    const block_iq4_xs* b = (const block_iq4_xs*)w;
    const block_a8_256* y = (const block_a8_256*)a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int isum = 0;  // |isum| <= 8 sub-blocks * 32 * 32 * 127 * 127: fits
        for (int s = 0; s < 8; ++s)
            isum += iq4_xs_scale(b[i], s) * dot_nibbles(b[i].qs + 16 * s, kvalues_iq4nl, y[i].qs + 32 * s);
        sum += fp16_to_fp32(b[i].d) * y[i].d * (float)isum;
    }
    return sum;
}

}  // namespace llmrt::iq

namespace llmrt {

static_assert(sizeof(block_iq4_nl) == sizeof(block_q4_0) && offsetof(block_iq4_nl, qs) == offsetof(block_q4_0, qs),
              "IQ4_NL reuses Q4_0's packed layout and repacker");

void register_iq4_types(TypeTraits* table) {
    using namespace iq;
    struct Entry {
        GGMLType type;
        DequantizeFn deq;
        QuantizeFn quant;
        ActFormat act;
        VecDotFn ref;
        UnpackFn unpack;
    };
    const Entry entries[] = {
        {GGMLType::IQ4_NL, dequantize_iq4_nl, quantize_iq4_nl, ActFormat::A8_32, vec_dot_iq4_nl_ref, unpack_blocks32<NlFormat>},
        {GGMLType::IQ4_XS, dequantize_iq4_xs, quantize_iq4_xs, ActFormat::A8_256, vec_dot_iq4_xs_ref, unpack_iq4_xs},
        {GGMLType::MXFP4, dequantize_mxfp4, nullptr, ActFormat::A8_32, vec_dot_mxfp4_ref, unpack_blocks32<Mxfp4Format>},
    };
    for (const Entry& e : entries) {
        TypeTraits& t = table[(uint32_t)e.type];
        t.dequantize = e.deq;
        t.quantize = e.quant;
        t.act = e.act;
        t.vec_dot_ref = e.ref;
        t.vec_dot = e.ref;
        t.unpack = e.unpack;
    }
#if defined(LLMRT_IQ_HAVE_X86)
    auto at = [&](GGMLType t) -> TypeTraits& { return table[(uint32_t)t]; };
    if (simd_level() >= SimdLevel::AVX2) {
        at(GGMLType::IQ4_NL).vec_dot = vec_dot_iq4_nl_avx2;
        at(GGMLType::IQ4_XS).vec_dot = vec_dot_iq4_xs_avx2;
        at(GGMLType::MXFP4).vec_dot = vec_dot_mxfp4_avx2;
        set_packed(at(GGMLType::IQ4_XS), repack_iq4_xs<8>, vec_dot_packed_iq4_xs_avx2, 8, sizeof(block_iq4_xsxR<8>));
    }
    // IQ4_NL is packed on AVX-512 VNNI only (iq4_packed_avx2.cpp says why); on AVX2 its prefill
    // goes through the unpacked kernel and its decode through vec_dot.
    if (simd_level() >= SimdLevel::AVX512) {
        // block_iq4_nl and block_q4_0 are the same bytes (fp16 d, 16 bytes of nibbles), so Q4_0's
        // repacker lays IQ4_NL out too; only the kernel reads the nibbles differently.
        set_packed(at(GGMLType::IQ4_NL), repack_q4_0<16>, vec_dot_packed_iq4_nl_avx512, 16, sizeof(block_q4_0x16));
        set_packed(at(GGMLType::IQ4_XS), repack_iq4_xs<16>, vec_dot_packed_iq4_xs_avx512, 16,
                   sizeof(block_iq4_xsxR<16>));
    }
#endif
}

}  // namespace llmrt
