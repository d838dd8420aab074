// The test module _core_testing (testing/module.cpp): single kernels and ops called from NumPy,
// so tests can check each against a reference. None of it ships in _core, which holds only what
// the package uses (docs/architecture.md, "The boundary").
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "ops/moe_gating.h"

namespace llmrt::testing {
void bind_cpu_ops(pybind11::module_& m);        // norm, RoPE, activations, attention and its primitives
void bind_quant_kernels(pybind11::module_& m);  // vec_dot, matmul, activation preparation
void bind_moe_gating(pybind11::module_& m);
void bind_kv_ops(pybind11::module_& m);         // KV rows, Hadamard basis, quantized attention tiles
void bind_cuda_ops(pybind11::module_& m);       // raises DeviceError without CUDA

// The routing arguments of `who` (moe_gating, cuda_moe_gating) checked into GatingParams; bias
// (n_expert floats or nullptr) is where the caller's op reads it (host or device memory).
ops::GatingParams gating_params(const std::string& who, int64_t n_expert, int n_used, int func, bool norm_weights,
                                const float* bias, int64_t bias_size, int n_group, int topk_group, float scale);
}  // namespace llmrt::testing
