// block_q4_Kx8 (quant/blocks.h) from eight rows of Q4_K: byte moves and the scale unpacking that
// the kernel (k_packed_avx2.cpp) would otherwise repeat for every column. Baseline code.
#include <cstring>

#include "quant/blocks.h"
#include "quant/k_quants_internal.h"

namespace llmrt::kq {

void repack_q4_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q4_Kx8* out = (block_q4_Kx8*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        block_q4_Kx8& o = out[i];
        for (int r = 0; r < 8; ++r) {
            const block_q4_K& b = ((const block_q4_K*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            o.dmin[r] = b.dmin;
            uint8_t sc[8], mn[8];
            unpack_scale_min_k4(b.scales, sc, mn);
            for (int s = 0; s < 8; ++s) o.sc[s][r] = sc[s];
            for (int k = 0; k < 4; ++k) {
                o.mn[k][r][0] = mn[2 * k];
                o.mn[k][r][1] = mn[2 * k + 1];
            }
            for (int j = 0; j < 4; ++j)
                for (int g = 0; g < 8; ++g) std::memcpy(o.qs + 256 * j + 32 * g + 4 * r, b.qs + 32 * j + 4 * g, 4);
        }
    }
}

}  // namespace llmrt::kq
