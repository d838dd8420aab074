// Private to quant/activations*.cpp: the AVX2 activation quantizers (activations_avx2.cpp),
// entered only after simd_level() >= AVX2.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::avx2 {
void prepare_a8_32(const float* x, block_a8_32* out, int64_t n);
void prepare_a8_256(const float* x, block_a8_256* out, int64_t n);
}  // namespace llmrt::avx2
