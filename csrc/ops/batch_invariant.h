// Batch-invariant arithmetic (LLM(deterministic=True)): while it is on, a token's results do not
// depend on the other tokens of the call or on the thread count. Matmuls take the same kernel for
// one token as for many (no tiles, no multi-column dot, no unpacked prefill path), and attention
// splits a token's cells into fixed chunks merged in order. Set by Context::decode for the
// duration of a call, on the calling thread (the kernels' choices are made there).
#pragma once

namespace llmrt::ops {

bool batch_invariant();

class BatchInvariantScope {
public:
    explicit BatchInvariantScope(bool on);
    ~BatchInvariantScope();
    BatchInvariantScope(const BatchInvariantScope&) = delete;
    BatchInvariantScope& operator=(const BatchInvariantScope&) = delete;

private:
    bool previous_;
};

}  // namespace llmrt::ops
