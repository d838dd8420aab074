// Native exceptions -> the Python classes of llmrt/errors.py, for both modules (_core and
// _core_testing).
#include "bindings/bindings.h"
#include "gguf/gguf.h"
#include "runtime/errors.h"

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
