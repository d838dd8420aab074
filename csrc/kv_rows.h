// Element types a KV cache can hold (f32, f16, q8_0, q4_0, as llama.cpp's --cache-type-k/-v) and
// how a row of them is written from float32 and read back. Quantized types keep GGUF's blocks of
// 32 along the head dimension, so every head's slice of a cell starts on a block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "quant/types.h"

namespace llmrt {

// "f32", "f16", "q8_0", "q4_0" -> the type; anything else throws ContextError.
GGMLType kv_type_from_name(const std::string& name);
const char* kv_type_name(GGMLType t);  // the lower-case name kv_type_from_name takes
bool kv_type_is_quantized(GGMLType t);
// Throws ContextError unless a head of `head_dim` elements can be stored as `t`.
void kv_check_head_dim(GGMLType t, int head_dim, const char* which);
// Bytes of n elements of t (n a multiple of the block size for quantized types).
size_t kv_row_bytes(GGMLType t, int64_t n);
// n float32 values -> n elements of t at dst; and back.
void kv_store_row(GGMLType t, const float* x, void* dst, int64_t n);
void kv_load_row(GGMLType t, const void* src, float* y, int64_t n);

}  // namespace llmrt
