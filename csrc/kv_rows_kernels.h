// Private to kv_rows*.cpp: the AVX2 KV row quantizers (kv_rows_avx2.cpp), bit-exact with the
// registry's; entered only after simd_level() >= AVX2.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::kv_avx2 {
void quantize_q8_0(const float* x, block_q8_0* y, int64_t n);
void quantize_q4_0(const float* x, block_q4_0* y, int64_t n);
}  // namespace llmrt::kv_avx2
