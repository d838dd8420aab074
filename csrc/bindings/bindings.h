// pybind11 glue only: type conversion and GIL release, no logic (DESIGN.md). One file per area.
#pragma once
#include <pybind11/pybind11.h>

namespace llmrt::bindings {
void bind_errors(pybind11::module_& m);
void bind_quant(pybind11::module_& m);
void bind_gguf(pybind11::module_& m);
void bind_model(pybind11::module_& m);
void bind_cpu_ops(pybind11::module_& m);  // single CPU ops the CUDA kernels are tested against
void bind_cuda(pybind11::module_& m);      // every build; raises DeviceError without CUDA
}  // namespace llmrt::bindings
