// _core.Model and _core.Context: NumPy views, GIL release.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>

#include "bindings/bindings.h"
#include "context.h"
#include "kv_rows.h"
#include "models/model.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::bindings {
namespace {

using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;


py::array_t<float> decode(Context& ctx, I32 tokens, I32 positions, I32 seq_ids, I32 cells, U8 want) {
    const int64_t n = tokens.size();
    if (positions.size() != n || seq_ids.size() != n || cells.size() != n || want.size() != n)
        throw ContextError("decode: tokens, positions, seq_ids, cells and want_logits must have the same length");
    Batch b{tokens.data(), positions.data(), seq_ids.data(), cells.data(), want.data(), n};
    const int64_t n_vocab = ctx.model().hparams().n_vocab;
    // The output array is allocated here and filled in place by the forward pass: no copy.
    py::array_t<float> logits({b.count_wanted(), n_vocab});
    float* out = logits.mutable_data();
    {
        py::gil_scoped_release release;
        ctx.decode(b, out);
    }
    return logits;
}

}  // namespace

void bind_model(py::module_& m) {
    py::class_<Model, std::shared_ptr<Model>>(m, "Model")
        .def(py::init([](std::shared_ptr<gguf::File> file, const HParams& hp, const TensorNames& names, bool repack) {
                 py::gil_scoped_release release;
                 return std::make_shared<Model>(std::move(file), hp, names, repack);
             }),
             py::arg("file"), py::arg("hparams"), py::arg("tensor_names"), py::arg("repack") = true,
             "Bind the weights of an open GGUFFile: hparams (HParams) and tensor_names (TensorNames) "
             "come from the architecture's ArchSpec.")
        .def_property_readonly("packed_bytes", &Model::packed_bytes,
                               "Bytes of packed weight copies made at load (quant/packed.h).")
        .def_property_readonly("n_vocab", [](const Model& m) { return m.hparams().n_vocab; })
        .def_property_readonly("n_layer", [](const Model& m) { return m.hparams().n_layer; })
        .def_property_readonly("n_embd", [](const Model& m) { return m.hparams().n_embd; });

    py::class_<Context>(m, "Context")
        .def(py::init([](std::shared_ptr<Model> model, int64_t n_cells, int n_seq_max, int n_threads,
                         const std::string& type_k, std::optional<std::string> type_v, const std::string& backend) {
                 const GGMLType k = kv_type_from_name(type_k), v = kv_type_from_name(type_v.value_or(type_k));
                 return new Context(std::move(model), n_cells, n_seq_max, n_threads, k, v, backend);
             }),
             py::arg("model"), py::arg("n_cells"), py::arg("n_seq_max") = 1, py::arg("n_threads") = 1,
             py::arg("type_k") = "f16", py::arg("type_v") = py::none(), py::arg("backend") = "cpu",
             "type_k / type_v: KV cache element types f32, f16, q8_0 or q4_0 (type_v defaults to type_k); "
             "backend: 'cpu' ('cuda' raises DeviceError: no GPU forward pass).")
        .def_property_readonly("backend", [](const Context& c) { return c.backend().name(); })
        .def_property_readonly("type_k", [](const Context& c) { return kv_type_name(c.type_k()); })
        .def_property_readonly("type_v", [](const Context& c) { return kv_type_name(c.type_v()); })
        .def_property("deterministic", &Context::deterministic, &Context::set_deterministic)
        .def_property_readonly("n_cells", &Context::n_cells)
        .def_property_readonly("n_seq_max", &Context::n_seq_max)
        .def_property_readonly("n_threads", &Context::n_threads)
        // Views onto the native arrays (base = the context, which they keep alive).
        .def_property_readonly("cell_pos", [](py::object self) {
            Context& c = self.cast<Context&>();
            return py::array_t<int32_t>({c.n_cells()}, {sizeof(int32_t)}, c.cell_pos(), self);
        })
        .def_property_readonly("cell_seqs", [](py::object self) {
            Context& c = self.cast<Context&>();
            return py::array_t<uint64_t>({c.n_cells()}, {sizeof(uint64_t)}, c.cell_seqs(), self);
        })
        .def("decode", &decode, py::arg("tokens"), py::arg("positions"), py::arg("seq_ids"), py::arg("cells"),
             py::arg("want_logits"),
             "Run one batch; returns float32 logits (n_wanted, n_vocab) for the flagged tokens.")
        .def("kv_shift", [](Context& c, I32 cells, int32_t delta) {
            py::gil_scoped_release release;
            c.kv_shift(cells.data(), cells.size(), delta);
        }, py::arg("cells"), py::arg("delta"))
        .def("kv_copy", [](Context& c, I32 src, I32 dst) {
            if (src.size() != dst.size()) throw ContextError("kv_copy: src and dst differ in length");
            py::gil_scoped_release release;
            c.kv_copy(src.data(), dst.data(), src.size());
        }, py::arg("src_cells"), py::arg("dst_cells"))
        .def("kv_rows", [](const Context& c, int layer, I32 cells) {
            if (layer < 0 || layer >= c.model().hparams().n_layer) throw ContextError("kv_rows: layer outside the model");
            const KVStore& kv = c.kv_store();
            const py::ssize_t n = cells.size(), kb = (py::ssize_t)kv.k_row_bytes(), vb = (py::ssize_t)kv.v_row_bytes();
            py::array_t<uint8_t> k({n, kb}), v({n, vb});
            for (py::ssize_t i = 0; i < n; ++i) {
                const int32_t cell = cells.data()[i];
                if (cell < 0 || cell >= c.n_cells()) throw ContextError("kv_rows: cell outside the cache");
                kv.read_cell(layer, cell, k.mutable_data(i, 0), v.mutable_data(i, 0));
            }
            return py::make_tuple(k, v);
        }, py::arg("layer"), py::arg("cells"),
             "Copies of the stored K and V rows of `cells` in one layer, as bytes (kv_load reads them back).")
        .def("clear", &Context::clear);
}

}  // namespace llmrt::bindings
