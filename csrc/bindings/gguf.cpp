// Placeholder until the gguf bindings land.
#include "bindings/bindings.h"

namespace llmrt::bindings {
void bind_gguf(pybind11::module_& m) { (void)m; }
}  // namespace llmrt::bindings
