// Native error types. bindings/module.cpp maps each to its llmrt.errors Python class, so every
// failure reaches Python as a typed exception and the interpreter keeps running.
#pragma once
#include <stdexcept>

namespace llmrt {

struct InvalidArgument : std::invalid_argument { using std::invalid_argument::invalid_argument; };
struct ModelError : std::runtime_error { using std::runtime_error::runtime_error; };
struct ContextError : std::runtime_error { using std::runtime_error::runtime_error; };
struct QuantError : std::invalid_argument { using std::invalid_argument::invalid_argument; };
// No usable accelerator: built without CUDA, no device/driver, or a CUDA call failed.
struct DeviceError : std::runtime_error { using std::runtime_error::runtime_error; };

}  // namespace llmrt
