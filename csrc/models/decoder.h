// The generic decoder block, written once over the Backend interface (backend/backend.h).
#pragma once
#include "backend/backend.h"

namespace llmrt {

class Decoder {
public:
    // Runs the layers over the batch b (K/V written to kv at b.cells) and stores b.count_wanted()
    // rows of n_vocab logits (host memory).
    void forward(Backend& be, const Model& model, KVStore& kv, const Batch& b, float* logits);

private:
    void attention_block(Backend& be, const Model& model, KVStore& kv, const Batch& b, int il);
    void ffn_block(Backend& be, const Model& model, int il, int64_t n);

    // The pass's working memory, the backend's buffers (see Buffer in decoder.cpp).
    float *x_ = nullptr, *h_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *attn_ = nullptr;
    float *gate_ = nullptr, *up_ = nullptr;
};

}  // namespace llmrt
