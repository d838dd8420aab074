#include "ops/matmul.h"

#include <algorithm>

#include "ops/batch_invariant.h"
#include "quant/blocks.h"
#include "quant/packed.h"
#include "quant/types.h"
#include "quant/unpacked.h"
#include "runtime/errors.h"

namespace llmrt::ops {

namespace {

// Rows row..row+3 of w against every token, up to kTileMaxCols tokens per kernel call.
void tile_rows(const TypeTraits& tr, const WeightView& w, int64_t row, const uint8_t* act, size_t act_bytes,
               int64_t n_tokens, float* y) {
    const void* cols[kTileMaxCols];
    float res[kTileRows * kTileMaxCols];
    for (int64_t t = 0; t < n_tokens; t += kTileMaxCols) {
        const int k = (int)std::min<int64_t>(kTileMaxCols, n_tokens - t);
        for (int c = 0; c < k; ++c) cols[c] = act + (t + c) * act_bytes;
        tr.vec_dot_tile(w.n_in, w.row(row), w.row_bytes, cols, k, res);
        for (int r = 0; r < kTileRows; ++r)
            for (int c = 0; c < k; ++c) y[(t + c) * w.n_out + row + r] = res[r * k + c];
    }
}

// Rows row..row + packed_rows - 1 (a packed group, quant/packed.h) against every token, up to
// kTileMaxCols tokens per kernel call, written straight into y.
void packed_rows(const TypeTraits& tr, const WeightView& w, int64_t row, const uint8_t* act, size_t act_bytes,
                 int64_t n_tokens, float* y) {
    const uint8_t* group = w.packed + packed_group_offset(w.type, w.n_in, row / tr.packed_rows);
    const void* cols[kTileMaxCols];
    for (int64_t t = 0; t < n_tokens; t += kTileMaxCols) {
        const int k = (int)std::min<int64_t>(kTileMaxCols, n_tokens - t);
        for (int c = 0; c < k; ++c) cols[c] = act + (t + c) * act_bytes;
        tr.vec_dot_packed(w.n_in, group, cols, k, y + t * w.n_out + row, w.n_out);
    }
}

// One row unpacked to int8 once (quant/unpacked.h), then run against four tokens at a time.
void unpacked_row(const TypeTraits& tr, DotUnpackedFn dot_unpacked, const WeightView& w, int64_t row,
                  const uint8_t* act, size_t act_bytes, int64_t n_tokens, float* y) {
    const int64_t n_in = w.n_in;
    thread_local std::vector<int8_t> q;
    thread_local std::vector<float> d, m;
    q.resize((size_t)n_in);
    d.resize((size_t)n_in / 32);
    m.resize((size_t)n_in / 32);
    tr.unpack(w.row(row), q.data(), d.data(), m.data(), n_in);
    const UnpackedRow u{q.data(), d.data(), m.data()};
    const block_a8_32* cols[kUnpackedMaxCols];
    float res[kUnpackedMaxCols];
    for (int64_t t = 0; t < n_tokens; t += kUnpackedMaxCols) {
        const int k = (int)std::min<int64_t>(kUnpackedMaxCols, n_tokens - t);
        for (int c = 0; c < k; ++c) cols[c] = (const block_a8_32*)(act + (t + c) * act_bytes);
        dot_unpacked(n_in, u, cols, k, res);
        for (int c = 0; c < k; ++c) y[(t + c) * w.n_out + row] = res[c];
    }
}

// One row against every token: four tokens per call when the type has a multi-column kernel.
void single_row(const TypeTraits& tr, const WeightView& w, int64_t row, const uint8_t* act, size_t act_bytes,
                int64_t n_tokens, float* y, bool invariant) {
    const uint8_t* wr = w.row(row);
    if (const VecDotMultiFn multi = tr.vec_dot_multi; multi && n_tokens > 1 && !invariant) {
        constexpr int kCols = 4;
        const void* cols[kCols];
        float res[kCols];
        for (int64_t t = 0; t < n_tokens; t += kCols) {
            const int k = (int)std::min<int64_t>(kCols, n_tokens - t);
            for (int c = 0; c < k; ++c) cols[c] = act + (t + c) * act_bytes;
            multi(w.n_in, wr, cols, k, res);
            for (int c = 0; c < k; ++c) y[(t + c) * w.n_out + row] = res[c];
        }
        return;
    }
    for (int64_t t = 0; t < n_tokens; ++t) y[t * w.n_out + row] = tr.vec_dot(w.n_in, wr, act + t * act_bytes);
}

// Units the activation quantization can be split into: a format's blocks, or whole rows for F32.
int64_t act_blocks_per_row(ActFormat f, int64_t n_in) {
    return f == ActFormat::A8_32 ? n_in / 32 : f == ActFormat::A8_256 ? n_in / QK_K : 1;
}

// Quantizes blocks [b0, b1) of the (n_tokens, act_blocks_per_row) activation blocks of x
// (n_tokens, n_in) into dst (rows row_bytes apart), one call per token row touched.
void prepare_block_range(ActFormat f, const float* x, int64_t n_in, uint8_t* dst, size_t row_bytes, int64_t b0,
                         int64_t b1) {
    const int64_t per_row = act_blocks_per_row(f, n_in);
    const int64_t block_elems = n_in / per_row;
    const size_t block_bytes = row_bytes / (size_t)per_row;
    while (b0 < b1) {
        const int64_t t = b0 / per_row, first = b0 % per_row;
        const int64_t count = std::min(b1 - b0, per_row - first);
        prepare_activations(f, x + t * n_in + first * block_elems, dst + t * row_bytes + first * block_bytes,
                            count * block_elems);
        b0 += count;
    }
}

}  // namespace

void matmul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            std::vector<uint8_t>& scratch) {
    const WeightView* ws[1] = {&w};
    float* ys[1] = {y};
    matmul_multi(pool, ws, ys, 1, x, n_tokens, scratch);
}

