// KV cache element types for tests: the row writer and reader the context
// uses (kv_rows.h), and the quantized attention kernels (ops/kv_quant.h) one tile at a time, the
// fast path or the scalar reference. Type conversion and GIL release only.
#include <pybind11/numpy.h>

#include <string>
#include <vector>

#include "testing/testing.h"
#include "kv_rows.h"
#include "ops/hadamard.h"
#include "ops/kv_quant.h"
#include "runtime/errors.h"

namespace py = pybind11;

namespace llmrt::testing {
namespace {

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Bytes = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

GGMLType quantized(const std::string& name, int64_t n) {
    const GGMLType t = kv_type_from_name(name);
    if (!kv_type_is_quantized(t)) throw InvalidArgument("expected a quantized KV type (q8_0 or q4_0), not " + name);
    if (n % 32 != 0) throw InvalidArgument("row length must be a multiple of 32");
    return t;
}

// Rows of (rows, n) floats -> (rows, row bytes) of `name`; q8_0 / q4_0 as the cache stores them.
py::array_t<uint8_t> kv_store(const std::string& name, F32 x) {
    const GGMLType t = kv_type_from_name(name);
    if (x.ndim() != 2) throw InvalidArgument("kv_store: x must be (rows, n)");
    const int64_t n = x.shape(1);
    if (kv_type_is_quantized(t) && n % 32 != 0) throw InvalidArgument("kv_store: n must be a multiple of 32");
    const size_t bytes = kv_row_bytes(t, n);
    py::array_t<uint8_t> out({(py::ssize_t)x.shape(0), (py::ssize_t)bytes});
    for (py::ssize_t r = 0; r < x.shape(0); ++r) kv_store_row(t, x.data(r, 0), out.mutable_data(r, 0), n);
    return out;
}

py::array_t<float> kv_load(const std::string& name, Bytes data, int64_t n) {
    const GGMLType t = kv_type_from_name(name);
    if (data.ndim() != 2 || (kv_type_is_quantized(t) && n % 32 != 0) || (size_t)data.shape(1) != kv_row_bytes(t, n))
        throw InvalidArgument("kv_load: data must be (rows, kv_row_bytes(type, n))");
    py::array_t<float> out({(py::ssize_t)data.shape(0), (py::ssize_t)n});
    for (py::ssize_t r = 0; r < data.shape(0); ++r) kv_load_row(t, data.data(r, 0), out.mutable_data(r, 0), n);
    return out;
}

const ops::KvQuantKernels& pick(bool reference) {
    return reference ? ops::kv_quant_kernels_reference() : ops::kv_quant_kernels();
}

template <typename Block>
std::vector<const Block*> rows_of(const Bytes& x) {
    std::vector<const Block*> rows((size_t)x.shape(0));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = reinterpret_cast<const Block*>(x.data(i, 0));
    return rows;
}

py::array_t<float> kv_dot_tile(const std::string& name, F32 q, Bytes k, bool reference) {
    if (q.ndim() != 2 || k.ndim() != 2 || q.shape(0) < 1 || k.shape(0) < 1)
        throw InvalidArgument("kv_dot_tile: q (group, n) and k (rows, row bytes) expected");
    const int64_t n = q.shape(1);
    const GGMLType t = quantized(name, n);
    if ((size_t)k.shape(1) != kv_row_bytes(t, n)) throw InvalidArgument("kv_dot_tile: k rows must hold n elements");
    py::array_t<float> out({q.shape(0), k.shape(0)});
    const int group = (int)q.shape(0), n_rows = (int)k.shape(0);
    std::vector<int16_t> qi((size_t)(group * n));
    std::vector<float> scale((size_t)group);
    ops::prepare_query_i16(q.data(), n, group, n, qi.data(), scale.data());
    const ops::QueryI16 qv{qi.data(), scale.data()};
    if (t == GGMLType::Q8_0)
        pick(reference).q8_0.dot_tile(qv, group, rows_of<block_q8_0>(k).data(), n_rows, n, out.mutable_data(), n_rows);
    else
        pick(reference).q4_0.dot_tile(qv, group, rows_of<block_q4_0>(k).data(), n_rows, n, out.mutable_data(), n_rows);
    return out;
}

py::array_t<float> kv_axpy_tile(const std::string& name, F32 y, F32 p, Bytes v, bool reference) {
    if (y.ndim() != 2 || p.ndim() != 2 || v.ndim() != 2 || p.shape(0) != y.shape(0) || p.shape(1) != v.shape(0))
        throw InvalidArgument("kv_axpy_tile: y (group, n), p (group, rows) and v (rows, row bytes) expected");
    const int64_t n = y.shape(1);
    const GGMLType t = quantized(name, n);
    if ((size_t)v.shape(1) != kv_row_bytes(t, n)) throw InvalidArgument("kv_axpy_tile: v rows must hold n elements");
    py::array_t<float> out({y.shape(0), y.shape(1)});
    std::copy(y.data(), y.data() + y.size(), out.mutable_data());
    const int group = (int)y.shape(0), n_rows = (int)v.shape(0);
    if (t == GGMLType::Q8_0)
        pick(reference).q8_0.axpy_tile(out.mutable_data(), n, p.data(), p.shape(1), group,
                                       rows_of<block_q8_0>(v).data(), n_rows, n);
    else
        pick(reference).q4_0.axpy_tile(out.mutable_data(), n, p.data(), p.shape(1), group,
                                       rows_of<block_q4_0>(v).data(), n_rows, n);
    return out;
}

}  // namespace

void bind_kv_ops(py::module_& m) {
    m.def("hadamard", [](F32 x, int block) {
        if (x.ndim() != 2 || block < 1 || (block & (block - 1)) || x.shape(1) % block)
            throw InvalidArgument("hadamard: x (rows, n) with n a multiple of block, a power of two");
        py::array_t<float> out({x.shape(0), x.shape(1)});
        std::copy(x.data(), x.data() + x.size(), out.mutable_data());
        ops::hadamard_blocks(out.mutable_data(), x.shape(0), x.shape(1), block);
        return out;
    }, py::arg("x"), py::arg("block"),
          "Each run of `block` elements times the orthonormal Walsh-Hadamard matrix (quantized KV caches' basis).");
    m.def("hadamard_blocks", [](int head_dim) {
        return py::make_tuple(ops::hadamard_block_k(head_dim), ops::hadamard_block_v(head_dim));
    }, py::arg("head_dim"), "(K block, V block) of the Hadamard rotation for heads of head_dim (0: none).");
    m.def("kv_store", &kv_store, py::arg("type"), py::arg("x"),
          "float32 rows (rows, n) -> uint8 (rows, kv_row_bytes(type, n)) as the KV cache stores them.");
    m.def("kv_load", &kv_load, py::arg("type"), py::arg("data"), py::arg("n"),
          "The inverse of kv_store: the stored rows back as float32 (rows, n).");
    m.def("kv_dot_tile", &kv_dot_tile, py::arg("type"), py::arg("q"), py::arg("k"), py::arg("reference") = false,
          "out[j, i] = q[j] . k[i] for q8_0 / q4_0 rows k (the attention score kernel over a tile of cells; "
          "q quantized to int16 per row first).");
    m.def("kv_axpy_tile", &kv_axpy_tile, py::arg("type"), py::arg("y"), py::arg("p"), py::arg("v"),
          py::arg("reference") = false,
          "y[j] + sum_i p[j, i] * v[i] for q8_0 / q4_0 rows v (the attention value kernel over a tile of cells).");
}

}  // namespace llmrt::testing
