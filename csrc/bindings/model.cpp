// Placeholder until the model bindings land.
#include "bindings/bindings.h"

namespace llmrt::bindings {
void bind_model(pybind11::module_& m) { (void)m; }
}  // namespace llmrt::bindings
