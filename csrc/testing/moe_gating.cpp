// Expert routing (ops/moe_gating.h) one call at a time, for tests; gating_params checks the
// routing arguments for this and for the CUDA kernel's entry point.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>

#include "ops/moe_gating.h"
#include "runtime/errors.h"
#include "testing/testing.h"

namespace py = pybind11;

namespace llmrt::testing {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;

ops::GatingParams gating_params(const std::string& who, int64_t n_expert, int n_used, int func, bool norm_weights,
                                const float* bias, int64_t bias_size, int n_group, int topk_group, float scale) {
    ops::GatingParams p;
    p.n_expert = (int)n_expert;
    p.n_used = n_used;
    p.func = (ops::GatingFunc)func;
    p.norm_weights = norm_weights;
    p.scale = scale;
    p.n_group = n_group;
    p.topk_group = topk_group;
    if (bias) {
        if (bias_size != n_expert) throw InvalidArgument(who + ": bias must have n_expert elements");
        p.bias = bias;
    }
    ops::check_gating_params(p);
    return p;
}

namespace {
py::tuple moe_gating(F32 logits, int n_used, int func, bool norm_weights, std::optional<F32> bias, int n_group,
                     int topk_group, float scale) {
    if (logits.ndim() != 2) throw InvalidArgument("moe_gating: logits must be (n_tokens, n_expert)");
    const ops::GatingParams p = gating_params("moe_gating", logits.shape(1), n_used, func, norm_weights,
                                              bias ? bias->data() : nullptr, bias ? bias->size() : 0, n_group,
                                              topk_group, scale);
    const int64_t n = logits.shape(0);
    py::array_t<int32_t> ids({n, (int64_t)n_used});
    py::array_t<float> weights({n, (int64_t)n_used});
    int32_t* id = ids.mutable_data();
    float* w = weights.mutable_data();
    {
        py::gil_scoped_release release;
        ops::moe_gating(logits.data(), n, p, id, w);
    }
    return py::make_tuple(ids, weights);
}

}  // namespace

void bind_moe_gating(py::module_& m) {
    m.def("moe_gating", &moe_gating, py::arg("logits"), py::arg("n_used"), py::arg("func") = 1,
          py::arg("norm_weights") = false, py::arg("bias") = py::none(), py::arg("n_group") = 0,
          py::arg("topk_group") = 0, py::arg("scale") = 1.0f,
          "Expert routing (ops/moe_gating.h): logits (n_tokens, n_expert) -> (ids int32, weights float32), "
          "each (n_tokens, n_used). func: 1 softmax, 2 sigmoid.");
}

}  // namespace llmrt::testing