void matmul_multi(ThreadPool& pool, const WeightView* const* weights, float* const* outputs, int count,
                  const float* x, int64_t n_tokens, std::vector<uint8_t>& scratch) {
    constexpr int kMaxWeights = 4;
    constexpr int kFormats = 3;  // ActFormat values
    if (count < 1 || count > kMaxWeights) throw InvalidArgument("matmul_multi: 1..4 weights");
    const int64_t n_in = weights[0]->n_in;
    // From kUnpackMinTokens tokens on, rows are unpacked once (matmul.h); that path reads
    // 32-element activation blocks whatever the weight type's own format.
    const DotUnpackedFn dot_unpacked = dot_unpacked_best();
    const bool invariant = batch_invariant();
    const TypeTraits* traits[kMaxWeights];
    bool unpacked[kMaxWeights];
    int fmt[kMaxWeights];
    size_t act_bytes[kFormats] = {0, 0, 0}, act_offset[kFormats] = {0, 0, 0};
    bool needed[kFormats] = {false, false, false};
    int64_t total_rows = 0;
    for (int i = 0; i < count; ++i) {
        traits[i] = &type_traits(weights[i]->type);
        if (!traits[i]->vec_dot)
            throw ModelError(std::string("no dot product kernel for type ") + (traits[i]->name ? traits[i]->name : "?"));
        if (weights[i]->n_in != n_in) throw InvalidArgument("matmul_multi: weights differ in input size");
        // (a packed weight runs its packed kernel on the type's own activation format instead)
        unpacked[i] = traits[i]->unpack != nullptr && !traits[i]->vec_dot_tile && !weights[i]->packed &&
                      n_tokens >= kUnpackMinTokens && !invariant;
        fmt[i] = unpacked[i] ? (int)ActFormat::A8_32 : (int)traits[i]->act;
        needed[fmt[i]] = true;
        total_rows += weights[i]->n_out;
    }
    size_t total = 0;
    for (int f = 0; f < kFormats; ++f) {
        if (!needed[f]) continue;
        act_bytes[f] = act_row_size((ActFormat)f, n_in);
        act_offset[f] = total;
        total += act_bytes[f] * (size_t)n_tokens;
    }
    if (scratch.size() < total) scratch.resize(total);
    uint8_t* act = scratch.data();
    // Every thread quantizes its share of the activation blocks first, in the same parallel
    // region as the rows (at 8 tokens the serial loop was ~5% of a decode step).
    const std::function<void(int, int)> quantize_share = [&](int t, int n_threads) {
        for (int f = 0; f < kFormats; ++f) {
            if (!needed[f]) continue;
            const int64_t per_row = act_blocks_per_row((ActFormat)f, n_in);
            const int64_t n_blocks = per_row * n_tokens;
            prepare_block_range((ActFormat)f, x, n_in, act + act_offset[f], act_bytes[f], n_blocks * t / n_threads,
                                n_blocks * (t + 1) / n_threads);
        }
    };
    // Rows of all weights form one index space, cut into bands. A thread runs every token against
    // a row group while the group is in L1, so a band's size only sets how finely threads can
    // even out: a few per thread, since every band costs an atomic (with 16 per thread that was
    // ~3% of an 8-sequence step).
    constexpr int64_t kChunksPerThread = 4;
    // Bands are whole tiles and whole packed groups of either size.
    static_assert(kMaxPackedRows % kTileRows == 0, "a packed group is whole tiles");
    const int64_t grain = std::max<int64_t>(1, total_rows / (pool.size() * kChunksPerThread * kMaxPackedRows)) * kMaxPackedRows;
    // Each thread walks one contiguous share of the rows (parallel_for_streams): with bands
    // handed out in turn, every thread's prefetches ran into the other threads' bands and
    // decode was 1.3-1.5x slower (SmolLM2, 2 threads, Zen 5).
    pool.parallel_for_streams(total_rows, grain, [&](int64_t r0, int64_t r1) {
        int i = 0;
        int64_t base = 0;
        for (int64_t r = r0; r < r1;) {
            while (r - base >= weights[i]->n_out) base += weights[i++]->n_out;
            const WeightView& w = *weights[i];
            const int64_t row = r - base;
            const uint8_t* a = act + act_offset[fmt[i]];
            const size_t a_bytes = act_bytes[fmt[i]];
            // Packed groups take every token count. A group cut by a band edge (a preceding weight
            // whose row count is no multiple of 16) runs from the original rows instead.
            const int group_rows = traits[i]->packed_rows;
            if (w.packed && traits[i]->vec_dot_packed && row % group_rows == 0 && r + group_rows <= r1) {
                packed_rows(*traits[i], w, row, a, a_bytes, n_tokens, outputs[i]);
                r += group_rows;
                continue;
            }
            // One token stays on the one-row kernels: through the tiles Gemma-3's decode
            // (its 178 MB Q8_0 output head streamed from memory) was 16% slower.
            if (!unpacked[i] && !invariant && traits[i]->vec_dot_tile && n_tokens > 1 && row + kTileRows <= w.n_out &&
                r + kTileRows <= r1) {
                tile_rows(*traits[i], w, row, a, a_bytes, n_tokens, outputs[i]);
                r += kTileRows;
                continue;
            }
            if (unpacked[i]) unpacked_row(*traits[i], dot_unpacked, w, row, a, a_bytes, n_tokens, outputs[i]);
            else single_row(*traits[i], w, row, a, a_bytes, n_tokens, outputs[i], invariant);
            ++r;
        }
    }, &quantize_share);
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
