// The quantized kernels one call at a time, for tests: vec_dot through the scalar reference or
// the fast path, the matmul with and without packing, activation preparation.
#include <pybind11/numpy.h>

#include <vector>

#include "bindings/quant_args.h"
#include "testing/testing.h"
#include "ops/matmul.h"
#include "runtime/thread_pool.h"
#include "quant/refine.h"
#include "quant/packed.h"
#include "quant/types.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::testing {
namespace {

using bindings::checked_count;
using bindings::computable;

using Bytes = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;
using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

float vec_dot(uint32_t type, Bytes w, Floats x, bool reference) {
    const TypeTraits& t = computable(type);
    const int64_t n = checked_count(t, (int64_t)x.size());
    if ((size_t)w.size() < (size_t)(n / t.block_size) * t.type_size)
        throw QuantError(std::string(t.name) + ": weight row too short for " + std::to_string(n) + " elements");
    VecDotFn fn = reference ? t.vec_dot_ref : t.vec_dot;
    if (!fn) throw QuantError(std::string("no dot product for type ") + t.name);
    std::vector<uint8_t> act(act_row_size(t.act, n));
    prepare_activations(t.act, x.data(), act.data(), n);
    return fn(n, w.data(), act.data());
}

py::array_t<float> matmul(uint32_t type, Bytes w, int64_t n_in, Floats x, int n_threads, bool packed) {
    const TypeTraits& t = computable(type);
    checked_count(t, n_in);
    if (x.ndim() != 2 || x.shape(1) != n_in) throw QuantError("matmul: x must be (n_tokens, n_in)");
    ops::WeightView view;
    view.type = type;
    view.n_in = n_in;
    view.row_bytes = row_size((GGMLType)type, n_in);
    if (view.row_bytes == 0 || (size_t)w.size() % view.row_bytes != 0)
        throw QuantError("matmul: weight bytes are not a whole number of rows");
    view.n_out = (int64_t)w.size() / (int64_t)view.row_bytes;
    view.data = w.data();
    std::unique_ptr<uint8_t[]> packed_rows;
    if (packed) {
        if (!can_pack(type, n_in, view.n_out))
            throw QuantError("matmul: no packed layout for this type, shape or build");
        packed_rows = pack_rows(type, view.data, view.row_bytes, n_in, view.n_out);
        view.packed = packed_rows.get();
    }
    const int64_t n_tokens = x.shape(0);
    py::array_t<float> y({n_tokens, view.n_out});
    float* out = y.mutable_data();
    const float* in = x.data();
    {
        py::gil_scoped_release release;
        ThreadPool pool(n_threads);
        std::vector<uint8_t> scratch;
        ops::matmul(pool, view, in, n_tokens, out, scratch);
    }
    return y;
}

}  // namespace

void bind_quant_kernels(py::module_& m) {
    m.def("vec_dot", &vec_dot, py::arg("type"), py::arg("w"), py::arg("x"), py::arg("reference") = false,
          "Dot product of one weight row (raw blocks) with float activations, through the same "
          "activation quantization the matmul uses. reference=True runs the scalar reference.");
    m.attr("unpack_min_tokens") = ops::kUnpackMinTokens;
    m.def("matmul", &matmul, py::arg("type"), py::arg("w"), py::arg("n_in"), py::arg("x"), py::arg("n_threads") = 1,
          py::arg("packed") = false,
          "y (n_tokens, n_out) = x . W^T for raw weight rows, through the forward pass's matmul. "
          "packed=True repacks the rows first, as model loading does (quant/packed.h).");
    m.def("can_pack", &can_pack, py::arg("type"), py::arg("n_in"), py::arg("n_out"),
          "Whether a matrix of this type and shape gets a packed copy at load in this build.");
    m.def("prepare_activations", [](int fmt, Floats x, bool reference) {
        const int64_t n = (int64_t)x.size();
        py::array_t<uint8_t> out((py::ssize_t)act_row_size((ActFormat)fmt, n));
        if (reference) prepare_activations_ref((ActFormat)fmt, x.data(), out.mutable_data(), n);
        else prepare_activations((ActFormat)fmt, x.data(), out.mutable_data(), n);
        return out;
    }, py::arg("format"), py::arg("x"), py::arg("reference") = false,
          "The 8-bit activation row a matmul prepares (reference=True: the scalar code).");
}

}  // namespace llmrt::testing
