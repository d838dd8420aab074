// The ternary formats TQ1_0 (1.6875 bits per weight: five base-3 digits per byte) and TQ2_0
// (2 bits per weight): dequantization and the scalar reference dot products against A8_256.
// Every element is d * t with t in {-1, 0, 1}, so both are exact in float and the dot product is
// an integer sum with one float multiply per super-block.
#include "quant/iq_internal.h"
#include "runtime/fp16.h"

namespace llmrt::iq {
namespace {

// Digit k of a TQ1_0 byte. The byte stores ceil(v * 256 / 243) for the 5-digit base-3 number v,
// i.e. v / 243 as a fixed-point fraction: multiplying by 3^k (mod 256) shifts digit k to the
// top, and * 3 >> 8 reads it.
inline int trit(uint8_t byte, int k) {
    static constexpr uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t shifted = (uint8_t)(byte * pow3[k]);
    return (int)(((uint16_t)shifted * 3) >> 8) - 1;
}

// The 256 values t of a TQ1_0 block, in element order (layout in quant/blocks.h).
void tq1_values(const block_tq1_0& b, int8_t* t) {
    for (int k = 0; k < 5; ++k)
        for (int m = 0; m < 32; ++m) t[32 * k + m] = (int8_t)trit(b.qs[m], k);
    for (int k = 0; k < 5; ++k)
        for (int m = 0; m < 16; ++m) t[160 + 16 * k + m] = (int8_t)trit(b.qs[32 + m], k);
    for (int k = 0; k < 4; ++k)
        for (int m = 0; m < 4; ++m) t[240 + 4 * k + m] = (int8_t)trit(b.qh[m], k);
}

void tq2_values(const block_tq2_0& b, int8_t* t) {
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < 32; ++j) t[128 * h + 32 * k + j] = (int8_t)(((b.qs[32 * h + j] >> (2 * k)) & 3) - 1);
}

template <typename Block, void (*Values)(const Block&, int8_t*)>
void dequantize_ternary(const void* src, float* y, int64_t n) {
    const Block* b = (const Block*)src;
    int8_t t[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
        Values(b[i], t);
        const float d = fp16_to_fp32(b[i].d);
        for (int e = 0; e < QK_K; ++e) y[e] = d * (float)t[e];
    }
}

template <typename Block, void (*Values)(const Block&, int8_t*)>
float dot_ternary(int64_t n, const void* w, const void* act) {
    const Block* b = (const Block*)w;
    const block_a8_256* a = (const block_a8_256*)act;
    int8_t t[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        Values(b[i], t);
        int sumi = 0;
        for (int e = 0; e < QK_K; ++e) sumi += t[e] * a[i].qs[e];
        sum += fp16_to_fp32(b[i].d) * a[i].d * (float)sumi;
    }
    return sum;
}

}  // namespace

void dequantize_tq1_0(const void* src, float* y, int64_t n) { dequantize_ternary<block_tq1_0, tq1_values>(src, y, n); }
void dequantize_tq2_0(const void* src, float* y, int64_t n) { dequantize_ternary<block_tq2_0, tq2_values>(src, y, n); }
float vec_dot_tq1_0_ref(int64_t n, const void* w, const void* a) { return dot_ternary<block_tq1_0, tq1_values>(n, w, a); }
float vec_dot_tq2_0_ref(int64_t n, const void* w, const void* a) { return dot_ternary<block_tq2_0, tq2_values>(n, w, a); }

}  // namespace llmrt::iq
