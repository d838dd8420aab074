// The lattice i-quants IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S: dequantization and the scalar
// reference dot products against A8_256 activations.
//
// All five store groups of 8 elements as an index into a fixed table of magnitude patterns (one
// 8-element entry for IQ2, two 4-element entries for IQ3), 8 sign bits (directly, or as a 7-bit
// index into ksigns, whose eighth bit keeps the count of minus signs even), and a 4-bit scale ls
// shared by 16 or 32 elements. Every element is d * (2 ls + 1) * magnitude * sign / kDiv with
// kDiv = 8 (IQ2), 4 (IQ3_XXS) or 1 (IQ3_S): a product of few enough significant bits to be exact
// in float, so any evaluation order gives the gguf package's values bit for bit, and the dot
// product is an integer sum with one float multiply per super-block.
#include "quant/iq_lattice.h"
#include "runtime/fp16.h"

namespace llmrt::iq {
namespace {

template <typename Block, Group8 (*Group)(const Block&, int), int Div>
void dequantize_lattice(const void* src, float* y, int64_t n) {
    const Block* b = (const Block*)src;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int k = 0; k < 32; ++k, y += 8) {
            const Group8 g = Group(b[i], k);
            const float db = d * (float)g.scale * (1.0f / (float)Div);
            for (int j = 0; j < 8; ++j) {
                const float v = db * (float)((g.grid >> (8 * j)) & 0xFF);
                y[j] = (g.signs >> j) & 1 ? -v : v;
            }
        }
    }
}

template <typename Block, Group8 (*Group)(const Block&, int), int Div>
float dot_lattice(int64_t n, const void* w, const void* act) {
    const Block* b = (const Block*)w;
    const block_a8_256* a = (const block_a8_256*)act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int sumi = 0;  // |sumi| <= 256 * 62 * 127 * 31: fits
        for (int k = 0; k < 32; ++k) {
            const Group8 g = Group(b[i], k);
            const int8_t* q = a[i].qs + 8 * k;
            int s = 0;
            for (int j = 0; j < 8; ++j) {
                const int p = (int)((g.grid >> (8 * j)) & 0xFF) * q[j];
                s += (g.signs >> j) & 1 ? -p : p;
            }
            sumi += g.scale * s;
        }
        sum += fp16_to_fp32(b[i].d) * a[i].d * (float)sumi * (1.0f / (float)Div);
    }
    return sum;
}

}  // namespace

void dequantize_iq2_xxs(const void* src, float* y, int64_t n) { dequantize_lattice<block_iq2_xxs, group_iq2_xxs, 8>(src, y, n); }
void dequantize_iq2_xs(const void* src, float* y, int64_t n) { dequantize_lattice<block_iq2_xs, group_iq2_xs, 8>(src, y, n); }
void dequantize_iq2_s(const void* src, float* y, int64_t n) { dequantize_lattice<block_iq2_s, group_iq2_s, 8>(src, y, n); }
void dequantize_iq3_xxs(const void* src, float* y, int64_t n) { dequantize_lattice<block_iq3_xxs, group_iq3_xxs, 4>(src, y, n); }
void dequantize_iq3_s(const void* src, float* y, int64_t n) { dequantize_lattice<block_iq3_s, group_iq3_s, 1>(src, y, n); }

float vec_dot_iq2_xxs_ref(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_xxs, group_iq2_xxs, 8>(n, w, a); }
float vec_dot_iq2_xs_ref(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_xs, group_iq2_xs, 8>(n, w, a); }
float vec_dot_iq2_s_ref(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq2_s, group_iq2_s, 8>(n, w, a); }
float vec_dot_iq3_xxs_ref(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq3_xxs, group_iq3_xxs, 4>(n, w, a); }
float vec_dot_iq3_s_ref(int64_t n, const void* w, const void* a) { return dot_lattice<block_iq3_s, group_iq3_s, 1>(n, w, a); }

}  // namespace llmrt::iq
