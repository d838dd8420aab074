// Argument checks shared by the quantize/dequantize entry points (bindings/quant.cpp) and the
// test module's kernel entry points (testing/quant_kernels.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "quant/types.h"
#include "runtime/errors.h"

namespace llmrt::bindings {

inline const TypeTraits& computable(uint32_t type) {
    const TypeTraits& t = type_traits(type);
    if (!t.name) throw QuantError("unknown tensor type id " + std::to_string(type));
    if (!t.dequantize) throw QuantError(std::string("type ") + t.name + " is not supported for computation");
    return t;
}

inline int64_t checked_count(const TypeTraits& t, int64_t n) {
    if (n < 0 || n % t.block_size != 0)
        throw QuantError(std::string(t.name) + ": element count " + std::to_string(n) +
                         " is not a multiple of the block size " + std::to_string(t.block_size));
    return n;
}

}  // namespace llmrt::bindings
