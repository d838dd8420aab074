#include "kv_rows.h"

#include <cstring>

#include "kv_rows_kernels.h"
#include "ops/vec.h"
#include "runtime/cpu_features.h"
#include "runtime/errors.h"

namespace llmrt {

GGMLType kv_type_from_name(const std::string& name) {
    if (name == "f32") return GGMLType::F32;
    if (name == "f16") return GGMLType::F16;
    if (name == "q8_0") return GGMLType::Q8_0;
    if (name == "q4_0") return GGMLType::Q4_0;
    throw ContextError("unknown KV cache type '" + name + "' (expected f32, f16, q8_0 or q4_0)");
}

const char* kv_type_name(GGMLType t) {
    switch (t) {
        case GGMLType::F32: return "f32";
        case GGMLType::F16: return "f16";
        case GGMLType::Q8_0: return "q8_0";
        case GGMLType::Q4_0: return "q4_0";
        default: throw ContextError("not a KV cache type: GGML type " + std::to_string((int)t));
    }
}

bool kv_type_is_quantized(GGMLType t) { return t == GGMLType::Q8_0 || t == GGMLType::Q4_0; }

void kv_check_head_dim(GGMLType t, int head_dim, const char* which) {
    kv_type_name(t);
    const int64_t block = type_traits(t).block_size;
    if (head_dim % block != 0)
        throw ContextError(std::string("KV cache type ") + kv_type_name(t) + " stores blocks of " +
                           std::to_string(block) + " elements along the head, but this model's " + which +
                           " heads have " + std::to_string(head_dim) + "; use f16 or f32");
}

size_t kv_row_bytes(GGMLType t, int64_t n) { return row_size(t, n); }

void kv_store_row(GGMLType t, const float* x, void* dst, int64_t n) {
    switch (t) {
        case GGMLType::F32: std::memcpy(dst, x, (size_t)n * sizeof(float)); break;
        case GGMLType::F16: ops::vec_kernels().f32_to_f16(x, (uint16_t*)dst, n); break;
        default:
#if defined(__x86_64__) || defined(_M_X64)
            if (simd_level() >= SimdLevel::AVX2) {
                if (t == GGMLType::Q8_0) return kv_avx2::quantize_q8_0(x, (block_q8_0*)dst, n);
                if (t == GGMLType::Q4_0) return kv_avx2::quantize_q4_0(x, (block_q4_0*)dst, n);
            }
#endif
            type_traits(t).quantize(x, dst, n);
            break;
    }
}

void kv_load_row(GGMLType t, const void* src, float* y, int64_t n) {
    switch (t) {
        case GGMLType::F32: std::memcpy(y, src, (size_t)n * sizeof(float)); break;
        case GGMLType::F16: ops::vec_kernels().f16_to_f32((const uint16_t*)src, y, n); break;
        default: type_traits(t).dequantize(src, y, n); break;
    }
}

}  // namespace llmrt
