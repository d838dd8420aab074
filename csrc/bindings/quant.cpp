// Quantize / dequantize entry points over the dispatch table (quant/types.h), used by the
// converter and the quantizer; type_info describes a type id.
#include <pybind11/numpy.h>

#include "bindings/bindings.h"
#include "bindings/quant_args.h"
#include "quant/refine.h"
#include "quant/types.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::bindings {
namespace {

using Bytes = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;
using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> dequantize(uint32_t type, Bytes data, int64_t n) {
    const TypeTraits& t = computable(type);
    checked_count(t, n);
    const size_t need = (size_t)(n / t.block_size) * t.type_size;
    if ((size_t)data.size() < need)
        throw QuantError(std::string(t.name) + ": " + std::to_string(n) + " elements need " +
                         std::to_string(need) + " bytes, got " + std::to_string(data.size()));
    py::array_t<float> out(n);
    const uint8_t* src = data.data();
    float* dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        t.dequantize(src, dst, n);
    }
    return out;
}

py::array_t<uint8_t> quantize(uint32_t type, Floats x, const std::string& method) {
    const TypeTraits& t = computable(type);
    if (!t.quantize) throw QuantError(std::string("no quantizer for type ") + t.name);
    if (method != "ggml" && method != "refine")
        throw QuantError("quantize method must be 'ggml' or 'refine', not '" + method + "'");
    QuantizeFn fn = method == "refine" && refined_quantizer(type) ? refined_quantizer(type) : t.quantize;
    const int64_t n = checked_count(t, (int64_t)x.size());
    py::array_t<uint8_t> out((py::ssize_t)((n / t.block_size) * t.type_size));
    const float* src = x.data();
    uint8_t* dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        fn(src, dst, n);
    }
    return out;
}

}  // namespace

void bind_quant(py::module_& m) {
    m.def("dequantize", &dequantize, py::arg("type"), py::arg("data"), py::arg("n"),
          "Dequantize n elements of raw blocks of `type` (ggml type id) to float32.");
    m.def("quantize", &quantize, py::arg("type"), py::arg("x"), py::arg("method") = "ggml",
          "Quantize a float32 vector (length a multiple of the block size) to raw blocks. "
          "method='ggml': ggml's reference quantizer, bit for bit; 'refine': its blocks refined "
          "by a search for lower squared error (quant/refine.h), ggml's where there is none.");
    m.def("type_info", [](uint32_t type) {
        const TypeTraits& t = type_traits(type);
        py::dict d;
        if (!t.name) return d;
        d["name"] = t.name;
        d["block_size"] = t.block_size;
        d["type_size"] = t.type_size;
        d["can_dequantize"] = t.dequantize != nullptr;
        d["can_quantize"] = t.quantize != nullptr;
        d["can_dot"] = t.vec_dot != nullptr;
        d["act_format"] = (int)t.act;
        d["can_unpack"] = t.unpack != nullptr && t.vec_dot_tile == nullptr;  // matmul takes the unpacked path
        return d;
    }, py::arg("type"), "Block size, bytes per block and supported operations of a ggml type id.");
}

}  // namespace llmrt::bindings
