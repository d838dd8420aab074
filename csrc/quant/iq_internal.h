// Private to the i-quant family and the other table-driven formats (iq4*.cpp, iq2.cpp, iq3.cpp,
// ternary.cpp, iq_grids.cpp, iq_register.cpp). Little-endian byte order is assumed.
// Helpers here are `static inline` so a copy compiled with -mavx2 is never merged with the
// baseline one (see runtime/fp16.h).
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace llmrt::iq {

// The 16 levels IQ4_NL and IQ4_XS index, ascending (a fixed part of the format).
static constexpr int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
// MXFP4's 16 E2M1 codes, doubled so they are integers: sign bit 3, then 0, 0.5, 1, ... 6.
static constexpr int8_t kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// The format tables (iq_grids.cpp, generated into iq_grids.inc by tools/gen_iquant_grids.py).
extern const uint64_t iq2xxs_grid[256];
extern const uint64_t iq2xs_grid[512];
extern const uint64_t iq2s_grid[1024];
extern const uint32_t iq3xxs_grid[256];
extern const uint32_t iq3s_grid[512];
extern const uint8_t ksigns[128];

// Sub-block s's signed scale ls - 32 (-32..31) of an IQ4_XS block.
static inline int iq4_xs_scale(const block_iq4_xs& b, int s) {
    const int lo = (b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF;
    const int hi = (b.scales_h >> (2 * s)) & 3;
    return (lo | hi << 4) - 32;
}

// MXFP4's shared scale 2^(e - 128): the exponent goes straight into the float's bits, and the
// two smallest codes, below the normal range, become subnormals.
static inline float e8m0_half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

static inline uint32_t load_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Dequantizers and scalar reference dot products (A8_32: IQ4_NL, MXFP4; A8_256: the rest).
void dequantize_iq4_nl(const void* src, float* dst, int64_t n);
void dequantize_iq4_xs(const void* src, float* dst, int64_t n);
void dequantize_mxfp4(const void* src, float* dst, int64_t n);
float vec_dot_iq4_nl_ref(int64_t n, const void* w, const void* a);
float vec_dot_iq4_xs_ref(int64_t n, const void* w, const void* a);
float vec_dot_mxfp4_ref(int64_t n, const void* w, const void* a);

void dequantize_iq2_xxs(const void* src, float* dst, int64_t n);
void dequantize_iq2_xs(const void* src, float* dst, int64_t n);
void dequantize_iq2_s(const void* src, float* dst, int64_t n);
void dequantize_iq3_xxs(const void* src, float* dst, int64_t n);
void dequantize_iq3_s(const void* src, float* dst, int64_t n);
void dequantize_tq1_0(const void* src, float* dst, int64_t n);
void dequantize_tq2_0(const void* src, float* dst, int64_t n);
float vec_dot_iq2_xxs_ref(int64_t n, const void* w, const void* a);
float vec_dot_iq2_xs_ref(int64_t n, const void* w, const void* a);
float vec_dot_iq2_s_ref(int64_t n, const void* w, const void* a);
float vec_dot_iq3_xxs_ref(int64_t n, const void* w, const void* a);
float vec_dot_iq3_s_ref(int64_t n, const void* w, const void* a);
float vec_dot_tq1_0_ref(int64_t n, const void* w, const void* a);
float vec_dot_tq2_0_ref(int64_t n, const void* w, const void* a);

// Quantizers (iq4_quantize.cpp): llmrt's own scale search, not ggml's.
void quantize_iq4_nl(const float* src, void* dst, int64_t n);
void quantize_iq4_xs(const float* src, void* dst, int64_t n);

// R rows of IQ4_XS to block_iq4_xsxR (iq4_repack.cpp; IQ4_NL reuses Q4_0's repacker).
template <int R> void repack_iq4_xs(const void* src, size_t row_bytes, int64_t n, void* dst);

#if defined(__x86_64__) || defined(_M_X64)
#define LLMRT_IQ_HAVE_X86 1
// AVX2 dot products (iq4_avx2.cpp, iq_lattice_avx2.cpp).
float vec_dot_iq4_nl_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq4_xs_avx2(int64_t n, const void* w, const void* a);
float vec_dot_mxfp4_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq2_xxs_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq2_xs_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq2_s_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq3_xxs_avx2(int64_t n, const void* w, const void* a);
float vec_dot_iq3_s_avx2(int64_t n, const void* w, const void* a);
float vec_dot_tq2_0_avx2(int64_t n, const void* w, const void* a);
// 8-row packed IQ4_XS on AVX2 (iq4_packed_avx2.cpp).
void vec_dot_packed_iq4_xs_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
// 16-row packed groups on AVX-512 VNNI (iq4_packed_avx512.cpp).
void vec_dot_packed_iq4_nl_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                  int64_t ldo);
void vec_dot_packed_iq4_xs_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                  int64_t ldo);
#endif

}  // namespace llmrt::iq
