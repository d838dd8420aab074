// Activations quantized to 8 bits before a quantized matrix x vector product, in the CPU's
// block_a8_32 layout (quant/blocks.h): per 32 values d = amax/127 (stored rounded through fp16),
// qs = round(x / d), s = d * sum(qs). The same values as prepare_activations(ActFormat::A8_32).
// The K-quant kernels use it too: their 32-element sub-blocks line up with these blocks.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::cuda {

// x (n_rows, n) float, n a multiple of 32 -> out (n_rows, n / 32) blocks. Device pointers.
void quantize_a8_32(const float* x, block_a8_32* out, int64_t n_rows, int64_t n, cudaStream_t stream);

}  // namespace llmrt::cuda
