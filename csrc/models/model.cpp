#include "models/model.h"

#include <algorithm>

#include "quant/types.h"
#include "runtime/errors.h"

namespace llmrt {
namespace {

std::string layer_name(const std::string& tmpl, int layer) {
    std::string out = tmpl;
    const auto p = out.find("{}");
    if (p != std::string::npos) out.replace(p, 2, std::to_string(layer));
    return out;
}

class Binder {
public:
    Binder(const gguf::File& f, const TensorNames& n) : file_(f), names_(n) {}

    const gguf::TensorInfo* find(const std::string& role, const std::map<std::string, std::string>& table,
                                 int layer) const {
        auto it = table.find(role);
        const bool optional = std::find(names_.optional.begin(), names_.optional.end(), role) != names_.optional.end();
        if (it == table.end()) {
            if (optional) return nullptr;
            throw ModelError("architecture spec gives no tensor name for role '" + role + "'");
        }
        const std::string name = layer >= 0 ? layer_name(it->second, layer) : it->second;
        const gguf::TensorInfo* t = file_.find_tensor(name);
        if (!t && !optional) throw ModelError(file_.path() + ": required tensor '" + name + "' is missing");
        return t;
    }

    ops::WeightView matrix(const std::string& role, const std::map<std::string, std::string>& table, int layer) const {
        const gguf::TensorInfo* t = find(role, table, layer);
        ops::WeightView w;
        if (!t) return w;
        if (t->shape.size() > 2 && !(t->shape.size() == 3 && t->shape[2] == 1))
            throw ModelError("tensor '" + t->name + "' is not a matrix");
        if (!type_is_computable(t->type)) {
            const TypeTraits& tr = type_traits(t->type);
            throw ModelError("tensor '" + t->name + "' has type " + (tr.name ? tr.name : "?") +
                             ", which this build cannot compute with");
        }
        w.data = t->data;
        w.type = t->type;
        w.n_in = t->shape[0];
        w.n_out = t->shape.size() > 1 ? t->shape[1] : 1;
        w.row_bytes = row_size((GGMLType)t->type, w.n_in);
        return w;
    }

