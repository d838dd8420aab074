#include "bindings/bindings.h"

#include "runtime/cpu_features.h"
#include "runtime/thread_pool.h"

PYBIND11_MODULE(_core, m) {
    using namespace llmrt;
    m.doc() = "llmrt native core: GGUF mapping, quantized kernels, forward pass";
    bindings::bind_errors(m);
    m.def("simd_level", [] { return std::string(simd_level_name(simd_level())); },
          "SIMD level the kernels use: 'scalar', 'avx2' or 'avx512'.");
    m.def("physical_cores", &physical_core_count);
    bindings::bind_quant(m);
    bindings::bind_gguf(m);
    bindings::bind_hparams(m);
    bindings::bind_model(m);
    bindings::bind_kv_types(m);
    bindings::bind_cuda(m);
}
