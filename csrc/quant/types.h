// Tensor element types as numbered by GGUF (ggml_type), and the table of what llmrt can do with
// each: dequantize, quantize, and the dot product of a weight row with prepared activations.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace llmrt {

enum class GGMLType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};
constexpr uint32_t GGML_TYPE_LIMIT = 64;  // ids at or above this are rejected outright

// What an activation row is turned into before `vec_dot` with a weight row.
enum class ActFormat : int { F32 = 0, A8_32 = 1, A8_256 = 2 };

// Scalar reference and fast path share this signature. `w` points at n/block_size weight blocks,
// `a` at the activation row in the type's ActFormat; n is a multiple of block_size.
using VecDotFn = float (*)(int64_t n, const void* w, const void* a);
// One weight row against up to 4 activation rows (same ActFormat as vec_dot):
// out[c] = dot(w, acts[c]) for c < n_cols, 1 <= n_cols <= 4. Unpacks each weight block once.
using VecDotMultiFn = void (*)(int64_t n, const void* w, const void* const* acts, int n_cols, float* out);
// Four consecutive weight rows (w, w + row_bytes, w + 2 * row_bytes, ...) against 1..8
// activation rows: out[r * n_cols + c] = dot(row r, acts[c]). A 4-row x n-column register tile:
// every weight block is unpacked once for all columns and every activation block is read once
// for all four rows, which is what makes batched decode cheaper per token than single decode.
using VecDotTileFn = void (*)(int64_t n, const void* w, size_t row_bytes, const void* const* acts, int n_cols,
                              float* out);
constexpr int kTileRows = 4;
constexpr int kTileMaxCols = 8;
// A group of packed_rows (8 or 16) consecutive rows repacked once, at model load, into the
// type's interleaved layout (quant/packed.h) so that one register of quants holds 4 elements of
// every row of the group: the int32 conversion, the scaling and the accumulation then serve all
// of them, with no per-block regrouping. `w` points at the n/block_size packed blocks
// (packed_size bytes each) of one group;
// out[c * ldo + r] = dot(row r, acts[c]) for rows r < packed_rows and columns c < n_cols (1..kTileMaxCols).
using VecDotPackedFn = void (*)(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                int64_t ldo);
// Rows src, src + row_bytes, ... (packed_rows of n elements) to their packed blocks at dst.
using RepackFn = void (*)(const void* src, size_t row_bytes, int64_t n, void* dst);
// Rows of a packed group: 8 for the AVX2 kernels (a 256-bit register of 4 bytes per row), 16 for
// AVX-512. The bands the matmul hands its threads are whole groups of the larger.
constexpr int kMaxPackedRows = 16;
using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);
// Unpacks a row of a 32-element format to int8 quants with per-block scale and offset,
// x = d[b] * q + m[b], for the prefill kernel (quant/unpacked.h).
using UnpackFn = void (*)(const void* src, int8_t* q, float* d, float* m, int64_t n);

struct TypeTraits {
    const char* name = nullptr;       // "Q4_K"; nullptr for ids GGUF does not define
    int64_t block_size = 0;           // elements per block
    size_t type_size = 0;             // bytes per block
    DequantizeFn dequantize = nullptr;  // nullptr: we cannot compute with this type
    QuantizeFn quantize = nullptr;      // nullptr: no quantizer (yet)
    ActFormat act = ActFormat::F32;
    VecDotFn vec_dot_ref = nullptr;   // portable scalar reference
    VecDotFn vec_dot = nullptr;       // fastest path for this CPU (chosen at registration)
    UnpackFn unpack = nullptr;        // A8_32 types only; nullptr: prefill uses vec_dot
    VecDotMultiFn vec_dot_multi = nullptr;  // SIMD builds only; nullptr: vec_dot per column
    VecDotTileFn vec_dot_tile = nullptr;    // SIMD builds only; nullptr: vec_dot_multi per row
    // SIMD builds only, all four or none; they describe one layout and its kernel.
    RepackFn repack = nullptr;
    VecDotPackedFn vec_dot_packed = nullptr;
    int packed_rows = 0;     // rows of a packed group (8 or 16)
    size_t packed_size = 0;  // bytes of one packed block: packed_rows rows x block_size elements
};

// Installs one packed layout and its kernel (all four fields belong together).
inline void set_packed(TypeTraits& t, RepackFn repack, VecDotPackedFn kernel, int rows, size_t block_bytes) {
    t.repack = repack;
    t.vec_dot_packed = kernel;
    t.packed_rows = rows;
    t.packed_size = block_bytes;
}

// Traits of a type id; returns an entry with name == nullptr for unknown ids (never throws).
const TypeTraits& type_traits(uint32_t type);
inline const TypeTraits& type_traits(GGMLType t) { return type_traits((uint32_t)t); }
bool type_is_known(uint32_t type);       // GGUF defines it (we can at least size it)
bool type_is_computable(uint32_t type);  // we can dequantize and dot it
size_t row_size(GGMLType t, int64_t n);  // bytes of n elements (n multiple of block size)

// Activation preparation (quant/activations.cpp).
size_t act_row_size(ActFormat f, int64_t n);
void prepare_activations(ActFormat f, const float* x, void* dst, int64_t n);
void prepare_activations_ref(ActFormat f, const float* x, void* dst, int64_t n);  // scalar, bit-identical

// Registration hooks, one per quant family file; called once to fill the table.
void register_float_types(TypeTraits* table);   // F32, F16, BF16       (quant/float_types.cpp)
void register_legacy_types(TypeTraits* table);  // Q4_0..Q8_0            (quant/legacy*.cpp)
void register_k_types(TypeTraits* table);       // Q2_K..Q6_K            (quant/k_quants*.cpp)
void register_iq4_types(TypeTraits* table);     // IQ4_NL, IQ4_XS, MXFP4 (quant/iq4*.cpp)
void register_lattice_types(TypeTraits* table); // IQ2_*, IQ3_*, TQ1_0, TQ2_0 (quant/iq_register.cpp)

}  // namespace llmrt
