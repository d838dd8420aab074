// _core.HParams, _core.TensorNames and the enums they use, bound field by field: Python sets
// attributes of the native struct, so a misspelt field is an AttributeError rather than a
// silently kept default, and each enum's numbers exist only in its C++ header.
#include <pybind11/stl.h>

#include "bindings/bindings.h"
#include "models/hparams.h"
#include "models/model.h"

namespace py = pybind11;

namespace llmrt::bindings {

void bind_hparams(py::module_& m) {
    py::enum_<ops::RopeMode>(m, "RopeMode", py::arithmetic(), "Which element pairs RoPE rotates (ops/rope.h).")
        .value("normal", ops::RopeMode::Normal, "(x[2i], x[2i+1])")
        .value("neox", ops::RopeMode::Neox, "(x[i], x[i + n_rot/2])");
    py::enum_<ops::Activation>(m, "Activation", py::arithmetic(), "The gated FFN's activation (ops/activations.h).")
        .value("silu", ops::Activation::SiLU)
        .value("gelu_tanh", ops::Activation::GeLUTanh);
    py::enum_<ops::GatingFunc>(m, "GatingFunc", py::arithmetic(), "Expert routing scores (ops/moe_gating.h).")
        .value("softmax", ops::GatingFunc::Softmax)
        .value("sigmoid", ops::GatingFunc::Sigmoid);

    py::class_<HParams>(m, "HParams", "The switches of the generic decoder block (models/hparams.h).")
        .def(py::init<>())
        .def_readwrite("n_vocab", &HParams::n_vocab)
        .def_readwrite("n_embd", &HParams::n_embd)
        .def_readwrite("n_layer", &HParams::n_layer)
        .def_readwrite("n_head", &HParams::n_head)
        .def_readwrite("n_head_kv", &HParams::n_head_kv)
        .def_readwrite("head_dim_k", &HParams::head_dim_k)
        .def_readwrite("head_dim_v", &HParams::head_dim_v)
        .def_readwrite("n_ff", &HParams::n_ff)
        .def_readwrite("rms_eps", &HParams::rms_eps)
        .def_readwrite("n_rot", &HParams::n_rot)
        .def_readwrite("rope_mode", &HParams::rope_mode)
        .def_readwrite("rope_base", &HParams::rope_base)
        .def_readwrite("rope_scale", &HParams::rope_scale)
        .def_readwrite("rope_base_swa", &HParams::rope_base_swa)
        .def_readwrite("rope_scale_swa", &HParams::rope_scale_swa)
        .def_readwrite("rope_ext_factor", &HParams::rope_ext_factor)
        .def_readwrite("rope_corr_low", &HParams::rope_corr_low)
        .def_readwrite("rope_corr_high", &HParams::rope_corr_high)
        .def_readwrite("rope_mscale", &HParams::rope_mscale)
        .def_readwrite("sliding_window", &HParams::sliding_window)
        .def_readwrite("layer_is_swa", &HParams::layer_is_swa)
        .def_readwrite("activation", &HParams::activation)
        .def_readwrite("embd_scale", &HParams::embd_scale)
        .def_readwrite("attn_scale", &HParams::attn_scale)
        .def_readwrite("attn_softcap", &HParams::attn_softcap)
        .def_readwrite("final_softcap", &HParams::final_softcap)
        .def_readwrite("n_expert", &HParams::n_expert)
        .def_readwrite("n_expert_used", &HParams::n_expert_used)
        .def_readwrite("expert_gating", &HParams::expert_gating)
        .def_readwrite("expert_weights_norm", &HParams::expert_weights_norm)
        .def_readwrite("expert_weights_scale", &HParams::expert_weights_scale)
        .def_readwrite("expert_group_count", &HParams::expert_group_count)
        .def_readwrite("expert_group_used_count", &HParams::expert_group_used_count);

    py::class_<TensorNames>(m, "TensorNames", "Role -> GGUF tensor name tables (models/model.h).")
        .def(py::init<>())
        .def_readwrite("global_", &TensorNames::global)
        .def_readwrite("layer", &TensorNames::layer)
        .def_readwrite("optional", &TensorNames::optional);
}

}  // namespace llmrt::bindings
