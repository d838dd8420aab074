// One decode call's tokens, as Python planned them (python/llmrt/scheduler.py).
#pragma once
#include <cstdint>

namespace llmrt {

struct Batch {
    const int32_t* tokens = nullptr;     // (n)
    const int32_t* positions = nullptr;  // (n)
    const int32_t* seq_ids = nullptr;    // (n) each in [0, n_seq_max)
    const int32_t* cells = nullptr;      // (n) distinct KV cells
    const uint8_t* want_logits = nullptr;  // (n) nonzero: return this token's logits
    int64_t n = 0;

    // Number of tokens whose logits the forward pass writes.
    int64_t count_wanted() const {
        int64_t k = 0;
        for (int64_t i = 0; i < n; ++i) k += want_logits[i] ? 1 : 0;
        return k;
    }
};

}  // namespace llmrt
