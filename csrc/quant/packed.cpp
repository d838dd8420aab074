#include "quant/packed.h"

#include <cstring>

#include "quant/blocks.h"

namespace llmrt {

bool can_pack(uint32_t type, int64_t n_in, int64_t n_out) {
    const TypeTraits& t = type_traits(type);
    return t.repack && t.vec_dot_packed && t.packed_size && t.packed_rows && n_out > 0 && n_out % t.packed_rows == 0 &&
           n_in > 0 && n_in % t.block_size == 0;
}

size_t packed_group_offset(uint32_t type, int64_t n_in, int64_t g) {
    const TypeTraits& t = type_traits(type);
    return (size_t)g * (size_t)(n_in / t.block_size) * t.packed_size;
}

size_t packed_bytes(uint32_t type, int64_t n_in, int64_t n_out) {
    return packed_group_offset(type, n_in, n_out / type_traits(type).packed_rows);
}

std::unique_ptr<uint8_t[]> pack_rows(uint32_t type, const uint8_t* src, size_t row_bytes, int64_t n_in,
                                     int64_t n_out) {
    const TypeTraits& t = type_traits(type);
    std::unique_ptr<uint8_t[]> out(new uint8_t[packed_bytes(type, n_in, n_out)]);
    for (int64_t g = 0; g < n_out / t.packed_rows; ++g)
        t.repack(src + (size_t)g * t.packed_rows * row_bytes, row_bytes, n_in,
                 out.get() + packed_group_offset(type, n_in, g));
    return out;
}

}  // namespace llmrt
