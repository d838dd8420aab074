// Every GGUF block layout, defined once. Shared by the CPU kernels and cuda/.
// Layouts are fixed by the GGUF format (ggml's block_* structs); the static_asserts pin them.
// Weights: ne0 elements of a row are stored as ne0 / QK consecutive blocks.
#pragma once
#include <cstddef>
#include <cstdint>

namespace llmrt {

using half_bits = uint16_t;  // IEEE binary16, stored as raw bits

constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32;
constexpr int QK_K = 256;        // super-block size of the K-quants
constexpr int K_SCALE_SIZE = 12;  // packed 6-bit scales/mins of Q4_K and Q5_K

// x = d * (q - 8), q in 0..15; low nibbles are elements 0..15, high nibbles 16..31
struct block_q4_0 { half_bits d; uint8_t qs[QK4_0 / 2]; };
// x = d * q + m
struct block_q4_1 { half_bits d; half_bits m; uint8_t qs[QK4_1 / 2]; };
// x = d * (q - 16), q = nibble | (bit from qh) << 4
struct block_q5_0 { half_bits d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };
// x = d * q + m
struct block_q5_1 { half_bits d; half_bits m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
// x = d * q
struct block_q8_0 { half_bits d; int8_t qs[QK8_0]; };

// 16 groups of 16; 4-bit scale and min per group, 2-bit quants
struct block_q2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; half_bits d; half_bits dmin; };
// 16 groups of 16; 6-bit signed scales, 3-bit quants (2 low bits in qs, high bit in hmask)
struct block_q3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; half_bits d; };
// 8 groups of 32; 6-bit scale and min per group, 4-bit quants
struct block_q4_K { half_bits d; half_bits dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
// 8 groups of 32; 6-bit scale and min, 5-bit quants (high bit in qh)
struct block_q5_K { half_bits d; half_bits dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
// 16 groups of 16; 8-bit signed scales, 6-bit quants (4 low bits in ql, 2 high in qh), offset 32
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; half_bits d; };

// ---- i-quants and the other table formats (x = scale * table[index]) ----
// IQ4_NL: 32 elements, x = d * kvalues_iq4nl[q]; nibbles as Q4_0's (low: 0..15, high: 16..31).
struct block_iq4_nl { half_bits d; uint8_t qs[16]; };
// IQ4_XS: 8 sub-blocks of 32, x = d * (ls - 32) * kvalues_iq4nl[q] with the 6-bit ls of
// sub-block s = low nibble (s even) / high nibble (s odd) of scales_l[s / 2], plus bits 2s..2s+1
// of scales_h as bits 4..5. qs[16s..16s+15] are sub-block s's nibbles, as IQ4_NL's.
struct block_iq4_xs { half_bits d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; };
// MXFP4: 32 elements, x = 2^(e - 128) * kvalues_mxfp4[q] (the table holds twice the E2M1
// values, hence the halved power); nibbles as IQ4_NL's.
struct block_mxfp4 { uint8_t e; uint8_t qs[16]; };
// IQ2_XXS: 8 sub-blocks of 32, as 2 little-endian words each: word 0 = four 8-bit indices into
// iq2xxs_grid (8 magnitudes each), word 1 = four 7-bit sign indices into ksigns (bits 7k..7k+6)
// and the 4-bit scale ls (bits 28..31): x = d * (ls + 1/2) / 4 * grid * sign.
struct block_iq2_xxs { half_bits d; uint16_t qs[QK_K / 8]; };
// IQ2_XS: 32 groups of 8, qs[k] = 9-bit iq2xs_grid index | 7-bit ksigns index << 9; scales[s]:
// 4-bit scales of sub-block s's first (low nibble) and second (high nibble) 16 elements.
struct block_iq2_xs { half_bits d; uint16_t qs[QK_K / 8]; uint8_t scales[QK_K / 32]; };
// IQ2_S: group k's 10-bit iq2s_grid index = qs[k] | bits 2(k%4)..2(k%4)+1 of qh[k/4] << 8; its
// 8 sign bits are qs[32 + k]; scales as IQ2_XS's.
struct block_iq2_s { half_bits d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t scales[QK_K / 32]; };
// IQ3_XXS: qs[0..63] are 8-bit iq3xxs_grid indices (4 magnitudes each); qs[64 + 4s..] is
// sub-block s's word of four 7-bit ksigns indices and a 4-bit scale: x = d * (ls + 1/2) / 2 * ...
struct block_iq3_xxs { half_bits d; uint8_t qs[3 * QK_K / 8]; };
// IQ3_S: index k (4 elements) = qs[k] | bit k%8 of qh[k/8] << 8 into iq3s_grid; signs: one bit
// per element; scales: 4-bit ls per sub-block (low nibble: even), x = d * (1 + 2 ls) * ...
struct block_iq3_s { half_bits d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t signs[QK_K / 8]; uint8_t scales[QK_K / 64]; };
// TQ1_0: ternary, x = d * (t - 1), t in 0..2, five (qs) or four (qh) base-3 digits per byte
// stored as ceil(value * 256 / 243) so that digit k is ((byte * 3^k mod 256) * 3) >> 8.
// qs[0..31] hold elements 32k + j (k < 5), qs[32..47] elements 160 + 16k + j, qh 240 + 4k + j.
struct block_tq1_0 { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; half_bits d; };
// TQ2_0: ternary in 2-bit fields, x = d * (t - 1): element 128h + 32k + j is bits 2k..2k+1 of
// qs[32h + j].
struct block_tq2_0 { uint8_t qs[QK_K / 4]; half_bits d; };

static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl size");
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs size");
static_assert(sizeof(block_mxfp4) == 17, "block_mxfp4 size");
static_assert(sizeof(block_iq2_xxs) == 66, "block_iq2_xxs size");
static_assert(sizeof(block_iq2_xs) == 74, "block_iq2_xs size");
static_assert(sizeof(block_iq2_s) == 82, "block_iq2_s size");
static_assert(sizeof(block_iq3_xxs) == 98, "block_iq3_xxs size");
static_assert(sizeof(block_iq3_s) == 110, "block_iq3_s size");
static_assert(sizeof(block_tq1_0) == 54, "block_tq1_0 size");
static_assert(sizeof(block_tq2_0) == 66, "block_tq2_0 size");

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K size");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K size");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K size");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K size");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K size");

