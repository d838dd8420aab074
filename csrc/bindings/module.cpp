#include "bindings/bindings.h"

#include "gguf/gguf.h"
#include "runtime/cpu_features.h"
#include "runtime/errors.h"
#include "runtime/thread_pool.h"

namespace py = pybind11;

namespace llmrt::bindings {

void bind_errors(py::module_& m) {
    // The exception classes live in Python (llmrt/errors.py) so users can catch them without
    // touching _core; translate native exceptions into them.
    py::module_ errors = py::module_::import("llmrt.errors");
    static py::object gguf_error = errors.attr("GGUFError");
    static py::object model_error = errors.attr("ModelError");
    static py::object context_error = errors.attr("ContextError");
    static py::object quant_error = errors.attr("QuantError");
    static py::object device_error = errors.attr("DeviceError");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const gguf::GGUFError& e) {
            PyErr_SetString(gguf_error.ptr(), e.what());
        } catch (const ModelError& e) {
            PyErr_SetString(model_error.ptr(), e.what());
        } catch (const ContextError& e) {
            PyErr_SetString(context_error.ptr(), e.what());
        } catch (const QuantError& e) {
            PyErr_SetString(quant_error.ptr(), e.what());
        } catch (const DeviceError& e) {
            PyErr_SetString(device_error.ptr(), e.what());
        }
        // anything else falls through to pybind11's defaults (InvalidArgument -> ValueError, ...)
    });
}

}  // namespace llmrt::bindings

PYBIND11_MODULE(_core, m) {
    using namespace llmrt;
    m.doc() = "llmrt native core: GGUF mapping, quantized kernels, forward pass";
    bindings::bind_errors(m);
    m.def("simd_level", [] { return std::string(simd_level_name(simd_level())); },
          "SIMD level the kernels use: 'scalar', 'avx2' or 'avx512'.");
    m.def("physical_cores", &physical_core_count);
    bindings::bind_quant(m);
    bindings::bind_gguf(m);
    bindings::bind_model(m);
    bindings::bind_cpu_ops(m);
    bindings::bind_kv_ops(m);
    bindings::bind_cuda(m);
}
