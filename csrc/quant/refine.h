// Refining quantizers: `_core.quantize(type, x, method="refine")`, opt-in for `llmrt quantize`
// (quantize_file(..., method="refine")).
//
// Why there are two quantizers per type: TypeTraits::quantize is ggml's reference quantizer,
// reproduced bit for bit so that llmrt's files can be checked byte-for-byte against
// llama-quantize's (tests/test_quant_k.py, test_quantize.py). Those reference quantizers are
// heuristics: the legacy symmetric types take d = max/-levels with no search at all, and the
// K-quants fit each sub-block's scale alone, then quantize the sub-scales to 6 (4, 8) bits
// against the largest one and never revisit that choice. The refining quantizers start from
// ggml's block and search further for the smallest plain squared error the format can hold
// (k_quantize_refine.cpp, legacy_quantize_refine.cpp). Every block they write has a squared
// error no larger than ggml's block for the same data; where the search finds nothing better,
// the ggml block itself is written.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "quant/types.h"

namespace llmrt {

// The refining quantizer for a type, or nullptr where there is none (use TypeTraits::quantize).
QuantizeFn refined_quantizer(uint32_t type);

namespace refine {
void quantize_q2_k(const float* src, void* dst, int64_t n);
void quantize_q3_k(const float* src, void* dst, int64_t n);
void quantize_q4_k(const float* src, void* dst, int64_t n);
void quantize_q5_k(const float* src, void* dst, int64_t n);
void quantize_q6_k(const float* src, void* dst, int64_t n);
void quantize_q4_0(const float* src, void* dst, int64_t n);
void quantize_q5_0(const float* src, void* dst, int64_t n);
void quantize_q4_1(const float* src, void* dst, int64_t n);
void quantize_q5_1(const float* src, void* dst, int64_t n);
void quantize_q8_0(const float* src, void* dst, int64_t n);

// Shared by both refining files. Nearest integer to v clamped to lo..hi (ties to even), through
// the float mantissa: clamping first keeps |v| small enough for the 1.5 * 2^23 trick, and this
// inlines where lrintf may not. Static: these files are baseline code, never AVX2 (fp16.h).
static inline int round_clamped(float v, int lo, int hi) {
    v = std::min(std::max(v, (float)lo), (float)hi) + 12582912.0f;
    int32_t bits;
    std::memcpy(&bits, &v, 4);
    return (bits & 0x007fffff) - 0x00400000;
}
}  // namespace refine

}  // namespace llmrt
