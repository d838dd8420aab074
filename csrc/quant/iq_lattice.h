// Private to iq_lattice.cpp and iq_lattice_avx2.cpp: how the lattice i-quants (IQ2_XXS, IQ2_XS,
// IQ2_S, IQ3_XXS, IQ3_S) store a group of 8 elements, decoded to one common form so that one
// dequantizer and one dot product per ISA serve all five. Everything is `static inline` (see
// iq_internal.h).
#pragma once
#include <cstdint>

#include "quant/iq_internal.h"

namespace llmrt::iq {

// Group k (elements 8k..8k+7) of a block: magnitudes (byte j = element j), signs (bit j:
// element j negative) and the odd scale factor 2 ls + 1.
struct Group8 {
    uint64_t grid;
    uint8_t signs;
    int scale;
};

static inline Group8 group_iq2_xxs(const block_iq2_xxs& b, int k) {
    const uint32_t idx = load_u32(b.qs + 4 * (k / 4)), aux = load_u32(b.qs + 4 * (k / 4) + 2);
    const int l = k % 4;
    return {iq2xxs_grid[(idx >> (8 * l)) & 0xFF], ksigns[(aux >> (7 * l)) & 0x7F], 2 * (int)(aux >> 28) + 1};
}

// IQ2_XS / IQ2_S: the low nibble of scales[k / 4] serves groups 4s and 4s + 1, the high one the
// next two.
static inline int half_sub_block_scale(const uint8_t* scales, int k) {
    return 2 * ((scales[k / 4] >> (4 * ((k % 4) / 2))) & 0xF) + 1;
}

static inline Group8 group_iq2_xs(const block_iq2_xs& b, int k) {
    const uint16_t q = b.qs[k];
    return {iq2xs_grid[q & 511], ksigns[q >> 9], half_sub_block_scale(b.scales, k)};
}

static inline Group8 group_iq2_s(const block_iq2_s& b, int k) {
    const int idx = b.qs[k] | ((b.qh[k / 4] >> (2 * (k % 4))) & 3) << 8;
    return {iq2s_grid[idx], b.qs[QK_K / 8 + k], half_sub_block_scale(b.scales, k)};
}

static inline uint64_t two_entries(uint32_t lo, uint32_t hi) { return (uint64_t)lo | (uint64_t)hi << 32; }

static inline Group8 group_iq3_xxs(const block_iq3_xxs& b, int k) {
    const uint32_t aux = load_u32(b.qs + QK_K / 4 + 4 * (k / 4));
    const int l = k % 4;
    const uint8_t* idx = b.qs + 2 * k;
    return {two_entries(iq3xxs_grid[idx[0]], iq3xxs_grid[idx[1]]), ksigns[(aux >> (7 * l)) & 0x7F],
            2 * (int)(aux >> 28) + 1};
}

static inline Group8 group_iq3_s(const block_iq3_s& b, int k) {
    const int bit = 2 * (k % 4), high = b.qh[k / 4];
    const int i0 = b.qs[2 * k] | ((high >> bit) & 1) << 8;
    const int i1 = b.qs[2 * k + 1] | ((high >> (bit + 1)) & 1) << 8;
    const int s = k / 4;
    return {two_entries(iq3s_grid[i0], iq3s_grid[i1]), b.signs[k], 2 * ((b.scales[s / 2] >> (4 * (s % 2))) & 0xF) + 1};
}

}  // namespace llmrt::iq
