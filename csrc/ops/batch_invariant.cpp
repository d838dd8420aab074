#include "ops/batch_invariant.h"

namespace llmrt::ops {
namespace {
thread_local bool g_batch_invariant = false;
}

bool batch_invariant() { return g_batch_invariant; }

BatchInvariantScope::BatchInvariantScope(bool on) : previous_(g_batch_invariant) { g_batch_invariant = on; }
BatchInvariantScope::~BatchInvariantScope() { g_batch_invariant = previous_; }

}  // namespace llmrt::ops
