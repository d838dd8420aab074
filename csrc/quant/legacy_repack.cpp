// The packed layouts of Q4_0, Q4_1, Q5_0 and Q8_0 (quant/blocks.h, quant/packed.h): pure byte moves, baseline
// code; the kernels that read them are in legacy_packed_avx2.cpp.
#include <cstring>

#include "quant/blocks.h"
#include "quant/legacy_kernels.h"

namespace llmrt {
namespace {

template <class Src, class Dst>
void repack_x8(const void* src, size_t row_bytes, int64_t n, void* dst) {
    Dst* out = (Dst*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        Dst& o = out[i];
        for (int r = 0; r < 8; ++r) {
            const Src& b = ((const Src*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            if constexpr (sizeof(Dst) == 8 * sizeof(block_q4_1)) o.m[r] = b.m;
            for (int g = 0; g < 4; ++g) std::memcpy(o.qs + 32 * g + 4 * r, b.qs + 4 * g, 4);
        }
    }
}

void repack_q8_0_x8(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q8_0x8* out = (block_q8_0x8*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        for (int r = 0; r < 8; ++r) {
            const block_q8_0& b = ((const block_q8_0*)((const uint8_t*)src + r * row_bytes))[i];
            out[i].d[r] = b.d;
            for (int g = 0; g < 8; ++g) std::memcpy(out[i].qs + 32 * g + 4 * r, b.qs + 4 * g, 4);
        }
    }
}

void repack_q5_0_x8(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q5_0x8* out = (block_q5_0x8*)dst;
    for (int64_t i = 0; i < n / 32; ++i) {
        for (int r = 0; r < 8; ++r) {
            const block_q5_0& b = ((const block_q5_0*)((const uint8_t*)src + r * row_bytes))[i];
            out[i].d[r] = b.d;
            for (int g = 0; g < 4; ++g) std::memcpy(out[i].qs + 32 * g + 4 * r, b.qs + 4 * g, 4);
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

void repack_q5_0(const void* src, size_t row_bytes, int64_t n, void* dst) { repack_q5_0_x8(src, row_bytes, n, dst); }
void repack_q8_0(const void* src, size_t row_bytes, int64_t n, void* dst) { repack_q8_0_x8(src, row_bytes, n, dst); }
void repack_q4_0(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_x8<block_q4_0, block_q4_0x8>(src, row_bytes, n, dst);
}
void repack_q4_1(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_x8<block_q4_1, block_q4_1x8>(src, row_bytes, n, dst);
}

}  // namespace llmrt
