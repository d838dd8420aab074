// What the package asks of CUDA in every build: cuda_available (compiled in) and
// cuda_device_count() (0 when there is no driver or GPU; never raises). The kernels' own entry
// points are in the test module (testing/cuda_ops.cpp).
#include "bindings/bindings.h"

#if LLMRT_HAVE_CUDA
#include "cuda/device.cuh"
#endif

namespace py = pybind11;

namespace llmrt::bindings {

void bind_cuda(py::module_& m) {
#if LLMRT_HAVE_CUDA
    m.attr("cuda_available") = true;
    m.def("cuda_device_count", [] { return cuda::device_count(); },
          "Number of usable CUDA devices; 0 without a driver or GPU. Never raises.");
#else
    m.attr("cuda_available") = false;
    m.def("cuda_device_count", [] { return 0; }, "Always 0: llmrt was built without CUDA.");
#endif
}

}  // namespace llmrt::bindings
