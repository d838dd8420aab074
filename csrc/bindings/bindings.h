// pybind11 glue only: type conversion and GIL release, no logic (DESIGN.md). One file per area.
#pragma once
#include <pybind11/pybind11.h>

namespace llmrt::bindings {
void bind_errors(pybind11::module_& m);
void bind_quant(pybind11::module_& m);
void bind_gguf(pybind11::module_& m);
void bind_model(pybind11::module_& m);
void bind_ops(pybind11::module_& m);
}  // namespace llmrt::bindings
