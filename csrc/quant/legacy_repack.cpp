// The packed layouts of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 for groups of R rows (quant/blocks.h,
// quant/packed.h): pure byte moves, baseline code; the kernels that read them are in
// legacy_packed_avx2.cpp (R = 8) and legacy_packed_avx512.cpp (R = 16).
#include <cstring>
#include <type_traits>

#include "quant/blocks.h"
#include "quant/legacy_kernels.h"

namespace llmrt {
namespace {

template <class Src, int R, bool HasMin>
void repack_q4(const void* src, size_t row_bytes, int64_t n, void* dst) {
    using Dst = std::conditional_t<HasMin, block_q4_1xR<R>, block_q4_0xR<R>>;
    Dst* out = (Dst*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        Dst& o = out[i];
        for (int r = 0; r < R; ++r) {
            const Src& b = ((const Src*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            if constexpr (HasMin) o.m[r] = b.m;
            for (int g = 0; g < 4; ++g) std::memcpy(o.qs + 4 * R * g + 4 * r, b.qs + 4 * g, 4);
        }
    }
}

// Q5_0 and Q5_1 (Src / Dst their blocks): the fifth bits regrouped so that bit k of a byte
// belongs to group k (quant/blocks.h).
template <class Src, class Dst, int R>
void repack_q5(const void* src, size_t row_bytes, int64_t n, void* dst) {
    Dst* out = (Dst*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        for (int r = 0; r < R; ++r) {
            const Src& b = ((const Src*)((const uint8_t*)src + r * row_bytes))[i];
            out[i].d[r] = b.d;
            if constexpr (sizeof(Src) == sizeof(block_q5_1)) out[i].m[r] = b.m;
            for (int g = 0; g < 4; ++g) std::memcpy(out[i].qs + 4 * R * g + 4 * r, b.qs + 4 * g, 4);
            uint32_t qh;
            std::memcpy(&qh, b.qh, 4);
            for (int j = 0; j < 4; ++j) {
                uint8_t byte = 0;
                for (int k = 0; k < 8; ++k) byte |= (uint8_t)(((qh >> (4 * k + j)) & 1u) << k);
                out[i].qh[4 * r + j] = byte;
            }
        }
    }
}

}  // namespace

template <int R>
void repack_q8_0(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q8_0xR<R>* out = (block_q8_0xR<R>*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        for (int r = 0; r < R; ++r) {
            const block_q8_0& b = ((const block_q8_0*)((const uint8_t*)src + r * row_bytes))[i];
            out[i].d[r] = b.d;
            for (int g = 0; g < 8; ++g) std::memcpy(out[i].qs + 4 * R * g + 4 * r, b.qs + 4 * g, 4);
        }
    }
}

template <int R>
void repack_q5_0(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q5<block_q5_0, block_q5_0xR<R>, R>(src, row_bytes, n, dst);
}
template <int R>
void repack_q5_1(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q5<block_q5_1, block_q5_1xR<R>, R>(src, row_bytes, n, dst);
}
template <int R>
void repack_q4_0(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q4<block_q4_0, R, false>(src, row_bytes, n, dst);
}
template <int R>
void repack_q4_1(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q4<block_q4_1, R, true>(src, row_bytes, n, dst);
}
template void repack_q4_0<8>(const void*, size_t, int64_t, void*);
template void repack_q4_0<16>(const void*, size_t, int64_t, void*);
template void repack_q4_1<8>(const void*, size_t, int64_t, void*);
template void repack_q4_1<16>(const void*, size_t, int64_t, void*);
template void repack_q5_0<8>(const void*, size_t, int64_t, void*);
template void repack_q5_0<16>(const void*, size_t, int64_t, void*);
template void repack_q5_1<8>(const void*, size_t, int64_t, void*);
template void repack_q5_1<16>(const void*, size_t, int64_t, void*);
template void repack_q8_0<8>(const void*, size_t, int64_t, void*);
template void repack_q8_0<16>(const void*, size_t, int64_t, void*);

}  // namespace llmrt
