// The CPU ops the forward pass uses (norm, RoPE, soft-capping, attention), one call each, for
// tests: the CUDA kernels are compared against these, and these against NumPy. Type conversion
// and GIL release only. (Gated activations are in ops.cpp.)
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "ops/activations.h"  // softcap
#include "ops/attention.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "runtime/errors.h"
#include "runtime/thread_pool.h"

namespace py = pybind11;

namespace llmrt::bindings {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

py::array_t<float> copy_of(const F32& x) {
    py::array_t<float> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    std::copy(x.data(), x.data() + x.size(), out.mutable_data());
    return out;
}

py::array_t<float> rms_norm(F32 x, F32 w, float eps) {
    if (x.ndim() != 2 || w.ndim() != 1 || w.shape(0) != x.shape(1))
        throw InvalidArgument("rms_norm: x must be (n_rows, n) and w (n)");
    py::array_t<float> out = copy_of(x);
    float* o = out.mutable_data();
    py::gil_scoped_release release;
    ops::rms_norm(x.data(), w.data(), o, x.shape(0), x.shape(1), eps);
    return out;
}

py::array_t<float> rope(F32 x, I32 positions, int n_rot, float freq_base, float freq_scale, int mode,
                        std::optional<F32> freq_factors) {
    if (x.ndim() != 3 || positions.size() != x.shape(0))
        throw InvalidArgument("rope: x must be (n_tokens, n_heads, head_dim) with one position per token");
    if (n_rot <= 0 || n_rot % 2 || n_rot > x.shape(2)) throw InvalidArgument("rope: n_rot must be even and in 2..head_dim");
    if (mode != (int)ops::RopeMode::Normal && mode != (int)ops::RopeMode::Neox) throw InvalidArgument("rope: mode must be 0 or 2");
    if (freq_factors && freq_factors->size() != n_rot / 2) throw InvalidArgument("rope: freq_factors must have n_rot/2 values");
    ops::RopeParams p{n_rot, freq_base, freq_scale, freq_factors ? freq_factors->data() : nullptr, (ops::RopeMode)mode};
    py::array_t<float> out = copy_of(x);
    float* o = out.mutable_data();
    py::gil_scoped_release release;
    ops::rope(o, positions.data(), x.shape(0), (int)x.shape(1), (int)x.shape(2), p);
    return out;
}

py::array_t<float> softcap(F32 x, float cap) {
    if (!(cap > 0.0f)) throw InvalidArgument("softcap: cap must be positive");
    py::array_t<float> out = copy_of(x);
    ops::softcap(out.mutable_data(), out.size(), cap);
    return out;
}

// k/v: float32 or float16 arrays (n_cells, n_head_kv * head_dim).
py::array_t<float> attention(F32 q, py::array k, py::array v, const std::vector<std::vector<int32_t>>& visible,
                             int n_head_kv, float scale, float softcap, int n_threads) {
    if (q.ndim() != 3 || (int64_t)visible.size() != q.shape(0))
        throw InvalidArgument("attention: q must be (n_tokens, n_head, head_dim) with one cell list per token");
    const bool f32 = k.dtype().is(py::dtype::of<float>());
    const bool f16 = k.dtype().is(py::dtype("float16"));
    if (!(f32 || f16) || !v.dtype().is(k.dtype())) throw InvalidArgument("attention: k and v must both be float32 or float16");
    k = py::array::ensure(k, py::array::c_style);
    v = py::array::ensure(v, py::array::c_style);
    const int n_head = (int)q.shape(1), head_dim = (int)q.shape(2);
    if (k.ndim() != 2 || v.ndim() != 2 || k.shape(1) != (int64_t)n_head_kv * head_dim || v.shape(1) != k.shape(1) ||
        v.shape(0) != k.shape(0))
        throw InvalidArgument("attention: k and v must be (n_cells, n_head_kv * head_dim)");
    for (const auto& cells : visible)
        for (int32_t c : cells)
            if (c < 0 || c >= k.shape(0)) throw InvalidArgument("attention: visible cell outside the cache");
    py::array_t<float> out({q.shape(0), q.shape(1), q.shape(2)});
    ops::AttentionArgs a;
    a.q = q.data();
    a.k_cache = k.data();
    a.v_cache = v.data();
    a.kv_f32 = f32;
    a.visible = visible.data();
    a.n_tokens = q.shape(0);
    a.n_head = n_head;
    a.n_head_kv = n_head_kv;
    a.head_dim_k = a.head_dim_v = head_dim;
    a.scale = scale;
    a.softcap = softcap;
    a.out = out.mutable_data();
    py::gil_scoped_release release;
    ThreadPool pool(n_threads);
    ops::attention(pool, a);
    return out;
}

}  // namespace

void bind_cpu_ops(py::module_& m) {
    m.def("rms_norm", &rms_norm, py::arg("x"), py::arg("w"), py::arg("eps"), "ops::rms_norm on (n_rows, n); returns a new array.");
    m.def("rope", &rope, py::arg("x"), py::arg("positions"), py::arg("n_rot"), py::arg("freq_base") = 10000.0f,
          py::arg("freq_scale") = 1.0f, py::arg("mode") = 0, py::arg("freq_factors") = py::none(),
          "ops::rope on (n_tokens, n_heads, head_dim); mode 0 normal, 2 neox; returns a new array.");
    m.def("softcap", &softcap, py::arg("x"), py::arg("cap"));
    m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("visible"), py::arg("n_head_kv"),
          py::arg("scale"), py::arg("softcap") = 0.0f, py::arg("n_threads") = 1,
          "ops::attention: q (n_tokens, n_head, head_dim), k/v caches (n_cells, n_head_kv * head_dim) float32 or "
          "float16, visible[t] = the cells token t attends to.");
}

}  // namespace llmrt::bindings
