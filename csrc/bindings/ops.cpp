// Small op kernels exposed for tests: the scalar reference and the dispatched fast path of the
// same primitive, side by side.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "bindings/bindings.h"
#include "ops/activations.h"
#include "ops/vec.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::bindings {
namespace {

using Floats2D = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Halves = py::array_t<uint16_t, py::array::c_style | py::array::forcecast>;

const ops::VecKernels& pick(bool reference) { return reference ? ops::vec_kernels_reference() : ops::vec_kernels(); }

py::array_t<float> dot_group_f16(Floats2D q, Halves k, bool reference) {
    if (q.ndim() != 2 || k.ndim() != 1 || q.shape(1) != k.shape(0) || q.shape(0) < 1)
        throw InvalidArgument("dot_group_f16: q (group, n) and k (n,) expected");
    py::array_t<float> out(q.shape(0));
    pick(reference).dot_group_f16(q.data(), q.shape(1), (int)q.shape(0), k.data(), k.shape(0), out.mutable_data());
    return out;
}

py::array_t<float> axpy_tile_f16(Floats2D y, Floats2D p, Halves v, bool reference) {
    if (y.ndim() != 2 || p.ndim() != 2 || v.ndim() != 2 || p.shape(0) != y.shape(0) || p.shape(1) != v.shape(0) ||
        v.shape(1) != y.shape(1))
        throw InvalidArgument("axpy_tile_f16: y (group, n), p (group, rows) and v (rows, n) expected");
    py::array_t<float> out({y.shape(0), y.shape(1)});
    std::copy(y.data(), y.data() + y.size(), out.mutable_data());
    std::vector<const uint16_t*> rows((size_t)v.shape(0));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = v.data() + i * v.shape(1);
    pick(reference).axpy_tile_f16(out.mutable_data(), y.shape(1), p.data(), p.shape(1), (int)y.shape(0), rows.data(),
                                  (int)rows.size(), y.shape(1));
    return out;
}

py::array_t<float> gated_activation(int act, Floats2D gate, Floats2D up, bool reference) {
    if (gate.size() != up.size()) throw InvalidArgument("gated_activation: gate and up differ in size");
    if (act != (int)ops::Activation::SiLU && act != (int)ops::Activation::GeLUTanh)
        throw InvalidArgument("gated_activation: act is 0 (SiLU) or 1 (GELU, tanh form)");
    py::array_t<float> out(gate.size());
    std::copy(gate.data(), gate.data() + gate.size(), out.mutable_data());
    if (reference) ops::gated_activation_ref((ops::Activation)act, out.mutable_data(), up.data(), up.size());
    else ops::gated_activation((ops::Activation)act, out.mutable_data(), up.data(), up.size());
    return out;
}

}  // namespace

void bind_ops(py::module_& m) {
    m.def("dot_group_f16", &dot_group_f16, py::arg("q"), py::arg("k"), py::arg("reference") = false,
          "out[j] = q[j] . k for an fp16 row k (the attention score kernel).");
    m.def("axpy_tile_f16", &axpy_tile_f16, py::arg("y"), py::arg("p"), py::arg("v"), py::arg("reference") = false,
          "y[j] + sum_i p[j, i] * v[i] for fp16 rows v (the attention value kernel over a tile of cells).");
    m.def("gated_activation", &gated_activation, py::arg("act"), py::arg("gate"), py::arg("up"),
          py::arg("reference") = false, "act(gate) * up; act 0 = SiLU, 1 = GELU (tanh form).");
}

}  // namespace llmrt::bindings
