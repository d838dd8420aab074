// pybind11 glue only: type conversion and GIL release, no logic (docs/architecture.md). One file per area.
#pragma once
#include <pybind11/pybind11.h>

#include <string>

#include "ops/moe_gating.h"

namespace llmrt::bindings {
void bind_errors(pybind11::module_& m);
void bind_quant(pybind11::module_& m);
void bind_gguf(pybind11::module_& m);
void bind_model(pybind11::module_& m);
void bind_cpu_ops(pybind11::module_& m);  // single CPU ops the CUDA kernels are tested against
void bind_kv_ops(pybind11::module_& m);   // KV cache element types and their attention kernels
void bind_cuda(pybind11::module_& m);      // every build; raises DeviceError without CUDA

// The routing arguments of `who` (moe_gating, cuda_moe_gating) checked into GatingParams; bias
// (n_expert floats or nullptr) is where the caller's op reads it (host or device memory).
ops::GatingParams gating_params(const std::string& who, int64_t n_expert, int n_used, int func, bool norm_weights,
                                const float* bias, int64_t bias_size, int n_group, int topk_group, float scale);
}  // namespace llmrt::bindings
