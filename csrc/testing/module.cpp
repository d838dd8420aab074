#include "bindings/bindings.h"
#include "testing/testing.h"

PYBIND11_MODULE(_core_testing, m) {
    using namespace llmrt;
    m.doc() = "llmrt test entry points: single native kernels and ops on NumPy arrays";
    bindings::bind_errors(m);
    testing::bind_cpu_ops(m);
    testing::bind_quant_kernels(m);
    testing::bind_moe_gating(m);
    testing::bind_kv_ops(m);
    testing::bind_cuda_ops(m);
}