// ---- Activation formats (llmrt's own; never stored in files) ----
// Before a quantized dot product the activation row is quantized once to 8-bit blocks, so the
// inner loop is an integer multiply-add. Both carry what the weight formats need to fold their
// offsets/minimums in without touching each element twice.

// For the 32-element weight formats: x = d * qs; s = d * sum(qs) (for q4_1/q5_1's +m and
// q4_0/q5_0's centring).
struct block_a8_32 { float d; float s; int8_t qs[32]; };
// For the K-quants: x = d * qs; bsums[j] = sum of qs[16j .. 16j+15] (for the mins and offsets).
struct block_a8_256 { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };

static_assert(sizeof(block_a8_32) == 40, "block_a8_32 size");

// Packed layouts (quant/packed.h), built once at model load: block i of R consecutive rows
// interleaved (R = 8 for the AVX2 kernels, 16 for AVX-512: one register of 4 bytes per row).
// qs holds 4 groups of 4R bytes; group g is bytes 4g..4g+3 of row 0, then of row 1, ...,
// row R-1, so its low nibbles are elements 4g..4g+3 and its high nibbles elements
// 16+4g..16+4g+3 of the R rows.
template <int R> struct block_q4_0xR { half_bits d[R]; uint8_t qs[R * QK4_0 / 2]; };
template <int R> struct block_q4_1xR { half_bits d[R]; half_bits m[R]; uint8_t qs[R * QK4_1 / 2]; };
// Q5_0: qs as Q4_0's; qh[4r + j] bit k = the fifth bit of row r's element 4k + j, so that
// shifting bit k to bit 4 lines the fifth bits up with group k's nibbles (k < 4: low nibbles
// of group k, k >= 4: high nibbles of group k - 4).
template <int R> struct block_q5_0xR { half_bits d[R]; uint8_t qh[4 * R]; uint8_t qs[R * QK5_0 / 2]; };
// Q5_1: Q5_0's layout plus the per-row minimum m (x = d * q + m).
template <int R> struct block_q5_1xR { half_bits d[R]; half_bits m[R]; uint8_t qh[4 * R]; uint8_t qs[R * QK5_1 / 2]; };
// Q8_0: 8 groups of 4R bytes; group g is bytes (elements) 4g..4g+3 of row 0, then of row 1, ...
template <int R> struct block_q8_0xR { half_bits d[R]; int8_t qs[R * QK8_0]; };
// Q4_K: one super-block of R rows. The 6-bit sub-block scales come unpacked, sc[s][r] for
// sub-block s of row r, and the mins as pairs mn[k][r] = {min 2k, min 2k+1} of row r, so that one
// widening load gives each row's lane its two int16 mins. qs: 4 chunks j of 8 groups g of 4R
// bytes, row r's bytes 32j+4g..32j+4g+3 at 32Rj + 4Rg + 4r: low nibbles are elements
// 64j+4g..64j+4g+3 (sub-block 2j), high nibbles 64j+32+4g.. (sub-block 2j+1).
template <int R> struct block_q4_KxR {
    half_bits d[R];
    half_bits dmin[R];
    uint8_t sc[8][R];
    uint8_t mn[4][R][2];
    uint8_t qs[R * QK_K / 2];
};
// Q2_K: one super-block of R rows; quad t = elements 4t..4t+3 (sub-block t / 4), 2-bit levels.
// sc[s][r] / mn[k][r] = {min 2k, min 2k+1}: the 4-bit scales and minimums of row r, unpacked.
// ql: 16 registers of 4R bytes, register k byte 4r + j: bits 2i..2i+1 = the level of row r's
// element 4(k + 16i) + j (as Q3_K's low bits).
template <int R> struct block_q2_KxR {
    half_bits d[R];
    half_bits dmin[R];
    uint8_t sc[16][R];
    uint8_t mn[8][R][2];
    uint8_t ql[R * QK_K / 4];
};
// Q3_K: one super-block of R rows; quad t = elements 4t..4t+3 (sub-block t / 4), stored as levels
// q = value + 4 (0..7). sc[s][r]: the signed scale (-32..31) of sub-block s of row r. ql: 16
// registers of 4R bytes, register k byte 4r + j: bits 2i..2i+1 = low 2 bits of row r's element
// 4(k + 16i) + j. qh: 8 registers, register k byte 4r + j: bit i = third bit of row r's element
// 4(k + 8i) + j.
template <int R> struct block_q3_KxR {
    half_bits d[R];
    int8_t sc[16][R];
    uint8_t ql[R * QK_K / 4];
    uint8_t qh[R * QK_K / 8];
};
// Q5_K: Q4_K's layout plus the fifth bits: qh holds 8 groups g of 4R bytes, row r's bytes
// qh[4g..4g+3] at 4Rg + 4r, so group g of qh lines up with group g of every qs chunk; bit s of
// a byte is the fifth bit of that byte's element in sub-block s (2j: low nibble, 2j+1: high).
template <int R> struct block_q5_KxR {
    half_bits d[R];
    half_bits dmin[R];
    uint8_t sc[8][R];
    uint8_t mn[4][R][2];
    uint8_t qh[R * QK_K / 8];
    uint8_t qs[R * QK_K / 2];
};
// Q6_K: one super-block of R rows; quad t = elements 4t..4t+3 (sub-block t / 4). sc[s][r]:
// the signed scale of sub-block s of row r. ql: 32 registers of 4R bytes, register k at 4Rk,
// byte 4r + j: low nibble = low 4 bits of row r's element 4k + j, high nibble = of element
// 128 + 4k + j. qh: 16 registers, register k byte 4r + j: bits 2i..2i+1 = high 2 bits of row
// r's element 4(k + 16i) + j.
template <int R> struct block_q6_KxR {
    half_bits d[R];
    int8_t sc[16][R];
    uint8_t ql[R * QK_K / 2];
    uint8_t qh[R * QK_K / 4];
};
// IQ4_NL packs as Q4_0 (block_q4_0xR: the same bytes per row, d and 16 bytes of nibbles).
// IQ4_XS: one super-block of R rows. sc[s][r] = ls - 32 (-32..31) of sub-block s of row r; qs:
// sub-block s, group g (of 4R bytes) holds row r's bytes 16s+4g..16s+4g+3 at 16Rs + 4Rg + 4r,
// so each sub-block is laid out as a packed Q4_0 block's nibbles.
template <int R> struct block_iq4_xsxR {
    half_bits d[R];
    int8_t sc[8][R];
    uint8_t qs[R * QK_K / 2];
};
using block_q4_0x8 = block_q4_0xR<8>;
using block_q4_1x8 = block_q4_1xR<8>;
using block_q5_0x8 = block_q5_0xR<8>;
using block_q5_1x8 = block_q5_1xR<8>;
using block_q8_0x8 = block_q8_0xR<8>;
using block_q2_Kx8 = block_q2_KxR<8>;
using block_q3_Kx8 = block_q3_KxR<8>;
using block_q4_Kx8 = block_q4_KxR<8>;
using block_q5_Kx8 = block_q5_KxR<8>;
using block_q6_Kx8 = block_q6_KxR<8>;
using block_q4_0x16 = block_q4_0xR<16>;
using block_q4_1x16 = block_q4_1xR<16>;
using block_q5_0x16 = block_q5_0xR<16>;
using block_q5_1x16 = block_q5_1xR<16>;
using block_q8_0x16 = block_q8_0xR<16>;
using block_q2_Kx16 = block_q2_KxR<16>;
using block_q3_Kx16 = block_q3_KxR<16>;
using block_q4_Kx16 = block_q4_KxR<16>;
using block_q5_Kx16 = block_q5_KxR<16>;
using block_q6_Kx16 = block_q6_KxR<16>;
static_assert(sizeof(block_q4_0x8) == 8 * sizeof(block_q4_0), "block_q4_0x8 size");
static_assert(sizeof(block_q4_1x8) == 8 * sizeof(block_q4_1), "block_q4_1x8 size");
static_assert(sizeof(block_q5_0x8) == 8 * sizeof(block_q5_0), "block_q5_0x8 size");
static_assert(sizeof(block_q5_1x8) == 8 * sizeof(block_q5_1), "block_q5_1x8 size");
static_assert(sizeof(block_q8_0x8) == 8 * sizeof(block_q8_0), "block_q8_0x8 size");
static_assert(sizeof(block_q2_Kx8) == 32 + 128 + 128 + 512, "block_q2_Kx8 size");
static_assert(sizeof(block_q3_Kx8) == 16 + 128 + 512 + 256, "block_q3_Kx8 size");
static_assert(sizeof(block_q4_Kx8) == 32 + 64 + 64 + 1024, "block_q4_Kx8 size");
static_assert(sizeof(block_q5_Kx8) == sizeof(block_q4_Kx8) + 8 * 32, "block_q5_Kx8 size");
static_assert(sizeof(block_q6_Kx8) == 8 * sizeof(block_q6_K), "block_q6_Kx8 size");
static_assert(sizeof(block_q4_0x16) == 16 * sizeof(block_q4_0), "block_q4_0x16 size");
static_assert(sizeof(block_q4_1x16) == 16 * sizeof(block_q4_1), "block_q4_1x16 size");
static_assert(sizeof(block_q5_0x16) == 16 * sizeof(block_q5_0), "block_q5_0x16 size");
static_assert(sizeof(block_q5_1x16) == 16 * sizeof(block_q5_1), "block_q5_1x16 size");
static_assert(sizeof(block_q8_0x16) == 16 * sizeof(block_q8_0), "block_q8_0x16 size");
static_assert(sizeof(block_q2_Kx16) == 2 * sizeof(block_q2_Kx8), "block_q2_Kx16 size");
static_assert(sizeof(block_q3_Kx16) == 2 * sizeof(block_q3_Kx8), "block_q3_Kx16 size");
static_assert(sizeof(block_q4_Kx16) == 2 * sizeof(block_q4_Kx8), "block_q4_Kx16 size");
static_assert(sizeof(block_q5_Kx16) == 2 * sizeof(block_q5_Kx8), "block_q5_Kx16 size");
static_assert(sizeof(block_q6_Kx16) == 16 * sizeof(block_q6_K), "block_q6_Kx16 size");
static_assert(sizeof(block_iq4_xsxR<8>) == 8 * (2 + 8 + 128), "block_iq4_xsxR size");
static_assert(sizeof(block_iq4_xsxR<16>) == 16 * (2 + 8 + 128), "block_iq4_xsxR size");
static_assert(sizeof(block_a8_256) == 4 + 256 + 32, "block_a8_256 size");

}  // namespace llmrt
