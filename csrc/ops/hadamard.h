// Orthonormal Walsh-Hadamard rotation of blocks of a row, as llama.cpp applies to quantized KV
// caches: rotating K (and Q alike, so q.k is unchanged) and V (and the attention output back)
// spreads a head's few large channels over the whole block before quantization, which is what
// makes 4-bit caches usable. H is symmetric and H H = I: the same call rotates and un-rotates.
#pragma once
#include <cstdint>

namespace llmrt::ops {

// x: n_rows rows of row_len floats; each run of `block` elements (a power of two dividing
// row_len) becomes itself times H_block / sqrt(block) (Sylvester order).
void hadamard_blocks(float* x, int64_t n_rows, int64_t row_len, int block);

// The block for a head of head_dim elements: for K the largest power of two >= 64 dividing it,
// for V 64; 0 (no rotation) when head_dim is no multiple of 64.
int hadamard_block_k(int head_dim);
int hadamard_block_v(int head_dim);

namespace avx2 {
void hadamard_blocks(float* x, int64_t n_rows, int64_t row_len, int block);  // block a multiple of 8
}  // namespace avx2

}  // namespace llmrt::ops
