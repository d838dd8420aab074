// pybind11 glue only: type conversion and GIL release, no logic (docs/architecture.md). One file per area.
#pragma once
#include <pybind11/pybind11.h>

namespace llmrt::bindings {
void bind_errors(pybind11::module_& m);
void bind_quant(pybind11::module_& m);
void bind_gguf(pybind11::module_& m);
void bind_hparams(pybind11::module_& m);  // HParams, TensorNames and their enums
void bind_model(pybind11::module_& m);
void bind_kv_types(pybind11::module_& m);  // KV cache element types: row sizes
void bind_cuda(pybind11::module_& m);      // cuda_available, cuda_device_count
}  // namespace llmrt::bindings
