// Private to quant/legacy*.cpp and quant/float_types*.cpp: the AVX2 kernels (defined in the
// *_avx2.cpp files, entered only after simd_level() >= AVX2) that the registration code picks.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#define LLMRT_HAVE_AVX2_KERNELS 1
#else
#define LLMRT_HAVE_AVX2_KERNELS 0
#endif

namespace llmrt::avx2 {

// Weight row of n/32 blocks against an A8_32 activation row.
float vec_dot_q4_0(int64_t n, const void* w, const void* a);
float vec_dot_q4_1(int64_t n, const void* w, const void* a);
float vec_dot_q5_0(int64_t n, const void* w, const void* a);
float vec_dot_q5_1(int64_t n, const void* w, const void* a);
float vec_dot_q8_0(int64_t n, const void* w, const void* a);
// The same against 1..4 activation rows at once (VecDotMultiFn): each weight block unpacked once.
void vec_dot_multi_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
void vec_dot_multi_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
void vec_dot_multi_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
void vec_dot_multi_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
void vec_dot_multi_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
// Four rows against 1..8 activation rows (VecDotTileFn, legacy_tile_avx2.cpp).
void vec_dot_tile_q4_0(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
void vec_dot_tile_q4_1(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
void vec_dot_tile_q5_0(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
void vec_dot_tile_q5_1(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
void vec_dot_tile_q8_0(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols, float* out);
// Packed 8-row groups against 1..8 activation rows (VecDotPackedFn, legacy_packed_avx2.cpp).
void vec_dot_packed_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);

// Bit-exact with the scalar dequantizers (multiply then add, never fused).
void dequantize_q4_0(const void* src, float* dst, int64_t n);
void dequantize_q4_1(const void* src, float* dst, int64_t n);
void dequantize_q5_0(const void* src, float* dst, int64_t n);
void dequantize_q5_1(const void* src, float* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);

// Float weight rows against a plain float activation row (any n).
float vec_dot_f32(int64_t n, const void* w, const void* a);
float vec_dot_f16(int64_t n, const void* w, const void* a);
float vec_dot_bf16(int64_t n, const void* w, const void* a);
void dequantize_f16(const void* src, float* dst, int64_t n);
void dequantize_bf16(const void* src, float* dst, int64_t n);

}  // namespace llmrt::avx2

namespace llmrt::avx512 {
// The packed kernels for 16-row groups on AVX-512 VNNI (legacy_packed_avx512.cpp; entered only
// after simd_level() >= AVX512).
void vec_dot_packed_q4_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q4_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q5_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q5_1(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
void vec_dot_packed_q8_0(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo);
}  // namespace llmrt::avx512

namespace llmrt {
// R rows to their packed blocks (RepackFn, legacy_repack.cpp; baseline code; R = 8 or 16).
template <int R> void repack_q4_0(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q4_1(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q5_0(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q5_1(const void* src, size_t row_bytes, int64_t n, void* dst);
template <int R> void repack_q8_0(const void* src, size_t row_bytes, int64_t n, void* dst);
}  // namespace llmrt
