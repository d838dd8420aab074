// block_q2_KxR ... block_q6_KxR (quant/blocks.h) from R rows (8 or 16) of Q2_K ... Q6_K: byte moves
// and the scale unpacking that the kernels (k_packed_avx2.cpp for 8 rows, k_packed_avx512.cpp
// for 16) would otherwise repeat for every column. Baseline code.
#include <cstring>

#include "quant/blocks.h"
#include "quant/k_quants_internal.h"

namespace llmrt::kq {

namespace {

// Q4_K (Src block_q4_K, Dst block_q4_KxR) and Q5_K (block_q5_K, block_q5_KxR: the same plus qh).
template <class Src, class Dst, int R>
void repack_q45_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    Dst* out = (Dst*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        Dst& o = out[i];
        for (int r = 0; r < R; ++r) {
            const Src& b = ((const Src*)((const uint8_t*)src + r * row_bytes))[i];
            if constexpr (sizeof(Src) == sizeof(block_q5_K))
                for (int g = 0; g < 8; ++g) std::memcpy(o.qh + 4 * R * g + 4 * r, b.qh + 4 * g, 4);
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
                for (int g = 0; g < 8; ++g)
                    std::memcpy(o.qs + 32 * R * j + 4 * R * g + 4 * r, b.qs + 32 * j + 4 * g, 4);
        }
    }
}

}  // namespace

template <int R>
void repack_q4_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q45_k<block_q4_K, block_q4_KxR<R>, R>(src, row_bytes, n, dst);
}
template <int R>
void repack_q5_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    repack_q45_k<block_q5_K, block_q5_KxR<R>, R>(src, row_bytes, n, dst);
}

// The low 2 bits of element e's level in the qs of a Q2_K or Q3_K block.
static inline int low2_level(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3; }

// ql of a Q2_K / Q3_K packed block (quant/blocks.h) for row r, from its levels' low 2 bits.
template <int R>
static inline void pack_low2(const uint8_t* qs, int r, uint8_t* ql) {
    for (int k = 0; k < 16; ++k)
        for (int j = 0; j < 4; ++j)
            for (int i2 = 0; i2 < 4; ++i2) ql[4 * R * k + 4 * r + j] |= (uint8_t)(low2_level(qs, 4 * (k + 16 * i2) + j) << (2 * i2));
}

template <int R>
void repack_q2_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q2_KxR<R>* out = (block_q2_KxR<R>*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        block_q2_KxR<R>& o = out[i];
        std::memset(o.ql, 0, sizeof(o.ql));
        for (int r = 0; r < R; ++r) {
            const block_q2_K& b = ((const block_q2_K*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            o.dmin[r] = b.dmin;
            for (int s = 0; s < 16; ++s) o.sc[s][r] = b.scales[s] & 0xF;
            for (int k = 0; k < 8; ++k) {
                o.mn[k][r][0] = b.scales[2 * k] >> 4;
                o.mn[k][r][1] = b.scales[2 * k + 1] >> 4;
            }
            pack_low2<R>(b.qs, r, o.ql);
        }
    }
}

// The 3-bit level of element e of a Q3_K block (0..7; the value is d * scale * (q - 4)).
static inline int q3_level(const block_q3_K& b, int e) {
    return low2_level(b.qs, e) | ((b.hmask[e % 32] >> (e / 32)) & 1) << 2;
}

template <int R>
void repack_q3_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q3_KxR<R>* out = (block_q3_KxR<R>*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        block_q3_KxR<R>& o = out[i];
        std::memset(o.ql, 0, sizeof(o.ql));
        std::memset(o.qh, 0, sizeof(o.qh));
        for (int r = 0; r < R; ++r) {
            const block_q3_K& b = ((const block_q3_K*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            int8_t sc[16];
            unpack_scales_q3_k(b.scales, sc);
            for (int s = 0; s < 16; ++s) o.sc[s][r] = sc[s];
            pack_low2<R>(b.qs, r, o.ql);
            for (int k = 0; k < 8; ++k)
                for (int j = 0; j < 4; ++j)
                    for (int i2 = 0; i2 < 8; ++i2)
                        o.qh[4 * R * k + 4 * r + j] |= (uint8_t)((q3_level(b, 4 * (k + 8 * i2) + j) >> 2) << i2);
        }
    }
}

// The 6-bit level of element e of a Q6_K block (0..63; the value is d * scale * (q - 32)).
static inline int q6_level(const block_q6_K& b, int e) {
    const int h = e / 128, r = e % 128, l = r % 32, k = r / 32;
    const uint8_t lbyte = b.ql[64 * h + l + 32 * (k & 1)];
    const int lo = (k >> 1) ? (lbyte >> 4) : (lbyte & 0xF);
    return lo | ((b.qh[32 * h + l] >> (2 * k)) & 3) << 4;
}

template <int R>
void repack_q6_k(const void* src, size_t row_bytes, int64_t n, void* dst) {
    block_q6_KxR<R>* out = (block_q6_KxR<R>*)dst;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        block_q6_KxR<R>& o = out[i];
        std::memset(o.qh, 0, sizeof(o.qh));
        for (int r = 0; r < R; ++r) {
            const block_q6_K& b = ((const block_q6_K*)((const uint8_t*)src + r * row_bytes))[i];
            o.d[r] = b.d;
            for (int s = 0; s < 16; ++s) o.sc[s][r] = b.scales[s];
            for (int k = 0; k < 32; ++k)
                for (int j = 0; j < 4; ++j)
                    o.ql[4 * R * k + 4 * r + j] = (uint8_t)((q6_level(b, 4 * k + j) & 0xF) |
                                                         (q6_level(b, 128 + 4 * k + j) & 0xF) << 4);
            for (int k = 0; k < 16; ++k)
                for (int j = 0; j < 4; ++j)
                    for (int i2 = 0; i2 < 4; ++i2)
                        o.qh[4 * R * k + 4 * r + j] |= (uint8_t)((q6_level(b, 4 * (k + 16 * i2) + j) >> 4) << (2 * i2));
        }
    }
}

template void repack_q2_k<8>(const void*, size_t, int64_t, void*);
template void repack_q2_k<16>(const void*, size_t, int64_t, void*);
template void repack_q3_k<8>(const void*, size_t, int64_t, void*);
template void repack_q3_k<16>(const void*, size_t, int64_t, void*);
template void repack_q4_k<8>(const void*, size_t, int64_t, void*);
template void repack_q4_k<16>(const void*, size_t, int64_t, void*);
template void repack_q5_k<8>(const void*, size_t, int64_t, void*);
template void repack_q5_k<16>(const void*, size_t, int64_t, void*);
template void repack_q6_k<8>(const void*, size_t, int64_t, void*);
template void repack_q6_k<16>(const void*, size_t, int64_t, void*);

}  // namespace llmrt::kq
