// block_iq4_xsxR (quant/blocks.h) from R rows of IQ4_XS: the 6-bit sub-block scales unpacked
// to signed bytes once, and each sub-block's nibbles interleaved as a packed Q4_0 block's, so the
// kernels (iq4_packed_avx2.cpp, iq4_packed_avx512.cpp) read four registers per sub-block and no scale bits. Baseline
// code: byte moves.
#include <cstring>

#include "quant/blocks.h"
#include "quant/iq_internal.h"

namespace llmrt::iq {

template <int R>
void repack_iq4_xs(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_iq4_xsxR<R>* out = (block_iq4_xsxR<R>*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        block_iq4_xsxR<R>& o = out[i];
        for (int r = 0; r < R; ++r) {
            const block_iq4_xs& b = ((const block_iq4_xs*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            for (int s = 0; s < 8; ++s) {
                o.sc[s][r] = (int8_t)iq4_xs_scale(b, s);
                for (int g = 0; g < 4; ++g) std::memcpy(o.qs + 16 * R * s + 4 * R * g + 4 * r, b.qs + 16 * s + 4 * g, 4);
            }
        }
    }
}

template void repack_iq4_xs<8>(const void*, size_t, int64_t, void*);
template void repack_iq4_xs<16>(const void*, size_t, int64_t, void*);

}  // namespace llmrt::iq
