// Packed (8- or 16-row interleaved) weights: what they are and who builds them. Types: Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0 (legacy_repack.cpp, legacy_packed_avx2/avx512.cpp), Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K (k_repack.cpp, k_packed_avx2/avx512.cpp), IQ4_XS (iq4_repack.cpp, iq4_packed_avx2/avx512.cpp)
// and IQ4_NL (16 rows only: Q4_0's repacker, iq4_packed_avx512.cpp).
//
// The batched-decode tiles (VecDotTileFn) regroup four rows' blocks in registers on every call,
// and each row's int32 sums fill two lanes, so the float conversion, scale and accumulate serve
// four rows per instruction. Repacking a matrix once at load into blocks of eight rows (the
// block_*x8 structs in quant/blocks.h) removes the regrouping and puts one row per lane: eight
// rows per instruction. llama.cpp does the same for Q4_0 and Q4_K on x86 (its CPU_REPACK buffers).
//
// The group size follows the SIMD level (TypeTraits::packed_rows): 8 rows fill a 256-bit
// register with 4 bytes each (AVX2), 16 fill a 512-bit one (AVX-512 VNNI). Sixteen rows as one
// layout, rather than two 8-row groups side by side, keep the weights one sequential stream:
// measured on Zen 5, two interleaved streams cost a third of single-token decode speed.
//
// Model loading packs every matrix it can unless told not to (LLM(repack=False), LLMRT_REPACK=0).
// A packed matrix keeps its original rows too (WeightView::data: mmapped file pages, used for
// token embedding lookups and for any rows a band of the thread pool does not cover in whole
// groups), so a packed copy never changes what can be computed, only how fast.
#pragma once
#include <cstdint>
#include <memory>

#include "quant/types.h"

namespace llmrt {

// Whether w's type has a packed layout in this build and CPU and its shape allows it
// (n_out a multiple of the type's packed_rows).
bool can_pack(uint32_t type, int64_t n_in, int64_t n_out);

// Bytes of the packed copy of an (n_out, n_in) matrix: n_out / packed_rows groups, each n_in / block_size
// packed blocks. The legacy types' packed blocks are as large as the rows they hold; Q4_K's are
// 2.8% larger (its sub-block scales are stored unpacked).
size_t packed_bytes(uint32_t type, int64_t n_in, int64_t n_out);
// Where row group g (rows packed_rows * g ...) starts in a packed copy.
size_t packed_group_offset(uint32_t type, int64_t n_in, int64_t g);

// The packed copy of n_out rows of n_in elements (row_bytes apart) starting at src.
std::unique_ptr<uint8_t[]> pack_rows(uint32_t type, const uint8_t* src, size_t row_bytes, int64_t n_in,
                                     int64_t n_out);

}  // namespace llmrt