    Vector vector(const std::string& role, const std::map<std::string, std::string>& table, int layer) const {
        const gguf::TensorInfo* t = find(role, table, layer);
        if (!t) return {};
        const TypeTraits& tr = type_traits(t->type);
        if (!tr.dequantize) throw ModelError("tensor '" + t->name + "' has an unsupported type");
        Vector v((size_t)t->n_elements());
        tr.dequantize(t->data, v.data(), (int64_t)v.size());
        return v;
    }

private:
    const gguf::File& file_;
    const TensorNames& names_;
};

void expect(bool ok, const std::string& what) {
    if (!ok) throw ModelError("tensor shape mismatch: " + what);
}

}  // namespace

Model::Model(const std::string& path, const HParams& hp, const TensorNames& names)
    : file_(gguf::File::open(path)), hp_(hp) {
    if (hp_.n_layer <= 0 || hp_.n_embd <= 0 || hp_.n_head <= 0 || hp_.n_head_kv <= 0 ||
        hp_.n_head % hp_.n_head_kv != 0 || hp_.head_dim_k <= 0 || hp_.head_dim_v <= 0)
        throw ModelError(path + ": inconsistent hyperparameters");
    if (hp_.n_rot <= 0 || hp_.n_rot > hp_.head_dim_k || hp_.n_rot % 2 != 0)
        throw ModelError(path + ": invalid RoPE dimension count " + std::to_string(hp_.n_rot));
    if (!hp_.layer_is_swa.empty() && (int)hp_.layer_is_swa.size() != hp_.n_layer)
        throw ModelError("sliding-window layer pattern has the wrong length");
    const Binder bind(*file_, names);
    token_embd_ = bind.matrix("token_embd", names.global, -1);
    output_norm_ = bind.vector("output_norm", names.global, -1);
    output_ = bind.matrix("output", names.global, -1);
    if (!output_.data) output_ = token_embd_;  // tied embeddings
    if (hp_.n_vocab <= 0) hp_.n_vocab = (int)output_.n_out;
    layers_.resize(hp_.n_layer);
    for (int i = 0; i < hp_.n_layer; ++i) {
        LayerWeights& L = layers_[i];
        const auto& T = names.layer;
        L.attn_norm = bind.vector("attn_norm", T, i);
        L.wq = bind.matrix("attn_q", T, i);
        L.wk = bind.matrix("attn_k", T, i);
        L.wv = bind.matrix("attn_v", T, i);
        L.wo = bind.matrix("attn_output", T, i);
        L.bq = bind.vector("attn_q_bias", T, i);
        L.bk = bind.vector("attn_k_bias", T, i);
        L.bv = bind.vector("attn_v_bias", T, i);
        L.bo = bind.vector("attn_output_bias", T, i);
        L.q_norm = bind.vector("attn_q_norm", T, i);
        L.k_norm = bind.vector("attn_k_norm", T, i);
        L.post_attn_norm = bind.vector("post_attention_norm", T, i);
        L.ffn_norm = bind.vector("ffn_norm", T, i);
        L.ffn_gate = bind.matrix("ffn_gate", T, i);
        L.ffn_up = bind.matrix("ffn_up", T, i);
        L.ffn_down = bind.matrix("ffn_down", T, i);
        L.post_ffn_norm = bind.vector("post_ffw_norm", T, i);
    }
    validate_shapes();
}

void Model::validate_shapes() const {
    const HParams& h = hp_;
    const int64_t q_dim = (int64_t)h.n_head * h.head_dim_k, k_dim = (int64_t)h.n_head_kv * h.head_dim_k;
    const int64_t v_dim = (int64_t)h.n_head_kv * h.head_dim_v, o_dim = (int64_t)h.n_head * h.head_dim_v;
    expect(token_embd_.n_in == h.n_embd, "token_embd width != n_embd");
    expect(output_.n_in == h.n_embd && output_.n_out == h.n_vocab, "output head is not (n_embd, n_vocab)");
    expect((int64_t)output_norm_.size() == h.n_embd, "output_norm");
    for (int i = 0; i < h.n_layer; ++i) {
        const LayerWeights& L = layers_[i];
        const std::string at = " in layer " + std::to_string(i);
        expect((int64_t)L.attn_norm.size() == h.n_embd && (int64_t)L.ffn_norm.size() == h.n_embd, "norms" + at);
        expect(L.wq.n_in == h.n_embd && L.wq.n_out == q_dim, "attn_q" + at);
        expect(L.wk.n_in == h.n_embd && L.wk.n_out == k_dim, "attn_k" + at);
        expect(L.wv.n_in == h.n_embd && L.wv.n_out == v_dim, "attn_v" + at);
        expect(L.wo.n_in == o_dim && L.wo.n_out == h.n_embd, "attn_output" + at);
        expect(L.ffn_gate.n_in == h.n_embd && L.ffn_up.n_in == h.n_embd && L.ffn_gate.n_out == L.ffn_up.n_out,
               "ffn_gate/ffn_up" + at);
        expect(L.ffn_down.n_in == L.ffn_up.n_out && L.ffn_down.n_out == h.n_embd, "ffn_down" + at);
        expect(L.bq.empty() || (int64_t)L.bq.size() == q_dim, "attn_q bias" + at);
        expect(L.bk.empty() || (int64_t)L.bk.size() == k_dim, "attn_k bias" + at);
        expect(L.bv.empty() || (int64_t)L.bv.size() == v_dim, "attn_v bias" + at);
        expect(L.bo.empty() || (int64_t)L.bo.size() == h.n_embd, "attn_output bias" + at);
        expect(L.q_norm.empty() || (int64_t)L.q_norm.size() == h.head_dim_k, "attn_q_norm" + at);
        expect(L.k_norm.empty() || (int64_t)L.k_norm.size() == h.head_dim_k, "attn_k_norm" + at);
    }
}

}  // namespace llmrt
