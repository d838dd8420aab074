// AVX-512 VNNI kernels for packed IQ4_NL (Q4_0's 16-row layout, block_q4_0x16) and IQ4_XS
// (block_iq4_xsxR<16>), VecDotPackedFn: sixteen rows against 1..8 activation rows.
//
// vpdpbusd wants its weight operand unsigned, so the nibbles are looked up (vpshufb, the 16-entry
// table in every 128-bit lane) in the table shifted by +128: u = value + 128, 1..241. The
// +128 comes off through the activation sums: per 32 elements, sum(u * a) = sum(value * a) +
// 128 * sum(a). For IQ4_XS the A8_256 activations carry exact integer 16-element sums, so each
// sub-block's dpbusd chain simply starts at -128 * sum(a) and yields the exact signed sum. A8_32
// carries s = d_a * sum(a) as a float, so IQ4_NL takes the offset off in float as Q4_0 does
// (acc += d * d_a * sum(u * a) - 128 * d * s).
//
// iq4_packed_avx2.cpp computes the same IQ4_XS sums on eight rows another way (maddubs would
// overflow int16 on u: 2 * 241 * 127 > 2^15), so the two levels agree bit for bit.
#if defined(__AVX512VNNI__)
#include <immintrin.h>

#include "quant/blocks.h"
#include "quant/iq_internal.h"
#include "quant/packed_avx512.h"
#include "quant/types.h"

namespace llmrt::iq {
namespace {

using avx512::bcast32;
using avx512::bytes16_i32;
using avx512::dot32;
using avx512::halves16;
using avx512::load64;
using avx512::prefetch_block;

// kvalues_iq4nl + 128, as unsigned bytes.
alignas(16) constexpr uint8_t kUnsignedValues[16] = {1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241};
static_assert(kUnsignedValues[0] == kvalues_iq4nl[0] + 128 && kUnsignedValues[15] == kvalues_iq4nl[15] + 128, "table");

// The shifted table in all four 128-bit lanes.
inline __m512i unsigned_table() { return _mm512_broadcast_i32x4(_mm_load_si128((const __m128i*)kUnsignedValues)); }

// Four registers of packed nibbles (group g: elements 4g..4g+3 low, 16+4g.. high, of 16 rows) to
// eight registers of table values: u[g] low nibbles, u[g + 4] high nibbles (dot32's order).
inline void lookup_groups(const uint8_t* qs, __m512i table, __m512i* u) {
    const __m512i mask = _mm512_set1_epi8(0x0F);
    for (int g = 0; g < 4; ++g) {
        const __m512i x = load64(qs + 64 * g);
        u[g] = _mm512_shuffle_epi8(table, _mm512_and_si512(x, mask));
        u[g + 4] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(x, 4), mask));
    }
}

template <int NC>
void packed_kernel_iq4_nl(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    const block_q4_0x16* b = (const block_q4_0x16*)w;
    const block_a8_32* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_32*)acts[c];
    const __m512i table = unsigned_table();
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / 32; ++i) {
        prefetch_block(b + i, 12);
        __m512i u[8];
        lookup_groups(b[i].qs, table, u);
        const __m512 d = halves16(b[i].d);
        const __m512 off = _mm512_mul_ps(d, _mm512_set1_ps(-128.0f));
        for (int c = 0; c < NC; ++c) {
            const block_a8_32& a = y[c][i];
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot32(u, a.qs)), _mm512_mul_ps(d, _mm512_set1_ps(a.d)), acc[c]);
            acc[c] = _mm512_fmadd_ps(off, _mm512_set1_ps(a.s), acc[c]);
        }
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

// -128 * (the column's sum over sub-block s) for s = 0..7, from its 16-element sums.
inline void offsets_of(const block_a8_256& a, int32_t* off) {
    const __m256i sums = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i*)a.bsums), _mm256_set1_epi16(1));
    _mm256_storeu_si256((__m256i*)off, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 7)));
}

template <int NC>
void packed_kernel_iq4_xs(int64_t n, const void* w, const void* const* acts, float* out, int64_t ldo) {
    using Block = block_iq4_xsxR<16>;
    const Block* b = (const Block*)w;
    const block_a8_256* y[NC];
    for (int c = 0; c < NC; ++c) y[c] = (const block_a8_256*)acts[c];
    const __m512i table = unsigned_table();
    __m512 acc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; ++i) {
        prefetch_block(b + i, 1);  // the next super-block, 2208 bytes
        alignas(32) int32_t off[NC][8];
        __m512i isum[NC];
        for (int c = 0; c < NC; ++c) {
            offsets_of(y[c][i], off[c]);
            isum[c] = _mm512_setzero_si512();
        }
        for (int s = 0; s < 8; ++s) {
            __m512i u[8];
            lookup_groups(b[i].qs + 256 * s, table, u);
            const __m512i scale = bytes16_i32(b[i].sc[s]);
            for (int c = 0; c < NC; ++c) {
                // two chains as dot32's; the first starts at the offset, so p is the signed sum
                const int8_t* a = y[c][i].qs + 32 * s;
                __m512i p0 = _mm512_dpbusd_epi32(_mm512_set1_epi32(off[c][s]), u[0], bcast32(a));
                __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[4], bcast32(a + 16));
                for (int g = 1; g < 4; ++g) {
                    p0 = _mm512_dpbusd_epi32(p0, u[g], bcast32(a + 4 * g));
                    p1 = _mm512_dpbusd_epi32(p1, u[g + 4], bcast32(a + 16 + 4 * g));
                }
                isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(_mm512_add_epi32(p0, p1), scale));
            }
        }
        const __m512 d = halves16(b[i].d);
        for (int c = 0; c < NC; ++c)
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(d, _mm512_set1_ps(y[c][i].d)), acc[c]);
    }
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(out + c * ldo, acc[c]);
}

using Kernel = void (*)(int64_t, const void*, const void* const*, float*, int64_t);

// The kernel for each column count 1..kTileMaxCols, picked at run time. Every packed-kernel file
// keeps this inside its anonymous namespace: one shared header template, instantiated from the
// AVX2 and the AVX-512 files with same-named kernel structs, was merged across them by the linker.
template <template <int> class K>
void by_columns(int64_t n, const void* w, const void* const* acts, int n_cols, float* out, int64_t ldo) {
    static constexpr Kernel kernels[kTileMaxCols] = {K<1>::run, K<2>::run, K<3>::run, K<4>::run,
                                                     K<5>::run, K<6>::run, K<7>::run, K<8>::run};
    kernels[n_cols - 1](n, w, acts, out, ldo);
}

template <int NC> struct NL { static constexpr Kernel run = packed_kernel_iq4_nl<NC>; };
template <int NC> struct XS { static constexpr Kernel run = packed_kernel_iq4_xs<NC>; };

}  // namespace

void vec_dot_packed_iq4_nl_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                  int64_t ldo) {
    by_columns<NL>(n, w, acts, n_cols, out, ldo);
}

void vec_dot_packed_iq4_xs_avx512(int64_t n, const void* w, const void* const* acts, int n_cols, float* out,
                                  int64_t ldo) {
    by_columns<XS>(n, w, acts, n_cols, out, ldo);
}

}  // namespace llmrt::iq
#endif  // __AVX512VNNI__
