// Quantized matrix x vector (MMVQ): y (n_tokens, n_out) = W (n_out, n_in) . x^T with x
// quantized to block_a8_32 (quantize_act.cuh) and integer dot products (dp4a) per 32 values.
// Weights are GGUF rows as stored on disk (quant/blocks.h), n_in a multiple of the block size.
// Types: Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt::cuda {

bool mmvq_supports(uint32_t type);

// w: device rows of row_bytes each; a: (n_tokens, n_in / 32) blocks; y: (n_tokens, n_out).
void mmvq(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a,
          int64_t n_tokens, float* y, cudaStream_t stream);

// The kernel's per-block arithmetic run on the host (host pointers, no GPU needed): checks the
// block decoding against the CPU ops on machines without a GPU.
void mmvq_host(uint32_t type, const void* w, size_t row_bytes, int64_t n_in, int64_t n_out, const block_a8_32* a,
               int64_t n_tokens, float* y);

}  // namespace llmrt::cuda
