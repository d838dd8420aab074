// Prefill kernel for the 32-element formats: a weight row unpacked once to int8 quants
// (x = d[b] * q + m[b] per 32-block) is multiplied with up to four activation rows at a time,
// so the bit-unpacking of a row is paid once per prefill instead of once per token.
#pragma once
#include <cstdint>

#include "quant/blocks.h"

namespace llmrt {

struct UnpackedRow {
    const int8_t* q;  // (n)
    const float* d;   // (n / 32)
    const float* m;   // (n / 32)
};

constexpr int kUnpackedMaxCols = 4;

// out[c] = dot(w, act[c]) for c < n_cols (1..4); n a multiple of 32.
using DotUnpackedFn = void (*)(int64_t n, const UnpackedRow& w, const block_a8_32* const* act, int n_cols, float* out);

void dot_unpacked_ref(int64_t n, const UnpackedRow& w, const block_a8_32* const* act, int n_cols, float* out);
DotUnpackedFn dot_unpacked_best();          // AVX2 when available, else the reference
DotUnpackedFn dot_unpacked_avx2();          // nullptr when not compiled in

}  // namespace llmrt
