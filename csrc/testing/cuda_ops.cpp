// The cuda_* op functions of the test module: each runs one kernel on NumPy inputs (upload,
// launch, download) so tests can compare it with its CPU op. They raise llmrt.DeviceError when
// llmrt was built without CUDA or no device is present.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "testing/testing.h"
#include "runtime/errors.h"

#if LLMRT_HAVE_CUDA
#include "cuda/activations.cuh"
#include "cuda/attention.cuh"
#include "cuda/device.cuh"
#include "cuda/matmul.cuh"
#include "cuda/mmvq.cuh"
#include "cuda/moe_gating.cuh"
#include "cuda/quantize_act.cuh"
#include "cuda/rmsnorm.cuh"
#include "cuda/rope.cuh"
#include "quant/types.h"
#endif

namespace py = pybind11;

namespace llmrt::testing {
namespace {

const char* const kOpNames[] = {"cuda_quantize_act", "cuda_matmul", "cuda_mmvq_host", "cuda_rms_norm", "cuda_rope",
                                "cuda_gated_activation", "cuda_softcap", "cuda_attention", "cuda_moe_gating"};

#if LLMRT_HAVE_CUDA

using cuda::DeviceBuffer;
using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;
using U64 = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;

DeviceBuffer upload(const py::array& a) {
    DeviceBuffer b((size_t)a.nbytes());
    b.upload(a.data(), (size_t)a.nbytes());
    return b;
}

std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

template <typename T>
py::array_t<T> download(const DeviceBuffer& b, std::vector<py::ssize_t> shape) {
    py::array_t<T> out(shape);
    b.download(out.mutable_data(), (size_t)out.nbytes());
    return out;
}

py::array_t<uint8_t> quantize_act(F32 x) {
    cuda::require_device();
    if (x.size() % 32) throw InvalidArgument("cuda_quantize_act: length must be a multiple of 32");
    DeviceBuffer dx = upload(x), dq((size_t)(x.size() / 32) * sizeof(block_a8_32));
    {
        py::gil_scoped_release release;
        cuda::quantize_a8_32(dx.as<float>(), dq.as<block_a8_32>(), 1, x.size(), nullptr);
        cuda::synchronize();
    }
    return download<uint8_t>(dq, {(py::ssize_t)dq.bytes()});
}

py::array_t<float> matmul(uint32_t type, U8 w, int64_t n_in, F32 x) {
    cuda::require_device();
    const TypeTraits& t = type_traits(type);
    if (!t.name || !cuda::matmul_supports(type))
        throw DeviceError("cuda_matmul: no CUDA kernel for type " + (t.name ? std::string(t.name) : std::to_string(type)));
    if (n_in <= 0 || n_in % t.block_size) throw QuantError("cuda_matmul: n_in is not a multiple of the block size");
    if (x.ndim() != 2 || x.shape(1) != n_in) throw QuantError("cuda_matmul: x must be (n_tokens, n_in)");
    const size_t row_bytes = row_size((GGMLType)type, n_in);
    if ((size_t)w.size() % row_bytes) throw QuantError("cuda_matmul: weight bytes are not a whole number of rows");
    const int64_t n_out = (int64_t)w.size() / (int64_t)row_bytes, n_tokens = x.shape(0);
    DeviceBuffer dw = upload(w), dx = upload(x), dy((size_t)(n_tokens * n_out) * sizeof(float)), act;
    {
        py::gil_scoped_release release;
        cuda::matmul(type, dw.get(), row_bytes, n_in, n_out, dx.as<float>(), n_tokens, dy.as<float>(), act, nullptr);
        cuda::synchronize();
    }
    return download<float>(dy, {n_tokens, n_out});
}

// The mmvq kernels' block arithmetic on the host, with activations from the CPU's
// prepare_activations (what quantize_a8_32 reproduces on the GPU). Needs no device.
py::array_t<float> mmvq_host(uint32_t type, U8 w, int64_t n_in, F32 x) {
    if (!cuda::mmvq_supports(type)) throw DeviceError("cuda_mmvq_host: no mmvq kernel for type " + std::to_string(type));
    const TypeTraits& t = type_traits(type);
    if (n_in <= 0 || n_in % t.block_size) throw QuantError("cuda_mmvq_host: n_in is not a multiple of the block size");
    if (x.ndim() != 2 || x.shape(1) != n_in) throw QuantError("cuda_mmvq_host: x must be (n_tokens, n_in)");
    const size_t row_bytes = row_size((GGMLType)type, n_in);
    if ((size_t)w.size() % row_bytes) throw QuantError("cuda_mmvq_host: weight bytes are not a whole number of rows");
    const int64_t n_out = (int64_t)w.size() / (int64_t)row_bytes, n_tokens = x.shape(0);
    std::vector<block_a8_32> act((size_t)(n_tokens * (n_in / 32)));
    for (int64_t c = 0; c < n_tokens; ++c)
        prepare_activations(ActFormat::A8_32, x.data() + c * n_in, act.data() + c * (n_in / 32), n_in);
    py::array_t<float> y({n_tokens, n_out});
    cuda::mmvq_host(type, w.data(), row_bytes, n_in, n_out, act.data(), n_tokens, y.mutable_data());
    return y;
}

// Returns (out, x + add) so the fused residual write-back is checked too.
py::tuple rms_norm(F32 x, F32 w, float eps, std::optional<F32> add) {
    cuda::require_device();
    if (x.ndim() != 2 || w.size() != x.shape(1)) throw InvalidArgument("cuda_rms_norm: x must be (n_rows, n), w (n)");
    if (add && add->size() != x.size()) throw InvalidArgument("cuda_rms_norm: add must have x's shape");
    DeviceBuffer dx = upload(x), dw = upload(w), dout((size_t)x.nbytes()), dadd;
    if (add) dadd = upload(*add);
    {
        py::gil_scoped_release release;
        cuda::rms_norm(dx.as<float>(), add ? dadd.as<float>() : nullptr, dw.as<float>(), dout.as<float>(), x.shape(0),
                       x.shape(1), eps, nullptr);
        cuda::synchronize();
    }
    return py::make_tuple(download<float>(dout, shape_of(x)), download<float>(dx, shape_of(x)));
}

py::array_t<float> rope(F32 x, I32 positions, int n_rot, float freq_base, float freq_scale, int mode,
                        std::optional<F32> freq_factors) {
    cuda::require_device();
    if (x.ndim() != 3 || positions.size() != x.shape(0))
        throw InvalidArgument("cuda_rope: x must be (n_tokens, n_heads, head_dim) with one position per token");
    if (mode != 0 && mode != 2) throw InvalidArgument("cuda_rope: mode must be 0 or 2");
    if (freq_factors && freq_factors->size() != n_rot / 2) throw InvalidArgument("cuda_rope: freq_factors must have n_rot/2 values");
    DeviceBuffer dx = upload(x), dpos = upload(positions), dff;
    if (freq_factors) dff = upload(*freq_factors);
    ops::RopeParams p{n_rot, freq_base, freq_scale, freq_factors ? dff.as<float>() : nullptr, (ops::RopeMode)mode};
    {
        py::gil_scoped_release release;
        cuda::rope(dx.as<float>(), dpos.as<int32_t>(), x.shape(0), (int)x.shape(1), (int)x.shape(2), p, nullptr);
        cuda::synchronize();
    }
    return download<float>(dx, shape_of(x));
}

py::array_t<float> gated_activation(int act, F32 gate, F32 up) {
    cuda::require_device();
    if (gate.size() != up.size()) throw InvalidArgument("cuda_gated_activation: gate and up differ in size");
    DeviceBuffer dg = upload(gate), du = upload(up);
    {
        py::gil_scoped_release release;
        cuda::gated_activation((ops::Activation)act, dg.as<float>(), du.as<float>(), gate.size(), nullptr);
        cuda::synchronize();
    }
    return download<float>(dg, shape_of(gate));
}

py::array_t<float> softcap(F32 x, float cap) {
    cuda::require_device();
    DeviceBuffer dx = upload(x);
    {
        py::gil_scoped_release release;
        cuda::softcap(dx.as<float>(), x.size(), cap, nullptr);
        cuda::synchronize();
    }
    return download<float>(dx, shape_of(x));
}

py::array_t<float> attention(F32 q, py::array k, py::array v, I32 cell_pos, U64 cell_seqs, I32 positions, I32 seq_ids,
                             int n_head_kv, float scale, float softcap, int sliding_window) {
    cuda::require_device();
    const bool f32 = k.dtype().is(py::dtype::of<float>());
    if (!(f32 || k.dtype().is(py::dtype("float16"))) || !v.dtype().is(k.dtype()))
        throw InvalidArgument("cuda_attention: k and v must both be float32 or float16");
    k = py::array::ensure(k, py::array::c_style);
    v = py::array::ensure(v, py::array::c_style);
    if (q.ndim() != 3 || k.ndim() != 2 || v.ndim() != 2) throw InvalidArgument("cuda_attention: bad ranks");
    const int64_t n_tokens = q.shape(0), n_cells = k.shape(0);
    const int n_head = (int)q.shape(1), head_dim = (int)q.shape(2);
    if (k.shape(1) != (int64_t)n_head_kv * head_dim || v.shape(0) != n_cells || v.shape(1) != k.shape(1))
        throw InvalidArgument("cuda_attention: k and v must be (n_cells, n_head_kv * head_dim)");
    if (cell_pos.size() != n_cells || cell_seqs.size() != n_cells || positions.size() != n_tokens ||
        seq_ids.size() != n_tokens)
        throw InvalidArgument("cuda_attention: cell_pos/cell_seqs need n_cells entries, positions/seq_ids n_tokens");
    for (int64_t t = 0; t < n_tokens; ++t)
        if (seq_ids.data()[t] < 0 || seq_ids.data()[t] > 63) throw InvalidArgument("cuda_attention: seq id outside 0..63");
    DeviceBuffer dq = upload(q), dk = upload(k), dv = upload(v), dcp = upload(cell_pos), dcs = upload(cell_seqs),
                 dpos = upload(positions), dseq = upload(seq_ids);
    DeviceBuffer dout((size_t)q.nbytes());
    cuda::AttentionArgs a;
    a.q = dq.as<float>();
    a.k_cache = dk.get();
    a.v_cache = dv.get();
    a.kv_f32 = f32;
    a.cell_pos = dcp.as<int32_t>();
    a.cell_seqs = dcs.as<uint64_t>();
    a.positions = dpos.as<int32_t>();
    a.seq_ids = dseq.as<int32_t>();
    a.n_cells = n_cells;
    a.n_tokens = n_tokens;
    a.n_head = n_head;
    a.n_head_kv = n_head_kv;
    a.head_dim = head_dim;
    a.sliding_window = sliding_window;
    a.scale = scale;
    a.softcap = softcap;
    a.out = dout.as<float>();
    DeviceBuffer ws(cuda::attention_workspace_bytes(a));
    {
        py::gil_scoped_release release;
        cuda::attention(a, ws.get(), nullptr);
        cuda::synchronize();
    }
    return download<float>(dout, shape_of(q));
}

py::tuple moe_gating(F32 logits, int n_used, int func, bool norm_weights, std::optional<F32> bias, int n_group,
                     int topk_group, float scale) {
    cuda::require_device();
    if (logits.ndim() != 2) throw InvalidArgument("cuda_moe_gating: logits must be (n_tokens, n_expert)");
    // checked with the host bias; the kernel reads the uploaded copy
    ops::GatingParams p = gating_params("cuda_moe_gating", logits.shape(1), n_used, func, norm_weights,
                                        bias ? bias->data() : nullptr, bias ? bias->size() : 0, n_group,
                                        topk_group, scale);
    p.bias = nullptr;
    const int64_t n = logits.shape(0);
    DeviceBuffer dl = upload(logits), db, dids((size_t)(n * n_used) * sizeof(int32_t)), dw((size_t)(n * n_used) * sizeof(float));
    if (bias) {
        db = upload(*bias);
        p.bias = db.as<float>();
    }
    {
        py::gil_scoped_release release;
        cuda::moe_gating(dl.as<float>(), n, p, dids.as<int32_t>(), dw.as<float>(), nullptr);
        cuda::synchronize();
    }
    return py::make_tuple(download<int32_t>(dids, {n, n_used}), download<float>(dw, {n, n_used}));
}

void bind_cuda_ops_impl(py::module_& m) {
    m.def("cuda_quantize_act", &quantize_act, py::arg("x"),
          "Activations -> block_a8_32 bytes on the GPU (compare _core.prepare_activations(1, x)).");
    m.def("cuda_matmul", &matmul, py::arg("type"), py::arg("w"), py::arg("n_in"), py::arg("x"),
          "y (n_tokens, n_out) = x . W^T on the GPU (compare _core.matmul).");
    m.def("cuda_mmvq_host", &mmvq_host, py::arg("type"), py::arg("w"), py::arg("n_in"), py::arg("x"),
          "The mmvq kernels' per-block arithmetic run on the CPU (no GPU needed; CUDA builds only).");
    m.def("cuda_rms_norm", &rms_norm, py::arg("x"), py::arg("w"), py::arg("eps"), py::arg("add") = py::none(),
          "(rms_norm(x [+ add]) * w, x [+ add]) on the GPU.");
    m.def("cuda_rope", &rope, py::arg("x"), py::arg("positions"), py::arg("n_rot"), py::arg("freq_base") = 10000.0f,
          py::arg("freq_scale") = 1.0f, py::arg("mode") = 0, py::arg("freq_factors") = py::none());
    m.def("cuda_gated_activation", &gated_activation, py::arg("act"), py::arg("gate"), py::arg("up"));
    m.def("cuda_softcap", &softcap, py::arg("x"), py::arg("cap"));
    m.def("cuda_attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("cell_pos"),
          py::arg("cell_seqs"), py::arg("positions"), py::arg("seq_ids"), py::arg("n_head_kv"), py::arg("scale"),
          py::arg("softcap") = 0.0f, py::arg("sliding_window") = 0,
          "Decode attention on the GPU with the visibility rules of the native context.");
    m.def("cuda_moe_gating", &moe_gating, py::arg("logits"), py::arg("n_used"), py::arg("func") = 1,
          py::arg("norm_weights") = false, py::arg("bias") = py::none(), py::arg("n_group") = 0,
          py::arg("topk_group") = 0, py::arg("scale") = 1.0f);
    (void)kOpNames;
}

#else

void bind_cuda_ops_impl(py::module_& m) {
    for (const char* name : kOpNames)
        m.def(name, [](py::args, py::kwargs) -> py::object {
            throw DeviceError("llmrt was built without CUDA (rebuild with nvcc available, -DLLMRT_CUDA=ON)");
        });
}

#endif

}  // namespace

void bind_cuda_ops(py::module_& m) { bind_cuda_ops_impl(m); }

}  // namespace llmrt::testing
