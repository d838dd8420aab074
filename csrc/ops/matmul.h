// Quantized weight x float activations, through the per-type dispatch table (quant/types.h).
// One code path serves decode (n_tokens == 1, matrix x vector) and prefill (matrix x matrix):
// each thread takes a band of weight rows and runs every token against each row while the row
// is hot in L1, so the weights stream from memory once per call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/thread_pool.h"

namespace llmrt::ops {

// A 2-D weight as the GGUF stores it: n_out rows of n_in contiguous elements.
struct WeightView {
    const uint8_t* data = nullptr;
    uint32_t type = 0;
    int64_t n_in = 0;     // ne0
    int64_t n_out = 0;    // ne1
    size_t row_bytes = 0;
    // The same rows repacked at load (quant/packed.h), or nullptr. Row group g (rows 8g..8g+7)
    // starts at packed_group_offset(type, n_in, g).
    const uint8_t* packed = nullptr;
    const uint8_t* row(int64_t r) const { return data + (size_t)r * row_bytes; }
};

// n_expert same-shape weights stacked in one GGUF 3-D tensor (ne = n_in, n_out, n_expert):
// expert e's rows follow expert e-1's, so each expert is an ordinary WeightView.
struct ExpertsView {
    WeightView first;         // expert 0
    int64_t n_expert = 0;     // 0: absent
    size_t expert_bytes = 0;  // first.n_out * first.row_bytes
    WeightView expert(int64_t e) const {
        WeightView w = first;
        w.data += (size_t)e * expert_bytes;
        return w;
    }
};

// For types without a 4-row tile kernel (VecDotTileFn, which beats this at every token count):
// with many tokens, unpacking each weight row once to int8 and running it against four tokens
// at a time beats unpacking it again inside every token's dot product. The unpack itself costs
// about what ~20-30 tokens save, hence this threshold.
constexpr int64_t kUnpackMinTokens = 32;

// y (n_tokens, n_out) = x (n_tokens, n_in) . W^T. `scratch` holds the prepared activations.
void matmul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            std::vector<uint8_t>& scratch);

// Several weights applied to the same input in one parallel region (Q/K/V, gate/up): the input
// is prepared once per activation format and the threads never wait between the matrices.
// outputs[i] is (n_tokens, weights[i]->n_out).
void matmul_multi(ThreadPool& pool, const WeightView* const* weights, float* const* outputs, int count,
                  const float* x, int64_t n_tokens, std::vector<uint8_t>& scratch);

// out (n, n_in) = dequantized rows ids[0..n) of W (embedding lookup).
void get_rows(const WeightView& w, const int32_t* ids, int64_t n, float* out);

}  // namespace llmrt::ops
