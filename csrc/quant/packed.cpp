#include "quant/packed.h"

#include <cstring>

#include "quant/blocks.h"

namespace llmrt {

bool can_pack(uint32_t type, int64_t n_in, int64_t n_out) {
    const TypeTraits& t = type_traits(type);
    return t.repack && t.vec_dot_packed && n_out > 0 && n_out % kPackedRows == 0 && n_in > 0 &&
           n_in % t.block_size == 0;
}

std::unique_ptr<uint8_t[]> pack_rows(uint32_t type, const uint8_t* src, size_t row_bytes, int64_t n_in,
                                     int64_t n_out) {
    const TypeTraits& t = type_traits(type);
    const size_t group_bytes = kPackedRows * row_bytes;
    std::unique_ptr<uint8_t[]> out(new uint8_t[group_bytes * (size_t)(n_out / kPackedRows)]);
    for (int64_t g = 0; g < n_out / kPackedRows; ++g)
        t.repack(src + (size_t)g * group_bytes, row_bytes, n_in, out.get() + (size_t)g * group_bytes);
    return out;
}

}  // namespace llmrt
