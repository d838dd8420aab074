// The CPU ops the forward pass uses (norm, RoPE, gated activations, soft-capping, attention and
// its grouped-head primitives), one call each, for tests: the CUDA kernels are compared against
// these, these against NumPy, and the SIMD paths against their scalar references. Type
// conversion and GIL release only.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "testing/testing.h"
#include "kv_rows.h"
#include "ops/activations.h"
#include "ops/attention.h"
#include "ops/vec.h"
#include "ops/norm.h"
#include "ops/rope.h"
#include "runtime/errors.h"
#include "runtime/thread_pool.h"

namespace py = pybind11;

namespace llmrt::testing {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

py::array_t<float> copy_of(const F32& x) {
    py::array_t<float> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    std::copy(x.data(), x.data() + x.size(), out.mutable_data());
    return out;
}

py::array_t<float> rms_norm(F32 x, F32 w, float eps, bool reference) {
    if (x.ndim() != 2 || w.ndim() != 1 || w.shape(0) != x.shape(1))
        throw InvalidArgument("rms_norm: x must be (n_rows, n) and w (n)");
    py::array_t<float> out = copy_of(x);
    float* o = out.mutable_data();
    py::gil_scoped_release release;
    (reference ? ops::rms_norm_ref : ops::rms_norm)(x.data(), w.data(), o, x.shape(0), x.shape(1), eps);
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

// A cache argument of attention(): float32 or float16 (n_cells, row_elems), or, with `name`
// one of the KV types, the rows as bytes: uint8 (n_cells, kv_row_bytes(type, row_elems)).
GGMLType cache_type(py::array& x, const std::optional<std::string>& name, int64_t row_elems, int head_dim,
                    const char* which) {
    GGMLType t;
    if (name) t = kv_type_from_name(*name);
    else if (x.dtype().is(py::dtype::of<float>())) t = GGMLType::F32;
    else if (x.dtype().is(py::dtype("float16"))) t = GGMLType::F16;
    else throw InvalidArgument(std::string("attention: ") + which + " must be float32 or float16, or name its type");
    kv_check_head_dim(t, head_dim, which);
    const py::dtype want = t == GGMLType::F32 ? py::dtype::of<float>()
                         : t == GGMLType::F16 ? py::dtype("float16") : py::dtype::of<uint8_t>();
    const int64_t cols = t == GGMLType::F32 || t == GGMLType::F16 ? row_elems : (int64_t)kv_row_bytes(t, row_elems);
    if (!x.dtype().is(want) || x.ndim() != 2 || x.shape(1) != cols)
        throw InvalidArgument(std::string("attention: ") + which + " rows of type " + kv_type_name(t) + " must be (" +
                              "n_cells, " + std::to_string(cols) + ") " + (cols == row_elems ? "floats" : "bytes"));
    x = py::array::ensure(x, py::array::c_style);
    return t;
}

py::array_t<float> attention(F32 q, py::array k, py::array v, const std::vector<std::vector<int32_t>>& visible,
                             int n_head_kv, float scale, float softcap, int n_threads,
                             const std::optional<std::string>& k_type, const std::optional<std::string>& v_type) {
    if (q.ndim() != 3 || (int64_t)visible.size() != q.shape(0))
        throw InvalidArgument("attention: q must be (n_tokens, n_head, head_dim) with one cell list per token");
    const int n_head = (int)q.shape(1), head_dim = (int)q.shape(2);
    const int64_t row = (int64_t)n_head_kv * head_dim;
    const GGMLType tk = cache_type(k, k_type, row, head_dim, "K");
    const GGMLType tv = cache_type(v, v_type, row, head_dim, "V");
    if (v.shape(0) != k.shape(0)) throw InvalidArgument("attention: k and v must have the same number of cells");
    for (const auto& cells : visible)
        for (int32_t c : cells)
            if (c < 0 || c >= k.shape(0)) throw InvalidArgument("attention: visible cell outside the cache");
    py::array_t<float> out({q.shape(0), q.shape(1), q.shape(2)});
    ops::AttentionArgs a;
    a.q = q.data();
    a.k_cache = k.data();
    a.v_cache = v.data();
    a.type_k = tk;
    a.type_v = tv;
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

// ---- SIMD primitives: the scalar reference and the dispatched fast path, side by side ----

using Halves = py::array_t<uint16_t, py::array::c_style | py::array::forcecast>;

const ops::VecKernels& pick(bool reference) { return reference ? ops::vec_kernels_reference() : ops::vec_kernels(); }

py::array_t<float> dot_group_f16(F32 q, Halves k, bool reference) {
    if (q.ndim() != 2 || k.ndim() != 1 || q.shape(1) != k.shape(0) || q.shape(0) < 1)
        throw InvalidArgument("dot_group_f16: q (group, n) and k (n,) expected");
    py::array_t<float> out(q.shape(0));
    pick(reference).dot_group_f16(q.data(), q.shape(1), (int)q.shape(0), k.data(), k.shape(0), out.mutable_data());
    return out;
}

py::array_t<float> dot_tile_f16(F32 q, Halves k, bool reference) {
    if (q.ndim() != 2 || k.ndim() != 2 || q.shape(1) != k.shape(1) || q.shape(0) < 1 || k.shape(0) < 1)
        throw InvalidArgument("dot_tile_f16: q (group, n) and k (rows, n) expected");
    std::vector<const uint16_t*> rows((size_t)k.shape(0));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = k.data() + i * k.shape(1);
    py::array_t<float> out({q.shape(0), k.shape(0)});
    pick(reference).dot_tile_f16(q.data(), q.shape(1), (int)q.shape(0), rows.data(), (int)rows.size(), q.shape(1),
                                 out.mutable_data(), k.shape(0));
    return out;
}

py::tuple exp_sum(F32 x, float shift, bool reference) {
    py::array_t<float> out(x.size());
    std::copy(x.data(), x.data() + x.size(), out.mutable_data());
    const float sum = pick(reference).exp_sum(out.mutable_data(), shift, x.size());
    return py::make_tuple(out, sum);
}

py::array_t<float> axpy_tile_f16(F32 y, F32 p, Halves v, bool reference) {
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

py::array_t<float> gated_activation(int act, F32 gate, F32 up, bool reference) {
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

void bind_cpu_ops(py::module_& m) {
    m.def("rms_norm", &rms_norm, py::arg("x"), py::arg("w"), py::arg("eps"), py::arg("reference") = false,
          "ops::rms_norm on (n_rows, n); returns a new array. reference=True: the scalar reference.");
    m.def("rope", &rope, py::arg("x"), py::arg("positions"), py::arg("n_rot"), py::arg("freq_base") = 10000.0f,
          py::arg("freq_scale") = 1.0f, py::arg("mode") = 0, py::arg("freq_factors") = py::none(),
          "ops::rope on (n_tokens, n_heads, head_dim); mode 0 normal, 2 neox; returns a new array.");
    m.def("softcap", &softcap, py::arg("x"), py::arg("cap"));
    m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("visible"), py::arg("n_head_kv"),
          py::arg("scale"), py::arg("softcap") = 0.0f, py::arg("n_threads") = 1, py::arg("k_type") = py::none(),
          py::arg("v_type") = py::none(),
          "ops::attention: q (n_tokens, n_head, head_dim), k/v caches (n_cells, n_head_kv * head_dim) float32 or "
          "float16, or (with k_type / v_type 'q8_0' / 'q4_0') uint8 rows of blocks as kv_store writes them; "
          "visible[t] = the cells token t attends to.");
    m.def("dot_group_f16", &dot_group_f16, py::arg("q"), py::arg("k"), py::arg("reference") = false,
          "out[j] = q[j] . k for an fp16 row k (the attention score kernel).");
    m.def("dot_tile_f16", &dot_tile_f16, py::arg("q"), py::arg("k"), py::arg("reference") = false,
          "out[j, i] = q[j] . k[i] for fp16 rows k (the attention score kernel over a tile of cells).");
    m.def("exp_sum", &exp_sum, py::arg("x"), py::arg("shift"), py::arg("reference") = false,
          "(exp(x - shift), its sum): the attention's unnormalised probabilities.");
    m.def("axpy_tile_f16", &axpy_tile_f16, py::arg("y"), py::arg("p"), py::arg("v"), py::arg("reference") = false,
          "y[j] + sum_i p[j, i] * v[i] for fp16 rows v (the attention value kernel over a tile of cells).");
    m.def("gated_activation", &gated_activation, py::arg("act"), py::arg("gate"), py::arg("up"),
          py::arg("reference") = false, "act(gate) * up; act 0 = SiLU, 1 = GELU (tanh form).");
}

}  // namespace llmrt::testing
