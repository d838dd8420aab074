#include "ops/matmul.h"

#include <algorithm>

#include "quant/types.h"
#include "runtime/errors.h"

namespace llmrt::ops {

void matmul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            std::vector<uint8_t>& scratch) {
    const TypeTraits& tr = type_traits(w.type);
    if (!tr.vec_dot) throw ModelError(std::string("no dot product kernel for type ") + (tr.name ? tr.name : "?"));
    const size_t act_bytes = act_row_size(tr.act, w.n_in);
    if (scratch.size() < act_bytes * (size_t)n_tokens) scratch.resize(act_bytes * (size_t)n_tokens);
    uint8_t* act = scratch.data();
    const int64_t n_in = w.n_in;
    pool.parallel_for(n_tokens, 8, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) prepare_activations(tr.act, x + t * n_in, act + t * act_bytes, n_in);
    });
    const VecDotFn dot = tr.vec_dot;
    const int64_t n_out = w.n_out;
    // Small bands balance the two-core case and keep a band's rows in L1/L2 across tokens.
    const int64_t grain = std::max<int64_t>(4, n_out / (pool.size() * 16));
    pool.parallel_for(n_out, grain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const uint8_t* row = w.row(r);
            for (int64_t t = 0; t < n_tokens; ++t) y[t * n_out + r] = dot(n_in, row, act + t * act_bytes);
        }
    });
}

void get_rows(const WeightView& w, const int32_t* ids, int64_t n, float* out) {
    const TypeTraits& tr = type_traits(w.type);
    if (!tr.dequantize) throw ModelError(std::string("cannot dequantize type ") + (tr.name ? tr.name : "?"));
    for (int64_t i = 0; i < n; ++i) {
        if (ids[i] < 0 || ids[i] >= w.n_out)
            throw InvalidArgument("token id " + std::to_string(ids[i]) + " outside the vocabulary (size " +
                                  std::to_string(w.n_out) + ")");
        tr.dequantize(w.row(ids[i]), out + i * w.n_in, w.n_in);
    }
}

}  // namespace llmrt::ops
