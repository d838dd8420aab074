// Private to the K-quant family (k_quants.cpp, k_quantize.cpp, k_quants_avx2.cpp).
// Little-endian byte order is assumed (x86-64, AArch64).
// Everything here is `static inline` or declared with distinct names per ISA, so a helper
// compiled with -mavx2 can never be merged with the baseline copy (see runtime/fp16.h).
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace llmrt::kq {

// Scalar reference kernels and dequantizers (k_quants.cpp).
void dequantize_q2_k(const void* src, float* dst, int64_t n);
void dequantize_q3_k(const void* src, float* dst, int64_t n);
void dequantize_q4_k(const void* src, float* dst, int64_t n);
void dequantize_q5_k(const void* src, float* dst, int64_t n);
void dequantize_q6_k(const void* src, float* dst, int64_t n);
float vec_dot_q2_k_ref(int64_t n, const void* w, const void* a);
float vec_dot_q3_k_ref(int64_t n, const void* w, const void* a);
float vec_dot_q4_k_ref(int64_t n, const void* w, const void* a);
float vec_dot_q5_k_ref(int64_t n, const void* w, const void* a);
float vec_dot_q6_k_ref(int64_t n, const void* w, const void* a);

// Quantizers without an importance matrix, matching llama.cpp's quantize_row_q*_K_ref
// (k_quantize.cpp).
void quantize_q2_k(const float* src, void* dst, int64_t n);
void quantize_q3_k(const float* src, void* dst, int64_t n);
void quantize_q4_k(const float* src, void* dst, int64_t n);
void quantize_q5_k(const float* src, void* dst, int64_t n);
void quantize_q6_k(const float* src, void* dst, int64_t n);

// R rows (8 or 16) to block_q2_KxR ... block_q6_KxR (RepackFn, k_repack.cpp).
template <int R> void repack_q2_k(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q3_k(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q4_k(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q5_k(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q6_k(const void* src, size_t row_bytes, int64_t n, void* dst);

// Block packers (k_quantize.cpp), from levels L (0..2^bits-1) and integer sub-scales.
void pack_2bit(const uint8_t* L, uint8_t* qs);                                // Q2_K qs
void pack_scale_min_k4(const uint8_t* sc, const uint8_t* mn, uint8_t* packed);  // 8+8 six-bit
void pack_q4_k_qs(const uint8_t* L, uint8_t* qs);
void pack_q5_k_qs(const uint8_t* L, uint8_t* qs, uint8_t* qh);
void pack_q6_k_qs(const int8_t* L, uint8_t* ql, uint8_t* qh);
void pack_q3_k_scales(const int8_t* sc, uint8_t* scales);                      // sc -32..31
void pack_q3_k_qs(const int8_t* L, uint8_t* hmask, uint8_t* qs);

// AVX2 kernels (k_quants_avx2.cpp); only defined when that file is compiled for AVX2.
#if defined(__x86_64__) || defined(_M_X64)
#define LLMRT_KQ_HAVE_AVX2 1
float vec_dot_q2_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q3_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q4_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q5_k_avx2(int64_t n, const void* w, const void* a);
float vec_dot_q6_k_avx2(int64_t n, const void* w, const void* a);
// 1..4 activation rows at once (VecDotMultiFn).
void vec_dot_multi_q4_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
void vec_dot_multi_q6_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
// 4-row tiles (VecDotTileFn, k_tile_avx2.cpp)
void vec_dot_tile_q4_k_avx2(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
// Packed 8-row groups (VecDotPackedFn, k_packed_avx2.cpp; layout block_q4_Kx8, k_repack.cpp).
void vec_dot_packed_q4_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q2_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q3_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q5_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q6_k_avx2(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
// 16-row groups on AVX-512 VNNI (k_packed_avx512.cpp; layouts block_q4_Kx16 / block_q6_Kx16).
void vec_dot_packed_q4_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
void vec_dot_packed_q2_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
void vec_dot_packed_q3_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
void vec_dot_packed_q5_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
void vec_dot_packed_q6_k_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
#endif

// Q4_K / Q5_K: 8 six-bit scales and 8 six-bit mins packed into 12 bytes.
//   bytes 0..3: scale j (low 6 bits) for j < 4, top 2 bits: high bits of scale j+4
//   bytes 4..7: min j   (low 6 bits) for j < 4, top 2 bits: high bits of min j+4
//   bytes 8..11: low nibble: low 4 bits of scale j+4, high nibble: low 4 bits of min j+4
// Unpacks to four little-endian words: scales 0..3, scales 4..7, mins 0..3, mins 4..7.
static inline void unpack_scale_min_k4_words(const uint8_t* s, uint32_t* u) {
    uint32_t a0, a1, a2;
    std::memcpy(&a0, s, 4);
    std::memcpy(&a1, s + 4, 4);
    std::memcpy(&a2, s + 8, 4);
    const uint32_t lo6 = 0x3f3f3f3fu, lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    u[0] = a0 & lo6;
    u[1] = (a2 & lo4) | (((a0 >> 6) & lo2) << 4);
    u[2] = a1 & lo6;
    u[3] = ((a2 >> 4) & lo4) | (((a1 >> 6) & lo2) << 4);
}

// Unpacks to sc[0..7], mn[0..7].
static inline void unpack_scale_min_k4(const uint8_t* s, uint8_t* sc, uint8_t* mn) {
    uint32_t u[4];
    unpack_scale_min_k4_words(s, u);
    std::memcpy(sc, u, 8);
    std::memcpy(mn, u + 2, 8);
}

// Q3_K: 16 six-bit scales (stored +32) packed into 12 bytes.
//   bytes 0..7: low nibble: low 4 bits of scale j, high nibble: low 4 bits of scale j+8
//   bytes 8..11: 2-bit fields; byte 8 + j%4 holds the high bits of scale j at bit 2*(j/4)
// Unpacks to four little-endian words of scales + 32 (0..63): scales 0..3, 4..7, 8..11, 12..15.
static inline void unpack_scales_q3_k_words(const uint8_t* s, uint32_t* u) {
    uint32_t a0, a1, a2;
    std::memcpy(&a0, s, 4);
    std::memcpy(&a1, s + 4, 4);
    std::memcpy(&a2, s + 8, 4);
    const uint32_t lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    u[0] = (a0 & lo4) | ((a2 & lo2) << 4);
    u[1] = (a1 & lo4) | (((a2 >> 2) & lo2) << 4);
    u[2] = ((a0 >> 4) & lo4) | (((a2 >> 4) & lo2) << 4);
    u[3] = ((a1 >> 4) & lo4) | (((a2 >> 6) & lo2) << 4);
}

// Unpacks to signed scales sc[0..15] (already minus 32).
static inline void unpack_scales_q3_k(const uint8_t* s, int8_t* sc) {
    uint32_t u[4];
    unpack_scales_q3_k_words(s, u);
    uint8_t b[16];
    std::memcpy(b, u, 16);
    for (int j = 0; j < 16; ++j) sc[j] = (int8_t)(b[j] - 32);
}

}  // namespace llmrt::kq
