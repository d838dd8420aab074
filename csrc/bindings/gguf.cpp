// _core.GGUFFile: type conversion of gguf::File for python/llmrt/gguf_file.py.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <vector>

#include "bindings/bindings.h"
#include "gguf/gguf.h"
#include "quant/types.h"

namespace py = pybind11;

namespace llmrt::bindings {
namespace {

using gguf::File;
using gguf::Value;
using gguf::ValueType;

py::array read_only(py::array a) {
    a.attr("setflags")(py::arg("write") = false);
    return a;
}

const char* numpy_dtype(ValueType t) {
    switch (t) {
        case ValueType::UINT8: return "<u1";
        case ValueType::INT8: return "<i1";
        case ValueType::UINT16: return "<u2";
        case ValueType::INT16: return "<i2";
        case ValueType::UINT32: return "<u4";
        case ValueType::INT32: return "<i4";
        case ValueType::FLOAT32: return "<f4";
        case ValueType::BOOL: return "?";
        case ValueType::UINT64: return "<u8";
        case ValueType::INT64: return "<i8";
        case ValueType::FLOAT64: return "<f8";
        default: return nullptr;
    }
}

// Strings that are not valid UTF-8 keep their bytes as lone surrogates
// (s.encode("utf-8", "surrogateescape") gives them back).
py::str to_str(const std::string& s) {
    PyObject* o = PyUnicode_DecodeUTF8(s.data(), (Py_ssize_t)s.size(), "surrogateescape");
    if (!o) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(o);
}

py::object to_py(const Value& v) {
    switch (v.type) {
        case ValueType::UINT8: case ValueType::UINT16: case ValueType::UINT32:
        case ValueType::UINT64:
            return py::int_(v.u);
        case ValueType::INT8: case ValueType::INT16: case ValueType::INT32: case ValueType::INT64:
            return py::int_(v.i);
        case ValueType::BOOL: return py::bool_(v.u != 0);
        case ValueType::FLOAT32: case ValueType::FLOAT64: return py::float_(v.f);
        case ValueType::STRING: return to_str(v.str);
        case ValueType::ARRAY: break;
    }
    if (const char* dt = numpy_dtype(v.elem_type)) {
        py::array a(py::dtype(dt), std::vector<py::ssize_t>{(py::ssize_t)v.count});
        if (!v.raw.empty()) std::memcpy(a.mutable_data(), v.raw.data(), v.raw.size());
        return read_only(a);
    }
    py::list out(v.items.size());
    for (size_t k = 0; k < v.items.size(); k++) out[k] = to_py(v.items[k]);
    return out;
}

py::dict metadata(const File& f) {
    py::dict d;
    for (const auto& [key, value] : f.metadata()) d[to_str(key)] = to_py(value);
    return d;
}

// (name, type, type_name, shape, offset, nbytes) per tensor, in file order.
py::list tensors(const File& f) {
    py::list out;
    for (const auto& t : f.tensors()) {
        py::tuple shape(t.shape.size());
        for (size_t k = 0; k < t.shape.size(); k++) shape[k] = py::int_(t.shape[k]);
        out.append(py::make_tuple(t.name, t.type, type_traits(t.type).name, shape, t.offset,
                                  t.nbytes));
    }
    return out;
}

// Zero-copy read-only bytes of one tensor; the array keeps the File (and its mapping) alive.
py::array tensor_data(const std::shared_ptr<File>& f, const std::string& name) {
    const gguf::TensorInfo* t = f->find_tensor(name);
    if (!t) throw py::key_error(name);
    auto* keep = new std::shared_ptr<File>(f);
    py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<File>*>(p); });
    py::array a(py::dtype("u1"), std::vector<py::ssize_t>{(py::ssize_t)t->nbytes},
                std::vector<py::ssize_t>{1}, t->data, base);
    return read_only(a);
}

}  // namespace

void bind_gguf(py::module_& m) {
    py::class_<File, std::shared_ptr<File>>(m, "GGUFFile",
                                            "Memory-mapped GGUF file (see llmrt.GGUFFile).")
        .def(py::init([](const std::string& path) {
                 py::gil_scoped_release nogil;
                 return File::open(path);
             }),
             py::arg("path"))
        .def_static(
            "from_bytes",
            [](const py::bytes& data, const std::string& name) {
                std::string copy = data;
                py::gil_scoped_release nogil;
                return File::from_bytes(copy, name);
            },
            py::arg("data"), py::arg("name") = "<bytes>")
        .def_property_readonly("path", &File::path)
        .def_property_readonly("version", &File::version)
        .def_property_readonly("alignment", &File::alignment)
        .def_property_readonly("data_offset", &File::data_offset)
        .def_property_readonly("file_size", &File::file_size)
        .def("metadata", &metadata, "Metadata as a dict in file order (converted on each call).")
        .def("tensors", &tensors)
        .def("tensor_data", &tensor_data, py::arg("name"));
}

}  // namespace llmrt::bindings
