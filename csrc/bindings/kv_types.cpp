// KV cache element types for the package: bytes per row of each type (llmrt info, memory checks).
#include <string>

#include "bindings/bindings.h"
#include "kv_rows.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::bindings {

void bind_kv_types(py::module_& m) {
    m.def("kv_row_bytes", [](const std::string& name, int64_t n) {
        const GGMLType t = kv_type_from_name(name);
        if (kv_type_is_quantized(t) && n % 32 != 0) throw ContextError("kv_row_bytes: n must be a multiple of 32");
        return kv_row_bytes(t, n);
    }, py::arg("type"), py::arg("n"), "Bytes of n elements of a KV cache type (f32, f16, q8_0, q4_0).");
}

}  // namespace llmrt::bindings
